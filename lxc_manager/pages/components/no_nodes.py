"""The "no nodes configured" banner: shown wherever container operations need a node."""

from __future__ import annotations

import reflex as rx

from lxc_manager.nodes import service
from lxc_manager.state.session import SessionState, require_session


class NodeSummaryState(SessionState):
    """How many nodes the signed-in user has (pages that need a node load it)."""

    node_count: int = 0
    summary_loaded: bool = False

    @rx.event
    @require_session
    async def load_summary(self) -> None:
        self.node_count = len(await service.list_nodes(self._user_id))
        self.summary_loaded = True

    @rx.var
    def has_nodes(self) -> bool:
        return self.node_count > 0


def no_nodes_banner() -> rx.Component:
    return rx.cond(
        NodeSummaryState.summary_loaded & ~NodeSummaryState.has_nodes,
        rx.callout.root(
            rx.callout.icon(rx.icon("server-off")),
            rx.callout.text(
                "No Proxmox node is configured, so container operations are disabled. ",
                rx.link("Add a node in Settings → Nodes", href="/settings/nodes", weight="bold"),
                ".",
            ),
            color_scheme="amber",
            role="status",
            id="no-nodes-banner",
            width="100%",
        ),
    )
