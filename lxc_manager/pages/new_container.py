"""`/containers/new`: the creation wizard (needs a configured node)."""

from __future__ import annotations

import reflex as rx

from lxc_manager.pages.components.layout import empty_state, page_shell
from lxc_manager.pages.components.no_nodes import NodeSummaryState, no_nodes_banner

ROUTE = "/containers/new"
TITLE = "New container"
ON_LOAD = NodeSummaryState.load_summary


def page() -> rx.Component:
    return page_shell(
        "New container",
        rx.vstack(
            no_nodes_banner(),
            rx.cond(
                NodeSummaryState.summary_loaded,
                rx.cond(
                    NodeSummaryState.has_nodes,
                    empty_state(
                        "circle-plus",
                        "The creation wizard is not built yet",
                        "Creating containers from templates, with provisioning progress, is on its way.",
                    ),
                    empty_state(
                        "circle-plus",
                        "Creating containers needs a Proxmox node",
                        "The wizard builds a container from a template on one of your nodes. "
                        "Add a node first; the wizard is enabled as soon as one is configured.",
                        rx.link(
                            rx.button("Go to Settings → Nodes", size="2", variant="soft"),
                            href="/settings/nodes",
                        ),
                    ),
                ),
            ),
            spacing="4",
            width="100%",
        ),
    )
