"""The Events tab: this container's timeline (the user's audited actions and the jobs
that provisioned it), as merged by the timeline service."""

from __future__ import annotations

import reflex as rx

from lxc_manager.pages.components.layout import muted
from lxc_manager.pages.components.listing import data_table
from lxc_manager.pages.container_detail.rows import EventRow
from lxc_manager.pages.container_detail.state import ContainerDetailState as S

HEADERS = ("When", "Action", "On", "Outcome", "Detail")
NO_EVENTS = "No events recorded for this container yet."


def _event_row(e: EventRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(e.at, size="1")),
        rx.table.cell(rx.code(e.action, size="1")),
        rx.table.cell(e.target),
        rx.table.cell(
            rx.badge(
                e.outcome,
                color_scheme=rx.cond(e.outcome == "ok", "green", "red"),
                variant="soft",
            )
        ),
        rx.table.cell(rx.text(e.detail, size="1")),
    )


def events() -> rx.Component:
    return rx.cond(
        S.events.length() > 0,
        data_table(HEADERS, rx.foreach(S.events, _event_row), id="events-table"),
        muted(NO_EVENTS, size="2", shade=11),
    )
