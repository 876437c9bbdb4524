"""`/`: every container of every node (the listing arrives with the containers feature)."""

from __future__ import annotations

import reflex as rx

from lxc_manager.pages.components.layout import empty_state, page_shell
from lxc_manager.pages.components.no_nodes import NodeSummaryState, no_nodes_banner

ROUTE = "/"
TITLE = "Dashboard"
ON_LOAD = NodeSummaryState.load_summary


def page() -> rx.Component:
    return page_shell(
        "Containers",
        rx.vstack(
            no_nodes_banner(),
            rx.cond(
                NodeSummaryState.summary_loaded,
                rx.cond(
                    NodeSummaryState.has_nodes,
                    empty_state(
                        "boxes",
                        "The container overview is not built yet",
                        "Your nodes are configured; listing their containers with status and live "
                        "metrics is the next feature of LXC Manager.",
                        rx.link(
                            rx.button("Review your nodes", size="2", variant="soft"),
                            href="/settings/nodes",
                        ),
                    ),
                    empty_state(
                        "boxes",
                        "Your containers will appear here",
                        "Every container of every node you add shows up here, with its status and live "
                        "metrics. Start by adding a Proxmox node with an API token.",
                        rx.link(
                            rx.button(rx.icon("plus", size=16), "Add a node", size="2"),
                            href="/settings/nodes",
                        ),
                    ),
                ),
            ),
            spacing="4",
            width="100%",
        ),
    )
