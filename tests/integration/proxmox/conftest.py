"""Fixtures for the Proxmox client's integration tests.

`tls_material` / `recording_server`: real TLS peers on 127.0.0.1 (see pve_tls_peers.py).
The simulator itself comes from the shared `simulator` fixture (tests/integration/conftest.py).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from pve_tls_peers import RecordingServer, TlsMaterial, make_tls_material, start_recording_server


@pytest.fixture(scope="session")
def tls_material(tmp_path_factory: pytest.TempPathFactory) -> TlsMaterial:
    return make_tls_material(tmp_path_factory.mktemp("pve-tls"))


@pytest.fixture
async def recording_server(
    tls_material: TlsMaterial,
) -> AsyncIterator[Callable[..., Awaitable[RecordingServer]]]:
    """Factory: `server = await recording_server(flaky=0)` starts one on 127.0.0.1."""
    servers: list[asyncio.Server] = []
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tls_material.cert_pem, tls_material.key_pem)

    async def start(flaky: int = 0) -> RecordingServer:
        return await start_recording_server(context, servers, flaky)

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()
