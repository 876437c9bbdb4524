"""A TCP pass-through that counts the connections made through it.

Put in front of the simulator's HTTPS port it tells how many times the app really
contacted "Proxmox" (TLS passes through untouched, so the pinned fingerprint is the
simulator's). Runs on the test's own event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field


@dataclass
class CountingProxy:
    target_host: str
    target_port: int
    connections: int = 0
    port: int = 0
    _server: asyncio.Server | None = field(default=None, repr=False)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            upstream_r, upstream_w = await asyncio.open_connection(
                self.target_host, self.target_port
            )
        except OSError:
            client_w.close()
            return
        await asyncio.gather(self._pipe(client_r, upstream_w), self._pipe(upstream_r, client_w))

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)


@contextlib.asynccontextmanager
async def counting_proxy(target_host: str, target_port: int) -> AsyncIterator[CountingProxy]:
    proxy = CountingProxy(target_host, target_port)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()
