"""`/settings/nodes`: the user's Proxmox nodes."""

from __future__ import annotations

import reflex as rx

from lxc_manager.pages.components.layout import empty_state, page_shell

ROUTE = "/settings/nodes"
TITLE = "Nodes"


def page() -> rx.Component:
    return page_shell(
        "Proxmox nodes",
        empty_state(
            "server",
            "No nodes configured",
            "A node is a Proxmox VE host reached with an API token. Nodes you add are listed "
            "here with their reachability; the first one becomes your default.",
        ),
    )
