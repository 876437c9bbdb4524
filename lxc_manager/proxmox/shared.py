"""Shared Proxmox clients: one pooled client per owner (a node) and event loop, reused
across calls so a dashboard refresh does not pay a TCP + TLS handshake per endpoint.

    client = shared_client(("node", 7), key, lambda: ProxmoxClient(...))
    data = await client.get("/cluster/resources", {"type": "vm"})   # never `async with`

Safety is the transport's, as for any client: every *new* connection is checked against
the pinned fingerprint (or the CA bundle) before a request byte is sent; a reused
connection is one that passed that check. The `key` says what the client was built from
(address, TLS policy, token id, a digest of the secret, timeouts): when an owner asks
with a different key (the node was edited: new address, pin or secret), the old client
is dropped at once and closed after a grace period (requests in flight finish), and a new
one is built. `forget(owner)` does the same when a node is edited or deleted. Clients
unused for `IDLE_SECONDS` are closed.

Secrets never enter a key: `credential_digest` is an HMAC under a random per-process key,
useless outside this process. Callers must not close a shared client.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import threading
import time
import weakref
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from .client import ProxmoxClient

__all__ = [
    "GRACE_SECONDS",
    "IDLE_SECONDS",
    "close_all",
    "credential_digest",
    "forget",
    "shared_client",
]

log = logging.getLogger(__name__)

GRACE_SECONDS = 30.0
IDLE_SECONDS = 120.0  # an open dashboard uses its clients every few seconds
SWEEP_SECONDS = 30.0
MAX_CLIENTS = 512

_DIGEST_KEY = secrets.token_bytes(32)
_lock = threading.Lock()  # `forget` may be called from worker threads
_loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Hashable, _Entry]] = (
    weakref.WeakKeyDictionary()
)
_closing: set[asyncio.Task[None]] = set()
_sweeping: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()


@dataclass
class _Entry:
    key: Hashable
    client: ProxmoxClient
    used: float


def credential_digest(*parts: str) -> str:
    """A digest of credentials that is only comparable within this process."""
    return hmac.new(_DIGEST_KEY, "\0".join(parts).encode(), hashlib.sha256).hexdigest()


def shared_client(
    owner: Hashable, key: Hashable, make: Callable[[], ProxmoxClient]
) -> ProxmoxClient:
    """The owner's client for `key` on the running event loop (built by `make` if needed).

    Call it on the loop that uses the client: clients are never shared between loops."""
    loop = asyncio.get_running_loop()
    now = time.monotonic()
    with _lock:
        clients = _loops.get(loop)
        if clients is None:
            clients = _loops[loop] = {}
        entry = clients.get(owner)
        if entry is not None and entry.key == key:
            entry.used = now
            return entry.client
        if entry is not None:
            _close_later(loop, entry.client)
        client = make()
        clients[owner] = _Entry(key, client, now)
        _evict(loop, clients, now)
        if loop not in _sweeping:  # idle clients go even if nothing else happens
            _sweeping.add(loop)
            loop.call_later(SWEEP_SECONDS, _sweep, loop)
    return client


def forget(owner: Hashable) -> None:
    """Drop the owner's clients on every loop and close them after the grace period.
    Thread-safe (node edits run in worker threads)."""
    with _lock:
        for loop, clients in list(_loops.items()):
            entry = clients.pop(owner, None)
            if entry is not None:
                _close_later(loop, entry.client)


async def close_all() -> None:
    """Close every shared client of the running loop now (end of a benchmark or test)."""
    loop = asyncio.get_running_loop()
    with _lock:
        clients = _loops.pop(loop, {})
    for entry in clients.values():
        await entry.client.aclose()


def _sweep(loop: asyncio.AbstractEventLoop) -> None:
    with _lock:
        clients = _loops.get(loop)
        if clients:
            _evict(loop, clients, time.monotonic())
        if not clients:
            _sweeping.discard(loop)
            return
    loop.call_later(SWEEP_SECONDS, _sweep, loop)


def _evict(loop: asyncio.AbstractEventLoop, clients: dict[Hashable, _Entry], now: float) -> None:
    idle = [owner for owner, e in clients.items() if now - e.used > IDLE_SECONDS]
    if len(clients) - len(idle) > MAX_CLIENTS:
        by_age = sorted(clients, key=lambda owner: clients[owner].used)
        idle = by_age[: len(clients) - MAX_CLIENTS]
    for owner in idle:
        _close_later(loop, clients.pop(owner).client, delay=0.0)


def _close_later(
    loop: asyncio.AbstractEventLoop, client: ProxmoxClient, delay: float | None = None
) -> None:
    """Close the client on its loop after `delay` (default: the grace period)."""

    def close() -> None:
        task = loop.create_task(client.aclose())
        _closing.add(task)
        task.add_done_callback(_closing.discard)

    if loop.is_closed():
        return
    try:
        wait = GRACE_SECONDS if delay is None else delay
        loop.call_soon_threadsafe(loop.call_later, wait, close)
    except RuntimeError:  # the loop closed meanwhile: its sockets went with it
        log.debug("loop closed before %r could be closed", client)
