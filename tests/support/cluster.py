"""LXC Manager as a team runs it: PostgreSQL, one `redis-server` with persistence, web
replicas (`lxc-manager serve --role web`) on ports of their own and worker hosts
(`serve --role worker`), all real processes sharing REDIS_URL, DATABASE_URL and one
secret key, as deploy/compose.yaml runs them.

The replicas stand behind one public URL (the compose file's reverse proxy), so they serve
one frontend build (`ensure_frontend_built`, shared with the other app tests); clients
reach each replica on its own port, sending the public URL as their Origin.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx
import redis

from lxc_manager.embedded_redis import find_redis_server, free_port
from lxc_manager.redis_client import RedisDb, url_for
from tests.support.app import (
    OUTPUT,
    REPO,
    TEST_PORT,
    app_env,
    ensure_frontend_built,
    spawn_lxc_manager,
)
from tests.support.postgres import postgres_server
from tests.support.procs import cmdline, descendants

if TYPE_CHECKING:
    from tests.support.simulator import SimulatorInfo

PUBLIC_URL = f"http://127.0.0.1:{TEST_PORT}"


@dataclass
class RedisServer:
    """A `redis-server` with AOF persistence (appendonly, fsync every write) that can be
    killed and started again on the same port and data."""

    directory: Path
    port: int = field(default_factory=free_port)
    password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    def client(self, db: RedisDb = RedisDb.APP) -> redis.Redis:
        return redis.Redis.from_url(url_for(db, self.url))

    def start(self, timeout: float = 15) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        config = self.directory / "redis.conf"
        config.write_text(
            "\n".join(
                [
                    "bind 127.0.0.1",
                    f"port {self.port}",
                    f"requirepass {self.password}",
                    f"dir {self.directory}",
                    "appendonly yes",
                    "appendfsync always",
                    "save ''",
                    "databases 16",
                    "loglevel warning",
                    f"logfile {self.directory / 'redis.log'}",
                ]
            )
            + "\n"
        )
        self.process = subprocess.Popen(
            [find_redis_server(), str(config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        client = redis.Redis(host="127.0.0.1", port=self.port, password=self.password)
        while True:
            try:
                if client.ping():
                    return
            except redis.RedisError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start ({self.directory})") from None
                time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: what survives is what the append-only file had."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def restart(self) -> None:
        self.kill()
        self.start()


@dataclass
class Member:
    """One `lxc-manager serve --role ...` of the cluster."""

    name: str
    role: str
    port: int
    env: dict[str, str]
    log_path: Path
    popen: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            args = ["serve", "--role", self.role, "--no-build"]
            self.popen = spawn_lxc_manager(args, self.env, log)

    def wait_ready(self, timeout: float = 120) -> None:
        marker = "LXC Manager is ready" if self.role == "web" else "workers are ready"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.popen is not None
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log()[-4000:]}")
            if marker in self.log():
                if self.role != "web":
                    return
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(self.base_url + "/readyz", timeout=2).status_code == 200:
                        return
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready after {timeout} s:\n{self.log()[-4000:]}")

    def pids(self, text: str) -> list[int]:
        """Processes of this member whose command line contains `text`."""
        assert self.popen is not None
        return sorted(p for p in descendants(self.popen.pid) if text in cmdline(p))

    def rss_bytes(self) -> int:
        """Resident memory of the member and all its processes."""
        assert self.popen is not None
        total = 0
        for pid in {self.popen.pid, *descendants(self.popen.pid)}:
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
        return total

    def stop(self) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(5)


@dataclass
class Cluster:
    directory: Path
    database_url: str
    redis: RedisServer
    secret_key: str
    members: list[Member] = field(default_factory=list)

    def env(self, name: str, **overrides: str) -> dict[str, str]:
        return app_env(
            self.directory / name,
            REDIS_URL=self.redis.url,
            DATABASE_URL=self.database_url,
            LXCM_SECRET_KEY=self.secret_key,
            LXCM_PUBLIC_URL=PUBLIC_URL,
            LXCM_LOG_LEVEL="INFO",
            **overrides,
        )

    def add(self, name: str, role: str, **overrides: str) -> Member:
        port = free_port()
        member = Member(
            name,
            role,
            port,
            self.env(name, LXCM_PORT=str(port), **overrides),
            OUTPUT / f"cluster-{self.directory.name}-{name}.log",
        )
        member.log_path.unlink(missing_ok=True)
        self.members.append(member)
        member.start()
        return member

    def python(self, code: str, timeout: float = 60) -> str:
        """Run `code` in a process configured like the members (setup and checks that are
        not the point of a test: the test process keeps its own settings)."""
        done = subprocess.run(
            [sys.executable, "-c", code],
            env=self.env("tool"),
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"cluster python failed:\n{done.stdout[-2000:]}{done.stderr[-4000:]}"
            )
        return done.stdout

    def stop(self) -> None:
        for member in reversed(self.members):
            member.stop()


@contextlib.contextmanager
def running_cluster(directory: Path) -> Iterator[Cluster]:
    """PostgreSQL + redis-server (AOF); add members with `cluster.add(name, role)`."""
    ensure_frontend_built(str(directory / "build"))
    OUTPUT.mkdir(exist_ok=True)
    key = base64.b64encode(os.urandom(32)).decode()
    with postgres_server() as database_url:
        server = RedisServer(directory / "redis")
        server.start()
        cluster = Cluster(directory, database_url, server, f"k1:{key}")
        try:
            yield cluster
        finally:
            cluster.stop()
            server.kill()


# ---- what a signed-in user needs (setup shared by the scale-out test and benchmark) ----
async def sign_in(replica: Member, simulator: SimulatorInfo) -> str:
    from lxc_manager.pages.login.state import LoginState
    from lxc_manager.security.sessions import COOKIE_NAME, GRANT_NONCE_COOKIE
    from tests.support.reflex_socket import ReflexTab

    """The login page on `replica` (on the endpoint's first use: confirm its fingerprint),
    then the page load of /auth/complete that sets the HttpOnly cookie: its session id."""
    host, port = urlsplit(simulator.api).hostname, urlsplit(simulator.api).port
    tab = await ReflexTab.open(replica.port, "/login", origin=PUBLIC_URL)
    try:
        await tab.until(lambda: tab.var(LoginState, "ready"), what="the login page")
        form = {
            "host": host, "port": str(port), "username": "root", "realm": "pam",
            "password": simulator.root_password,
        }  # fmt: skip
        await tab.fire(LoginState.submit_credentials, form=form)
        to_confirm = await tab.until(
            lambda: (
                tab.scripts()
                or (tab.var(LoginState, "step") == "confirm" and tab.var(LoginState, "fingerprint"))
            ),
            what="the grant or the fingerprint to confirm (first use of the endpoint)",
        )
        if isinstance(to_confirm, str):
            await tab.fire(
                LoginState.submit_credentials, form={**form, "confirmed_fingerprint": to_confirm}
            )
        script = await tab.until(lambda: tab.scripts() and tab.scripts()[-1], what="the grant")
    finally:
        await tab.close()
    nonce = re.search(rf"{GRANT_NONCE_COOKIE}=([^;]+);", script)
    target = re.search(r"window\.location\.assign\((\".*?\")\)", script)
    assert nonce and target, script
    answer = httpx.get(
        replica.base_url + json.loads(target.group(1)),
        headers={
            "cookie": f"{GRANT_NONCE_COOKIE}={nonce.group(1)}",
            "sec-fetch-site": "same-origin",
        },
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/", answer.text
    session_id = answer.cookies.get(COOKIE_NAME)
    assert session_id
    return session_id


def add_node(cluster: Cluster, simulator: SimulatorInfo, session_id: str) -> None:
    """The signed-in user's node on the simulator (setup, through the node service)."""
    parts = urlsplit(simulator.api)
    cluster.python(
        f"""
import asyncio
from lxc_manager.nodes import NodeInput, NodeView, create_node
from lxc_manager.redis_client import async_client
from lxc_manager.security.sessions import get_session
from lxc_manager.settings import get_settings

async def main():
    session = await get_session(async_client(), get_settings(), {session_id!r}, touch=False)
    data = NodeInput(
        name="lab", host={parts.hostname!r}, port={parts.port!r},
        token_id={simulator.token_id!r}, token_secret={simulator.token_secret!r},
        tls_fingerprint={simulator.tls_sha256!r}, ssh_port={simulator.ssh_port!r},
        ssh_secret={simulator.root_password!r}, ssh_host_key={simulator.ssh_host_key!r},
    )
    assert isinstance(await create_node(session.user_id, data), NodeView)

asyncio.run(main())
"""
    )
