"""The nodes table: one row a node, with its status, SSH keys and actions."""

from __future__ import annotations

import reflex as rx

from lxc_manager.pages.components.controls import row_button, two_lines
from lxc_manager.pages.components.dialogs import delete_button
from lxc_manager.pages.components.layout import muted
from lxc_manager.pages.nodes.rows import NodeRow
from lxc_manager.pages.nodes.state import NodesState

DELETE_TEXT = ("LXC Manager forgets ", " and its token. Its containers keep running on Proxmox.")
DEFAULT_MOVES = " Your oldest other node becomes the default."


def _with_icon(icon: str, color: str, text: str, *rest: rx.Component) -> rx.Component:
    return rx.hstack(
        rx.icon(icon, size=16, color=rx.color(color, 10)),
        rx.text(text, size="2"),
        *rest,
        spacing="1",
        align="center",
    )


def _status(row: NodeRow) -> rx.Component:
    return rx.match(
        row.status,
        (
            "online",
            _with_icon(
                "circle-check",
                "green",
                "online",
                muted(row.latency),
            ),
        ),
        ("offline", rx.tooltip(_with_icon("circle-x", "red", "unreachable"), content=row.error)),
        rx.hstack(
            rx.spinner(size="1"),
            muted("checking", size="2"),
            spacing="1",
            align="center",
        ),
    )


def _ssh_cell(row: NodeRow) -> rx.Component:
    """The SSH status, and the host keys pinned for the cluster's other members."""
    return rx.vstack(
        rx.text(row.ssh, size="2"),
        rx.foreach(
            row.member_keys,
            lambda m: rx.text(
                m.name,
                " ",
                rx.code(m.key, size="1", overflow_wrap="anywhere"),
                size="1",
                color=rx.color("gray", 10),
                title=f"SSH host key of PVE node {m.name} at {m.ip}",
                custom_attrs={"data-testid": "member-key"},
            ),
        ),
        spacing="1",
    )


def _name_cell(row: NodeRow) -> rx.Component:
    return rx.hstack(
        rx.text(row.name, weight="bold"),
        rx.cond(
            row.is_default,
            rx.badge(
                "default",
                color_scheme="indigo",
                variant="solid",
                custom_attrs={"data-testid": "default-badge"},
            ),
        ),
        spacing="2",
        align="center",
    )


def _cluster_cell(row: NodeRow) -> rx.Component:
    return rx.vstack(
        rx.text(row.cluster, size="2"),
        rx.flex(
            rx.foreach(row.pve_nodes, lambda n: rx.badge(n, variant="soft", color_scheme="gray")),
            gap="1",
            wrap="wrap",
        ),
        rx.cond(
            row.same_cluster_as != "",
            muted("same cluster as ", row.same_cluster_as),
        ),
        spacing="1",
    )


def _actions(row: NodeRow) -> rx.Component:
    return rx.hstack(
        rx.cond(
            row.is_default,
            rx.fragment(),
            rx.button(
                "Make default",
                size="1",
                variant="soft",
                on_click=NodesState.make_default(row.id),
            ),
        ),
        row_button("pencil", "Edit", color_scheme="gray", on_click=NodesState.open_edit(row.id)),
        delete_button(
            row.name,
            "node",
            NodesState.delete(row.id),
            DELETE_TEXT,
            rx.cond(row.is_default, DEFAULT_MOVES, ""),
        ),
        spacing="2",
        justify="end",
    )


def _node_row(row: NodeRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(_name_cell(row)),
        rx.table.cell(two_lines(row.address, row.token_id)),
        rx.table.cell(_cluster_cell(row)),
        rx.table.cell(_status(row)),
        rx.table.cell(_ssh_cell(row)),
        rx.table.cell(_actions(row)),
        align="center",
        custom_attrs={"data-node": row.name, "data-node-id": row.id},
    )


def nodes_table() -> rx.Component:
    return rx.table.root(
        rx.table.header(
            rx.table.row(
                *[
                    rx.table.column_header_cell(h)
                    for h in ("Name", "Endpoint", "Cluster", "Status", "SSH", "")
                ]
            )
        ),
        rx.table.body(rx.foreach(NodesState.nodes, _node_row)),
        variant="surface",
        width="100%",
        id="nodes-table",
    )
