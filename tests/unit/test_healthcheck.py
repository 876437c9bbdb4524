"""`lxc-manager healthcheck` on a web host: one line saying what is wrong, never a trace
(a small local HTTP server plays the web server; real serves in test_serve_roles.py)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from lxc_manager.healthcheck import healthcheck
from lxc_manager.settings import load_settings

ANSWERS: dict[str, tuple[int, str, bytes]] = {}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status, kind, body = ANSWERS["readyz"]
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[int]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize(
    ("status", "kind", "body", "expected"),
    [
        (200, "application/json", b'{"status": "ok"}', (True, "ok: ready on port {port}")),
        (
            503,
            "application/json",
            json.dumps({"status": "unavailable", "failed": ["redis"]}).encode(),
            (False, "the web server is not ready (redis)"),
        ),
        (404, "text/html", b"<html>not here</html>", (False, "the web server is not ready (404)")),
    ],
)
def test_web_health(
    server: int, tmp_path: Path, status: int, kind: str, body: bytes, expected: tuple[bool, str]
) -> None:
    ANSWERS["readyz"] = (status, kind, body)
    settings = load_settings({"LXCM_PORT": str(server), "LXCM_HOST": "0.0.0.0"}, cwd=tmp_path)
    healthy, line = healthcheck(settings, "web")
    assert (healthy, line) == (expected[0], expected[1].format(port=server))


def test_nothing_listening(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        settings = load_settings({"LXCM_PORT": str(port)}, cwd=tmp_path)
        healthy, line = healthcheck(settings, "all")
    assert not healthy and line.startswith(f"the web server does not answer on port {port}")


def test_a_worker_host_needs_a_shared_redis(tmp_path: Path) -> None:
    healthy, line = healthcheck(load_settings({}, cwd=tmp_path), "worker")
    assert (healthy, line) == (False, "REDIS_URL is not set (a worker host uses a shared Redis)")
