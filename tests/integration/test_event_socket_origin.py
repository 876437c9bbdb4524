"""Issue 12, path 7: cross-origin websocket. A page on another origin must not be able to
open the event socket (and so drive events with the visitor's session cookie, which the
browser sends with a websocket from any page of the same site).

The attack is the websocket handshake such a page's browser sends, made here over a raw
socket to the real backend (granian, the Reflex app, its Socket.IO server): the `Origin`
header is the only thing that tells the pages apart.
"""

from __future__ import annotations

import base64
import os
import socket
from collections.abc import Iterator

import pytest

from lxc_manager.embedded_redis import EmbeddedRedis
from tests.support.backend import Backend, running_backend

PUBLIC_URL = "https://lxc.example.test"


@pytest.fixture(scope="module")
def backend(
    tmp_path_factory: pytest.TempPathFactory, redis_server: EmbeddedRedis
) -> Iterator[Backend]:
    with running_backend(
        tmp_path_factory.mktemp("backend"), redis_server.url, LXCM_PUBLIC_URL=PUBLIC_URL
    ) as app:
        yield app


def handshake(backend: Backend, origin: str | None) -> bytes:
    """Open /_event as a browser does; return the status line and the first bytes after."""
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        "GET /_event/?EIO=4&transport=websocket HTTP/1.1",
        f"Host: 127.0.0.1:{backend.port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
    ]
    if origin is not None:
        lines.append(f"Origin: {origin}")
    with socket.create_connection(("127.0.0.1", backend.port), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        received = b""
        while b"\r\n\r\n" not in received or (
            received.startswith(b"HTTP/1.1 101") and b'0{"sid"' not in received
        ):
            chunk = sock.recv(4096)
            if not chunk:
                break
            received += chunk
    return received


def accepted(answer: bytes) -> bool:
    """Switched protocols and the Engine.IO session opened (its first frame arrived)."""
    return answer.startswith(b"HTTP/1.1 101") and b'0{"sid"' in answer


@pytest.mark.parametrize(
    "origin",
    [
        "http://evil.example",
        "https://blog.example.test",  # a sibling host: same site, other origin
        "http://lxc.example.test",  # the public host over plain http
        "https://lxc.example.test:8443",
        "null",  # a sandboxed frame or a file: page
    ],
)
def test_other_origins_cannot_open_the_event_socket(backend: Backend, origin: str) -> None:
    answer = handshake(backend, origin)
    assert not accepted(answer), answer[:200]
    assert answer.split(b"\r\n", 1)[0] in (b"HTTP/1.1 403 Forbidden", b"HTTP/1.1 400 Bad Request")


def test_the_apps_own_origins_open_it(backend: Backend) -> None:
    assert accepted(handshake(backend, PUBLIC_URL))
    assert accepted(handshake(backend, f"http://127.0.0.1:{backend.port}"))
    assert accepted(handshake(backend, f"http://localhost:{backend.port}"))  # loopback binding
    # Not a browser page (no Origin header): not a cross-origin attack, nothing to check.
    assert accepted(handshake(backend, None))


def test_another_port_of_the_bound_host_is_another_origin(backend: Backend) -> None:
    assert not accepted(handshake(backend, f"http://127.0.0.1:{backend.port + 1}"))
    assert not accepted(handshake(backend, f"https://127.0.0.1:{backend.port}"))


def test_the_log_tells_why(backend: Backend) -> None:
    handshake(backend, "http://evil.example")
    assert "http://evil.example is not an accepted origin" in backend.log()
