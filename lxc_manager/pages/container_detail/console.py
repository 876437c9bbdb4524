"""The Console tab: a terminal in the container (xterm.js through the app's console
WebSocket), and the container's console recordings with a replay in the same terminal."""

from __future__ import annotations

import reflex as rx

from lxc_manager.pages.components.controls import row_button
from lxc_manager.pages.components.listing import data_table
from lxc_manager.pages.components.terminal import xterm_console
from lxc_manager.pages.container_detail.console_state import SPEEDS, ConsoleState, RecordingRow
from lxc_manager.pages.container_detail.state import ContainerDetailState as S

C = ConsoleState
NOT_RUNNING = "The container is not running: start it to open its console."
HINT = "Copy: Ctrl+Shift+C · Paste: Ctrl+Shift+V · Ctrl+C goes to the shell."
SPEED_LABELS = {"1": "Real speed", "2": "Twice as fast", "8": "8 times as fast", "0": "At once"}


def _terminal() -> rx.Component:
    return rx.cond(
        S.status == "running",
        rx.vstack(
            rx.cond(C.url != "", xterm_console(url=C.url, id="ct-console", height="28rem")),
            rx.text(HINT, size="1", color=rx.color("gray", 10)),
            width="100%",
            spacing="2",
        ),
        rx.callout.root(
            rx.callout.icon(rx.icon("terminal")),
            rx.callout.text(NOT_RUNNING),
            color_scheme="gray",
            id="console-not-running",
            width="100%",
        ),
    )


def _recording_row(row: RecordingRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row.started, size="1")),
        rx.table.cell(row.duration),
        rx.table.cell(row.path),
        rx.table.cell(row.user),
        rx.table.cell(rx.text(row.size, size="1")),
        rx.table.cell(
            row_button(
                "play",
                "Replay",
                on_click=C.replay(row.id),
                aria_label=f"Replay the recording of {row.started}",
            )
        ),
    )


def _replay() -> rx.Component:
    return rx.cond(
        C.replay_url != "",
        rx.vstack(
            rx.hstack(
                rx.heading("Replay", size="3", as_="h3"),
                rx.spacer(),
                rx.select.root(
                    rx.select.trigger(aria_label="Replay speed", id="replay-speed"),
                    rx.select.content(*[rx.select.item(SPEED_LABELS[s], value=s) for s in SPEEDS]),
                    value=C.replay_speed,
                    on_change=C.set_replay_speed,
                ),
                rx.button("Close replay", size="1", variant="soft", on_click=C.stop_replay),
                width="100%",
                align="center",
            ),
            xterm_console(
                replay_url=C.replay_url, replay_speed=C.speed, id="ct-replay", height="20rem"
            ),
            width="100%",
        ),
    )


def _recordings() -> rx.Component:
    return rx.cond(
        C.recording_on | (C.recordings.length() > 0),
        rx.vstack(
            rx.heading("Recordings", size="4", as_="h2"),
            rx.cond(
                C.recordings.length() > 0,
                data_table(
                    ("Started (UTC)", "Length", "Way in", "User", "Output", ""),
                    rx.foreach(C.recordings, _recording_row),
                    id="recordings-table",
                ),
                rx.text("No recordings of this container yet.", size="2"),
            ),
            _replay(),
            width="100%",
            spacing="3",
        ),
    )


def console() -> rx.Component:
    return rx.vstack(_terminal(), _recordings(), width="100%", spacing="5")
