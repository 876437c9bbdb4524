"""Helpers of the simulator's SSH protocol tests: plain asyncssh against the subprocess.

The tests drive the simulator started by the `simulator` fixture (conftest.py) with asyncssh
only (not the app's SSH layer). Containers of their own live on the endpoint's first node.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

import asyncssh

RUNNING_VMID = 9301
STOPPED_VMID = 9302
PEER_VMID = 9303


@dataclass(frozen=True)
class Containers:
    node: str
    peer: str
    running: int
    stopped: int
    on_peer: int


@asynccontextmanager
async def connect(simulator: Any, **options: Any) -> AsyncIterator[asyncssh.SSHClientConnection]:
    """root@ the simulator's SSH endpoint (password auth unless options say otherwise)."""
    settings: dict[str, Any] = {
        "username": "root",
        "password": simulator.root_password,
        "known_hosts": None,
        "connect_timeout": 10,
    }
    settings.update(options)
    async with asyncssh.connect(simulator.ssh_host, simulator.ssh_port, **settings) as conn:
        yield conn


async def run(
    simulator: Any, command: str, stdin: str | None = None
) -> asyncssh.SSHCompletedProcess:
    async with connect(simulator) as conn:
        return await conn.run(command, input=stdin, check=False, timeout=30)


def pct_exec(vmid: int, *argv: str) -> str:
    """`pct exec VMID -- ARGV...` as one properly quoted command string."""
    return f"pct exec {vmid} -- " + " ".join(shlex.quote(a) for a in argv)


def _power(api: Any, simulator: Any, node: str, vmid: int, action: str) -> None:
    response = api.post(f"/nodes/{node}/lxc/{vmid}/status/{action}")
    assert response.status_code == 200, response.text
    assert simulator.wait_task(api, response.json()["data"])["exitstatus"] == "OK"


@contextmanager
def own_containers(simulator: Any) -> Iterator[Containers]:
    """A running and a stopped container on the first node, a running one on the second."""
    node, peer = simulator.nodes[0], simulator.nodes[1]
    layout = ((node, RUNNING_VMID, True), (node, STOPPED_VMID, False), (peer, PEER_VMID, True))
    with simulator.client() as api:
        for where, vmid, start in layout:
            final = simulator.create_container(api, where, vmid, hostname=f"sshsim-{vmid}")
            assert final["exitstatus"] == "OK", final
            if start:
                _power(api, simulator, where, vmid, "start")
        try:
            yield Containers(node, peer, RUNNING_VMID, STOPPED_VMID, PEER_VMID)
        finally:
            for where, vmid, _ in layout:
                status = api.get(f"/nodes/{where}/lxc/{vmid}/status/current")
                if status.status_code == 200 and status.json()["data"]["status"] == "running":
                    _power(api, simulator, where, vmid, "stop")
                response = api.delete(f"/nodes/{where}/lxc/{vmid}")
                if response.status_code == 200:
                    simulator.wait_task(api, response.json()["data"])


async def chunks_of(
    process: asyncssh.SSHClientProcess, timeout: float = 30
) -> list[tuple[float, str]]:
    """Every stdout chunk of a process with its arrival time, until end of output."""
    arrivals: list[tuple[float, str]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = await process.stdout.read(65536)
        if not data:
            break
        arrivals.append((time.monotonic(), data))
    return arrivals
