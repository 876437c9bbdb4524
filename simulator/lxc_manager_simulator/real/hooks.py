"""How the simulator's model drives real containers.

The model stays the source of truth for the API: a start task ends, the model says
`running`. The real container follows: every lifecycle change of a real container is
queued on that container's own chain (create → start → stop → destroy, in order), and
anything that acts inside it (`pct exec`, `push`, `pull`) first waits for the chain, so a
command run after a start task sees the container running. A real operation that fails
is logged and kept as the container's `real_error`, which `pct` prints.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from .backend import ContainerError, RealBackend, os_of_template
from .network import SUBNET

log = logging.getLogger(__name__)

STATS_SECONDS = 2.0


class RealHooks:
    """The model's view of the real backend (`Cluster.real`)."""

    def __init__(self, backend: RealBackend) -> None:
        self.backend = backend
        self._chains: dict[int, asyncio.Future[None]] = {}
        self.errors: dict[int, str] = {}
        self._poller: asyncio.Task[None] | None = None
        self._watched: dict[int, Any] = {}

    def eligible(self, ostemplate: str) -> bool:
        return os_of_template(ostemplate) is not None

    # -- called by the model (synchronously, on the event loop) ---------------------------

    def created(self, ct: Any) -> None:
        unprivileged = bool(int(str(ct.config.get("unprivileged", 1))))
        hostname = ct.name
        address = f"{self.backend.network.allocate_address()}/{SUBNET.prefixlen}"
        for net in ct.world.nets[:1]:
            net.ipv4 = address  # what /interfaces and the container's `ip` report
        self._queue(
            ct.vmid,
            lambda: self.backend.cts.create(
                ct.vmid, hostname, unprivileged=unprivileged, address=address
            ),
        )
        self._watched[ct.vmid] = ct

    def started(self, ct: Any) -> None:
        self._queue(ct.vmid, lambda: self.backend.cts.start(ct.vmid))
        self._ensure_poller()

    def stopped(self, ct: Any) -> None:
        # `vzstop` kills the container's processes (pve-container src/PVE/LXC.pm
        # vm_stop: `lxc-stop --kill`); the model has one stop for stop and shutdown alike.
        self._queue(ct.vmid, lambda: self.backend.cts.stop(ct.vmid, force=True))
        ct.real_stats = {}

    def removed(self, ct: Any) -> None:
        self._queue(ct.vmid, lambda: self.backend.cts.destroy(ct.vmid))
        self._watched.pop(ct.vmid, None)

    # -- called by pct ---------------------------------------------------------------------

    async def ready(self, vmid: int) -> str | None:
        """Wait for the container's queued changes; the last failure, if any."""
        chain = self._chains.get(vmid)
        if chain is not None:
            await asyncio.shield(chain)
        return self.errors.get(vmid)

    def pending(self, task_id: str) -> asyncio.Future[None] | None:
        """The unfinished chain of the container a task is about (its id is the VMID)."""
        if not task_id.isdigit():
            return None
        chain = self._chains.get(int(task_id))
        return chain if chain is not None and not chain.done() else None

    def _queue(self, vmid: int, operation: Callable[[], Awaitable[object]]) -> None:
        previous = self._chains.get(vmid)

        async def chained() -> None:
            if previous is not None:
                await previous
            try:
                await operation()
                self.errors.pop(vmid, None)
            except (ContainerError, KeyError, OSError) as exc:
                message = str(exc) if not isinstance(exc, KeyError) else "no such container"
                log.error("real container %s: %s", vmid, message)
                self.errors[vmid] = message

        self._chains[vmid] = asyncio.ensure_future(chained())

    # -- status, memory, uptime from LXC ---------------------------------------------------

    def _ensure_poller(self) -> None:
        if self._poller is None or self._poller.done():
            self._poller = asyncio.ensure_future(self._poll())

    async def _poll(self) -> None:
        while self._watched:
            for vmid, ct in list(self._watched.items()):
                if ct.status != "running" or not self.backend.handles(vmid):
                    continue
                with contextlib.suppress(ContainerError):
                    ct.real_stats = await self.backend.cts.stats(vmid)
            await asyncio.sleep(STATS_SECONDS)

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        for chain in list(self._chains.values()):
            with contextlib.suppress(Exception):
                await chain
        await self.backend.stop()
