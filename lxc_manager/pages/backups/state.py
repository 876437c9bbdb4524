"""`BackupsState`: the cluster's backup jobs and their coverage of the user's containers.

Read-only: jobs are created and edited in Proxmox. Everything is read live (every cluster
at once, each within its own deadline) on load and on "Refresh", outside `async with
self`, so a slow node never holds the tab's state lock.
"""

from __future__ import annotations

import time

import reflex as rx

from lxc_manager.backups.cluster_backups import read_backups
from lxc_manager.pages.components.no_nodes import NodeSummaryMixin
from lxc_manager.state.assign import assign
from lxc_manager.state.guard import GuardedState, require_session, require_session_on_load

from .rows import ClusterBlock, cluster_block


class BackupsState(GuardedState, NodeSummaryMixin, rx.State):
    clusters: list[ClusterBlock] = []
    loaded: bool = False
    reading: bool = False

    @rx.var
    def uncovered_count(self) -> int:
        return sum(len(c.uncovered) for c in self.clusters)

    async def _read(self) -> None:
        """Read every cluster (outside the lock) and show it."""
        async with self:
            if self.reading:
                return
            self.reading = True
            user_id = self._user_id
        try:
            clusters = await read_backups(user_id, jobs=True)
        finally:
            async with self:
                self.reading = False
        now = time.time()
        async with self:
            assign(
                self,
                clusters=[cluster_block(c, now) for c in clusters],
                node_count=sum(len(c.node_ids) for c in clusters),
                summary_loaded=True,
                loaded=True,
            )

    @rx.event(background=True)
    @require_session_on_load
    async def load(self) -> None:
        await self._read()

    @rx.event(background=True)
    @require_session
    async def refresh(self) -> None:
        await self._read()
