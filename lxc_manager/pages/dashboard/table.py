"""The listing as table rows or as cards, with each container's status and actions."""

from __future__ import annotations

import reflex as rx

from lxc_manager import routes
from lxc_manager.pages.components.controls import age_badge, small_icon_button
from lxc_manager.pages.components.dialogs import confirm_button, trash_button
from lxc_manager.pages.components.form import NO_ERRORS, Form, flag
from lxc_manager.pages.components.layout import muted
from lxc_manager.pages.components.listing import data_table
from lxc_manager.pages.dashboard.rows import ACTION_LABELS, Load, Row
from lxc_manager.pages.dashboard.state import DashboardState as S

HEADERS = (
    "",
    "Status",
    "VMID",
    "Name",
    "Node",
    "IP",
    "CPU",
    "Memory",
    "Disk",
    "Uptime",
    "Last backup",
    "",
)
STOP_WARNING = "Stop is immediate, like pulling the plug: unsaved data may be lost."
FORCE_LABEL = "Force a stop if it has not shut down after 60 s"
# The shutdown dialog is open for one row at a time, so its checkbox id is unique.
ACTION_FORM = Form(errors=NO_ERRORS, id_prefix="shutdown-", fields=("force",))


def _busy(row: Row) -> rx.Var[bool]:
    return S.pending.contains(row.key) | row.last_known


def _status_badge(row: Row) -> rx.Component:
    return rx.cond(
        S.pending.contains(row.key),
        rx.badge(rx.spinner(size="1"), S.pending[row.key], color_scheme="amber", variant="soft"),
        rx.match(
            row.status,
            ("running", rx.badge("running", color_scheme="green", variant="soft")),
            ("stopped", rx.badge("stopped", color_scheme="gray", variant="soft")),
            rx.cond(
                row.last_known,
                rx.tooltip(
                    rx.badge("unknown", color_scheme="gray", variant="outline"),
                    content="Last known: its node is unreachable",
                ),
                rx.badge(row.status, color_scheme="orange", variant="soft"),
            ),
        ),
    )


def status_badges(row: Row) -> rx.Component:
    """The status, and "HA" for an HA resource (HA starts and stops it); "HA" goes under
    the status on a narrow table rather than widen it."""
    return rx.flex(
        _status_badge(row),
        rx.cond(
            row.ha,
            rx.tooltip(
                rx.badge("HA", color_scheme="purple", variant="outline", class_name="ct-ha"),
                content="Managed by HA: Proxmox HA starts and stops it",
            ),
        ),
        gap="1",
        align="center",
        wrap="wrap",
    )


def _force_shutdown() -> rx.Component:
    plain = rx.text(FORCE_LABEL, size="2")
    return rx.box(
        flag(ACTION_FORM, "force", plain, S.force_shutdown, S.set_force_shutdown),
        margin_top="0.75rem",
    )


def _confirm_action(row: Row, action: str, color: str) -> rx.Component:
    label = ACTION_LABELS[action]
    warning = [rx.text(STOP_WARNING, color=rx.color("red", 11))] if action == "stop" else []
    return confirm_button(
        rx.button(label, size="1", variant="soft", color_scheme=color, disabled=_busy(row)),
        (f"{label} ", row.name, "?"),
        rx.fragment(
            rx.text("CT ", row.vmid, " on ", row.pve_node, " (", row.node_name, ")."), *warning
        ),
        label,
        S.act(row.key, action),
        color,
        extra=[_force_shutdown()] if action == "shutdown" else [],
    )


def actions(row: Row) -> rx.Component:
    return rx.hstack(
        rx.cond(
            row.status == "running",
            rx.fragment(
                _confirm_action(row, "shutdown", "indigo"),
                _confirm_action(row, "reboot", "indigo"),
                _confirm_action(row, "stop", "red"),
            ),
            _confirm_action(row, "start", "green"),
        ),
        rx.cond(
            row.status == "running",
            rx.link(
                small_icon_button("terminal", "gray", f"Console of {row.vmid}", tab_index=-1),
                href=routes.container_console(row.node_id, row.vmid),
                aria_label=f"Console of {row.vmid}",
                title="Console",
            ),
        ),
        trash_button(row.vmid, on_click=S.ask_delete(row.key), disabled=_busy(row)),
        spacing="1",
        justify="end",
        wrap="wrap",  # on a narrow table the buttons take two lines rather than clip the row
    )


def _ip(row: Row) -> rx.Component:
    return rx.text(
        rx.cond(row.ip != "", row.ip, "—"),
        size="1",
        font_family="monospace",
        custom_attrs={"data-testid": "ct-ip"},
    )


def _select_box(row: Row) -> rx.Component:
    return rx.checkbox(
        checked=S.selected.contains(row.key),
        on_change=S.toggle_selected(row.key),
        aria_label=f"Select {row.vmid}",
        disabled=row.last_known,
    )


def _name_link(row: Row, size: str) -> rx.Component:
    return rx.link(row.name, href=routes.container(row.node_id, row.vmid), weight="bold", size=size)


def _tags(row: Row) -> rx.Component:
    return rx.flex(
        rx.foreach(row.tags, lambda t: rx.badge(t, variant="outline", size="1")),
        gap="1",
        wrap="wrap",
    )


def _memory(load: Load, **bar: str) -> rx.Component:
    return rx.vstack(
        rx.text(load.mem, size="1"),
        rx.progress(value=load.mem_pct, size="1", **bar),
        spacing="1",
        **({} if bar else {"width": "100%"}),
    )


def _greyed(row: Row) -> dict[str, object]:
    """A last-known row is shown greyed; tests find a row by its VMID."""
    return {
        "opacity": rx.cond(row.last_known, "0.55", "1"),
        "custom_attrs": {"data-ct": row.vmid, "data-last-known": row.last_known},
    }


def _last_backup(row: Row) -> rx.Component:
    """The age of the newest backup, coloured past 1 day (amber) and 7 days (red)."""
    return age_badge(S.backups[row.key])


def _row(row: Row) -> rx.Component:
    load = S.loads[row.key]
    return rx.table.row(
        rx.table.cell(_select_box(row)),
        rx.table.cell(status_badges(row)),
        rx.table.cell(rx.text(row.vmid, size="2", weight="medium")),
        rx.table.cell(rx.vstack(_name_link(row, "2"), _tags(row), spacing="1")),
        rx.table.cell(
            rx.flex(  # wraps on a narrow table rather than widen it
                rx.badge(row.node_name, color_scheme="indigo"),
                muted(row.pve_node),
                gap="1",
                align="center",
                wrap="wrap",
            )
        ),
        rx.table.cell(_ip(row)),
        rx.table.cell(rx.text(load.cpu, size="2")),
        rx.table.cell(_memory(load, width="6rem")),
        rx.table.cell(rx.text(load.disk, size="1")),
        rx.table.cell(rx.text(load.uptime, size="2")),
        rx.table.cell(_last_backup(row)),
        rx.table.cell(actions(row)),
        align="center",
        **_greyed(row),
    )


def table() -> rx.Component:
    return data_table(HEADERS, rx.foreach(S.rows, _row), size="1", id="containers-table")


def _fact(label: str) -> rx.Component:
    return muted(label)


def _card(row: Row) -> rx.Component:
    load = S.loads[row.key]
    return rx.card(
        rx.vstack(
            rx.hstack(
                _select_box(row),
                _name_link(row, "3"),
                rx.spacer(),
                status_badges(row),
                width="100%",
                align="center",
            ),
            rx.hstack(
                muted("CT ", row.vmid, shade=11),
                rx.badge(row.node_name, color_scheme="indigo"),
                muted(row.pve_node),
                spacing="2",
                align="center",
            ),
            rx.grid(
                _fact("CPU"),
                rx.text(load.cpu, size="2"),
                _fact("Memory"),
                _memory(load),
                _fact("Disk"),
                rx.text(load.disk, size="1"),
                _fact("IP"),
                _ip(row),
                _fact("Uptime"),
                rx.text(load.uptime, size="2"),
                _fact("Backup"),
                rx.box(_last_backup(row)),
                columns="5rem 1fr",
                gap="1",
                width="100%",
                align_items="center",
            ),
            _tags(row),
            actions(row),
            spacing="2",
            width="100%",
        ),
        **_greyed(row),
    )


def cards() -> rx.Component:
    return rx.grid(
        rx.foreach(S.rows, _card),
        columns=rx.breakpoints(initial="1", sm="2", lg="3", xl="4"),
        gap="3",
        width="100%",
        id="containers-cards",
    )
