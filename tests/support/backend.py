"""The app's backend alone (the Reflex ASGI app with its event socket and HTTP routes),
served by granian exactly as `serve` runs it but without the compiled frontend.

The event socket, the Socket.IO server and its origin check are all in the backend, so
tests of them need no frontend build (minutes) and no browser.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from lxc_manager.embedded_redis import free_port
from tests.support.app import CLEARED, REPO


@dataclass
class Backend:
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _wait_ready(backend: Backend, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if backend.process.poll() is not None:
            raise RuntimeError(f"the backend exited:\n{backend.log()[-4000:]}")
        try:
            if httpx.get(backend.base_url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the backend was not ready after {timeout} s:\n{backend.log()[-4000:]}")


@contextlib.contextmanager
def running_backend(
    tmp_path: Path, redis_url: str, timeout: float = 60, **overrides: str
) -> Iterator[Backend]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(CLEARED)}
    env.update(
        LXCM_DATA_DIR=str(tmp_path / "data"),
        LXCM_PORT=str(port),
        REDIS_URL=redis_url,
        __REFLEX_SKIP_COMPILE="true",
        REFLEX_ENV_MODE="prod",
        REFLEX_WEB_WORKDIR=str(tmp_path / "web"),
        REFLEX_TELEMETRY_ENABLED="false",
        REFLEX_CHECK_LATEST_VERSION="false",
    )
    env.update(overrides)
    log_path = tmp_path / "backend.log"
    argv = [
        sys.executable, "-m", "granian",
        "--interface", "asgi",
        "--factory",
        "--host", "127.0.0.1",
        "--port", str(port),
        "--workers", "1",
        "--log-level", "warning",
        "lxc_manager.web:create_app",
    ]  # fmt: skip
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            argv, env=env, cwd=REPO, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
    backend = Backend(port, process, log_path)
    try:
        _wait_ready(backend, timeout)
        yield backend
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
