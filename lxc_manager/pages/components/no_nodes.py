"""The "no nodes configured" banner: shown wherever container operations need a node."""

from __future__ import annotations

import reflex as rx

from lxc_manager import routes


class NodeSummaryMixin(rx.State, mixin=True):
    """How many nodes the signed-in user has (pages that need a node load it)."""

    node_count: int = 0
    summary_loaded: bool = False

    @rx.var
    def has_nodes(self) -> bool:
        return self.node_count > 0


def no_nodes_banner(summary_loaded: rx.Var[bool], has_nodes: rx.Var[bool]) -> rx.Component:
    component: rx.Component = rx.cond(
        summary_loaded & ~has_nodes,
        rx.callout.root(
            rx.callout.icon(rx.icon("server-off")),
            rx.callout.text(
                "No Proxmox node is configured, so container operations are disabled. ",
                rx.link("Add a node in Settings → Nodes", href=routes.NODES, weight="bold"),
                ".",
            ),
            color_scheme="amber",
            role="status",
            id="no-nodes-banner",
            width="100%",
        ),
    )
    return component
