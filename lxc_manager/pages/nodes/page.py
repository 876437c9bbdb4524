"""`/settings/nodes`: the signed-in user's Proxmox nodes, a table and an add/edit dialog."""

from __future__ import annotations

import reflex as rx

from lxc_manager import routes
from lxc_manager.pages.components.controls import error_callout, loading
from lxc_manager.pages.components.layout import empty_state, muted, page_shell
from lxc_manager.pages.nodes.dialog import node_dialog
from lxc_manager.pages.nodes.state import NodesState
from lxc_manager.pages.nodes.table import nodes_table

ROUTE = routes.NODES
TITLE = "Nodes"
ON_LOAD = NodesState.load


def _add_button(label: str, **props: str) -> rx.Component:
    return rx.button(rx.icon("plus", size=16), label, on_click=NodesState.open_add, **props)


def _no_nodes() -> rx.Component:
    return empty_state(
        "server",
        "No nodes configured",
        "Add a Proxmox VE host with an API token (Datacenter → Permissions → API Tokens). "
        "Container operations are enabled once a node is configured.",
        _add_button("Add your first node"),
    )


def page() -> rx.Component:
    return page_shell(
        "Proxmox nodes",
        rx.vstack(
            rx.hstack(
                muted(
                    "Each node is a Proxmox VE endpoint reached with an API token. "
                    "Your first node becomes the default.",
                    size="2",
                    shade=11,
                ),
                rx.spacer(),
                _add_button("Add node", id="add-node"),
                width="100%",
                align="center",
            ),
            error_callout(NodesState.delete_error),
            loading(
                NodesState.loaded,
                rx.cond(NodesState.nodes.length() > 0, nodes_table(), _no_nodes()),
            ),
            node_dialog(),
            spacing="4",
            width="100%",
        ),
    )
