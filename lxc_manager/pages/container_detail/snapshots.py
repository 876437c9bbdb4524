"""The Snapshots tab: take one, roll back to one, delete one."""

from __future__ import annotations

import reflex as rx

from lxc_manager.pages.components.dialogs import confirm_button
from lxc_manager.pages.components.form import NO_ERRORS, Form, text_input
from lxc_manager.pages.components.layout import muted
from lxc_manager.pages.components.listing import data_table
from lxc_manager.pages.container_detail.rows import SnapshotRow
from lxc_manager.pages.container_detail.state import ContainerDetailState as S

# Errors in a snapshot's name are reported by toast (the service checks the name).
SNAPSHOT_FORM = Form(errors=NO_ERRORS, id_prefix="snapshot-", fields=("name", "description"))
HEADERS = ("Name", "Description", "Taken", "")
ROLLBACK_TEXT = "The container returns to this snapshot; changes since then are lost."
DELETE_TEXT = "The snapshot is removed for good."


def _confirm(
    s: SnapshotRow, label: str, text: str, event: rx.EventSpec, color: str
) -> rx.Component:
    trigger = rx.button(label, size="1", variant="soft", color_scheme=color, disabled=S.busy != "")
    return confirm_button(trigger, (f"{label} snapshot ", s.name, "?"), text, label, event, color)


def _snapshot_row(s: SnapshotRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(s.name, weight="bold")),
        rx.table.cell(s.description),
        rx.table.cell(s.created),
        rx.table.cell(
            rx.hstack(
                _confirm(s, "Rollback", ROLLBACK_TEXT, S.rollback(s.name), "amber"),
                _confirm(s, "Delete", DELETE_TEXT, S.delete_snapshot(s.name), "red"),
                spacing="2",
                justify="end",
            )
        ),
        custom_attrs={"data-snapshot": s.name},
    )


def _take_snapshot() -> rx.Component:
    return rx.form(
        rx.hstack(
            text_input(
                SNAPSHOT_FORM,
                "name",
                placeholder="Snapshot name, e.g. before_upgrade",
                required=True,
                aria_label="Snapshot name",
                width="16rem",
            ),
            text_input(
                SNAPSHOT_FORM,
                "description",
                placeholder="Description (optional)",
                aria_label="Snapshot description",
                flex="1",
            ),
            rx.button(
                rx.cond(S.busy == "snapshot", rx.spinner(size="2"), rx.icon("camera", size=16)),
                "Take snapshot",
                type="submit",
                disabled=S.busy != "",
            ),
            width="100%",
            spacing="2",
        ),
        on_submit=S.snapshot,
        reset_on_submit=True,
        width="100%",
    )


def snapshots() -> rx.Component:
    return rx.vstack(
        _take_snapshot(),
        rx.cond(
            S.snapshots.length() > 0,
            data_table(HEADERS, rx.foreach(S.snapshots, _snapshot_row), id="snapshots-table"),
            muted("No snapshots yet.", size="2", shade=11),
        ),
        spacing="3",
        width="100%",
    )
