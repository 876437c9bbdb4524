"""The pinned transport over real TLS sockets on 127.0.0.1.

The proof that matters: with a wrong pin, the server completes a TLS handshake and then
receives not one byte, so no request line and no credential ever reach it.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Awaitable, Callable

import pytest
from pve_tls_peers import RecordingServer, TlsMaterial

from lxc_manager.proxmox import (
    CertificateInvalid,
    CertificateMismatch,
    ProxmoxClient,
    TicketAuth,
    Timeouts,
    TlsPolicy,
    TokenAuth,
    Unreachable,
    fetch_fingerprint,
)

SECRET = "7a1e4b9c-2d3f-4a5b-8c6d-9e0f1a2b3c4d"
TOKEN = TokenAuth("root@pam!lxcm", SECRET)
TICKET = TicketAuth("PVE:root@pam:6654A1B2::c2lnbmF0dXJl", "6654A1B2:Y3NyZg")
WRONG_PIN = "00:" * 31 + "00"
FAST = Timeouts(connect=2.0, read=5.0)

StartServer = Callable[..., Awaitable[RecordingServer]]


def pinned(port: int, pin: str, **kwargs: object) -> ProxmoxClient:
    return ProxmoxClient(
        "127.0.0.1",
        port,
        tls=TlsPolicy(fingerprint=pin),
        timeouts=FAST,
        retry_backoff=0.01,
        **kwargs,  # type: ignore[arg-type]
    )


async def test_fetch_fingerprint_reads_the_leaf_and_sends_nothing(
    recording_server: StartServer, tls_material: TlsMaterial
) -> None:
    server = await recording_server()
    assert (
        await fetch_fingerprint("127.0.0.1", server.port, timeout=3.0) == tls_material.fingerprint
    )
    await server.wait_finished(1)
    assert server.handshakes == 1 and server.received == [b""]


async def test_matching_pin_sends_the_request(
    recording_server: StartServer, tls_material: TlsMaterial
) -> None:
    """The control for the mismatch test: the same server does record a request."""
    server = await recording_server()
    async with pinned(server.port, tls_material.fingerprint.lower(), auth=TOKEN) as pve:
        version = await pve.version()
    assert version.version == "8.2.4"
    await server.wait_finished(1)
    assert server.everything.startswith(b"GET /api2/json/version HTTP/1.1\r\n")
    assert f"PVEAPIToken=root@pam!lxcm={SECRET}".encode() in server.everything


@pytest.mark.parametrize(
    ("auth", "method"),
    [(TOKEN, "GET"), (TICKET, "POST"), (None, "PUT")],
    ids=["token", "ticket", "none"],
)
async def test_wrong_pin_refuses_before_any_request_byte(
    recording_server: StartServer,
    tls_material: TlsMaterial,
    auth: TokenAuth | TicketAuth | None,
    method: str,
) -> None:
    server = await recording_server()
    async with pinned(server.port, WRONG_PIN, auth=auth) as pve:
        with pytest.raises(CertificateMismatch) as info:
            await pve.request(method, "/nodes/pve1/lxc/100/config", data={"memory": 512})
    assert info.value.expected == WRONG_PIN
    assert info.value.actual == tls_material.fingerprint
    assert info.value.user_message == "The server's certificate changed"
    await server.wait_finished(1)
    assert server.handshakes == 1, "the handshake completed: the client saw the certificate"
    assert server.received == [b""], "not a single byte after the handshake"
    assert server.tcp_connections == 1, "a refused certificate is not retried"


async def test_ca_bundle_mode_verifies_normally(
    recording_server: StartServer, tls_material: TlsMaterial
) -> None:
    server = await recording_server()
    policy = TlsPolicy(ca_bundle=tls_material.ca_pem)
    async with ProxmoxClient("127.0.0.1", server.port, tls=policy, timeouts=FAST) as pve:
        assert (await pve.version()).release == "8.2"

    certifi = pytest.importorskip("certifi")  # public CAs only: ours is not among them
    other = TlsPolicy(ca_bundle=certifi.where())
    async with ProxmoxClient("127.0.0.1", server.port, tls=other, auth=TOKEN, timeouts=FAST) as pve:
        with pytest.raises(CertificateInvalid) as info:
            await pve.version()
    assert not isinstance(info.value, CertificateMismatch)
    assert server.handshakes == 1  # the refused handshake never completed on the server
    assert SECRET.encode() not in server.everything


async def test_get_is_retried_after_a_dropped_connection(
    recording_server: StartServer, tls_material: TlsMaterial
) -> None:
    server = await recording_server(flaky=1)
    async with pinned(server.port, tls_material.fingerprint, auth=TOKEN) as pve:
        assert (await pve.version()).version == "8.2.4"
    assert server.tcp_connections == 2


async def test_post_is_not_retried_after_a_dropped_connection(
    recording_server: StartServer, tls_material: TlsMaterial
) -> None:
    server = await recording_server(flaky=1)
    async with pinned(server.port, tls_material.fingerprint, auth=TOKEN) as pve:
        with pytest.raises(Unreachable):
            await pve.post("/nodes/pve1/lxc/100/status/start")
    assert server.tcp_connections == 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_refused_connection_is_unreachable() -> None:
    port = free_port()
    async with pinned(port, WRONG_PIN, auth=TOKEN, retries=1) as pve:
        with pytest.raises(Unreachable) as info:
            await pve.get("/version")
    assert str(info.value).startswith(f"Unable to reach Proxmox at 127.0.0.1:{port}")
    assert info.value.user_message == f"Unable to reach Proxmox at 127.0.0.1:{port}"
    with pytest.raises(Unreachable):
        await fetch_fingerprint("127.0.0.1", port, timeout=1.0)


async def test_transport_logs_carry_no_secret(
    recording_server: StartServer, tls_material: TlsMaterial, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # httpx and httpcore trace every step at DEBUG
    # The app's logging set-up (imported by other tests in this process) quiets these two.
    for name in ("httpx", "httpcore"):
        caplog.set_level(logging.DEBUG, logger=name)
    server = await recording_server()
    async with pinned(server.port, tls_material.fingerprint, auth=TOKEN) as pve:
        await pve.version()
    async with pinned(server.port, WRONG_PIN, auth=TICKET) as pve:
        with pytest.raises(CertificateMismatch):
            await pve.post("/nodes/pve1/lxc", {"password": "ct-root-pass"})
    messages = [record.getMessage() for record in caplog.records]
    assert any("start_tls" in m for m in messages), "httpcore tracing was captured"
    for message in messages:
        for secret in (SECRET, TICKET.ticket, TICKET.csrf_token, "ct-root-pass"):
            assert secret not in message
