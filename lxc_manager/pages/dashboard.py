"""`/`: every container of every node (the listing arrives with the nodes and containers features)."""

from __future__ import annotations

import reflex as rx

from lxc_manager.pages.components.layout import empty_state, page_shell

ROUTE = "/"
TITLE = "Dashboard"


def page() -> rx.Component:
    return page_shell(
        "Containers",
        empty_state(
            "server-off",
            "No Proxmox node configured",
            "Containers of every node you add show up here, with their status and live metrics. "
            "Start by adding a Proxmox node with an API token.",
            rx.link(
                rx.button(rx.icon("plus", size=16), "Add a node", size="2"), href="/settings/nodes"
            ),
        ),
    )
