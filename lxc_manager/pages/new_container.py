"""`/containers/new`: the creation wizard (needs a configured node)."""

from __future__ import annotations

import reflex as rx

from lxc_manager.pages.components.layout import empty_state, page_shell

ROUTE = "/containers/new"
TITLE = "New container"


def page() -> rx.Component:
    return page_shell(
        "New container",
        empty_state(
            "circle-plus",
            "Creating containers needs a Proxmox node",
            "The wizard builds a container from a template on one of your nodes. "
            "Add a node first; the wizard is enabled as soon as one is reachable.",
            rx.link(
                rx.button("Go to Settings → Nodes", size="2", variant="soft"),
                href="/settings/nodes",
            ),
        ),
    )
