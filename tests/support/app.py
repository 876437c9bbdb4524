"""Start the real app (`lxc-manager serve`) for integration and browser tests."""

from __future__ import annotations

import functools
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx
import redis

from tests.support.procs import descendants

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
OUTPUT = REPO / "test-output"
# One fixed port for every test app: the compiled frontend bakes its port in, so a fixed
# port means one frontend build, reused by every later run.
TEST_PORT = int(os.environ.get("LXCM_TEST_PORT", "3917"))
CLEARED = ("LXCM_", "REDIS_URL", "DATABASE_URL", "REFLEX_", "__REFLEX_")


def app_env(data_dir: Path, **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(CLEARED)}
    env.update(
        LXCM_DATA_DIR=str(data_dir),
        LXCM_PORT=str(TEST_PORT),
        LXCM_WORKERS="2",
        LXCM_LOG_LEVEL="INFO",
        REFLEX_TELEMETRY_ENABLED="false",
        REFLEX_CHECK_LATEST_VERSION="false",
    )
    env.update(overrides)
    return env


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@functools.cache
def ensure_frontend_built(build_data_dir: str) -> None:
    """Build the frontend for TEST_PORT once per session (a no-op when already built)."""
    env = app_env(Path(build_data_dir))
    result = subprocess.run(
        [str(BIN / "lxc-manager"), "build"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"frontend build failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )


def spawn_lxc_manager(
    args: Sequence[str], env: dict[str, str], log: IO[bytes]
) -> subprocess.Popen[bytes]:
    """`lxc-manager ARGS` in a session of its own, its output (both streams) into `log`."""
    return subprocess.Popen(
        [str(BIN / "lxc-manager"), *args],
        env=env,
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


@dataclass
class ServeProcess:
    data_dir: Path
    env: dict[str, str]
    log_path: Path
    build: bool = False
    command: tuple[str, ...] = ("serve",)
    popen: subprocess.Popen[bytes] | None = None
    base_url: str = f"http://127.0.0.1:{TEST_PORT}"
    started_at: float = field(default=0.0)

    def start(self) -> None:
        if not port_is_free(TEST_PORT):
            raise RuntimeError(
                f"port {TEST_PORT} is in use: stop what uses it or set LXCM_TEST_PORT"
            )
        self.started_at = time.monotonic()
        with self.log_path.open("wb") as log:  # a fresh log: readiness is read from it
            args = [*self.command, *([] if self.build else ["--no-build"])]
            self.popen = spawn_lxc_manager(args, self.env, log)

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 90) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.popen is not None
            if self.popen.poll() is not None:
                raise RuntimeError(
                    f"serve exited with {self.popen.returncode}:\n{self.log()[-5000:]}"
                )
            if "LXC Manager is ready" in self.log():
                try:
                    if httpx.get(self.base_url + "/healthz", timeout=2).status_code == 200:
                        return time.monotonic() - self.started_at
                except httpx.HTTPError:
                    pass
            time.sleep(0.2)
        raise RuntimeError(f"serve not ready after {timeout} s:\n{self.log()[-5000:]}")

    def tree(self) -> set[int]:
        return descendants(self.pid)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int | None:
        if self.popen is None or self.popen.poll() is not None:
            return self.popen.returncode if self.popen else None
        self.popen.send_signal(sig)
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=5)
            return None


def start_app(data_dir: Path, log_name: str, build: bool = False, **overrides: str) -> ServeProcess:
    """Start `lxc-manager serve` (the frontend built once per session) and wait until ready."""
    ensure_frontend_built(str(data_dir))
    OUTPUT.mkdir(exist_ok=True)
    serve = ServeProcess(
        data_dir, app_env(data_dir, **overrides), OUTPUT / f"{log_name}.log", build=build
    )
    serve.start()
    serve.wait_ready()
    return serve


def app_redis(serve: ServeProcess, db: int = 0) -> redis.Redis:
    """A client for the embedded Redis of a running app (its port and password are in redis.conf)."""

    config = dict(
        line.split(" ", 1)
        for line in (serve.data_dir / "redis" / "redis.conf").read_text().splitlines()
        if " " in line
    )
    return redis.Redis(
        host="127.0.0.1", port=int(config["port"]), password=config["requirepass"], db=db
    )


def app_db_rows(serve: ServeProcess, sql: str) -> list[tuple[object, ...]]:
    """Read the app's SQLite database directly (read-only)."""

    connection = sqlite3.connect(f"file:{serve.data_dir / 'lxc-manager.db'}?mode=ro", uri=True)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()
