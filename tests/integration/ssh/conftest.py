"""Fixtures of the SSH layer's integration tests (the `simulator` fixture comes from
tests/integration/conftest.py): a pinned root target on the simulator's SSH endpoint, a
fresh pool per test, and two containers of our own on the endpoint's node, one running
and one stopped, removed again at the end."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from lxc_manager.ssh import RetryPolicy, SshPool, SshTarget
from tests.support.simulator import SimulatorInfo

FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.05, max_delay=0.1)
RUNNING_VMID = 9101
STOPPED_VMID = 9102


@dataclass(frozen=True)
class SshSim:
    host: str
    port: int
    fingerprint: str
    node: str
    running: int  # vmid of a running container on `node`
    stopped: int  # vmid of a stopped container on `node`
    password: str

    def target(self, **changes: Any) -> SshTarget:
        values: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "password": self.password,
            "host_key_fingerprint": self.fingerprint,
        }
        values.update(changes)
        return SshTarget(**values)


def _lxc(api: httpx.Client, simulator: SimulatorInfo, node: str, vmid: int, action: str) -> None:
    response = api.post(f"/nodes/{node}/lxc/{vmid}/status/{action}")
    assert response.status_code == 200, response.text
    assert simulator.wait_task(api, response.json()["data"])["exitstatus"] == "OK"


@pytest.fixture(scope="package")
def ssh_sim(simulator: SimulatorInfo) -> Iterator[SshSim]:
    if not (simulator.ssh_host and simulator.ssh_port and simulator.ssh_host_key):
        pytest.fail(f"the simulator serves no SSH: READY line {simulator.ready}")
    node = simulator.nodes[0]
    with simulator.client() as api:
        for vmid in (RUNNING_VMID, STOPPED_VMID):
            final = simulator.create_container(api, node, vmid, hostname=f"ssh-test-{vmid}")
            assert final["exitstatus"] == "OK", final
        _lxc(api, simulator, node, RUNNING_VMID, "start")
        try:
            yield SshSim(
                host=simulator.ssh_host,
                port=simulator.ssh_port,
                fingerprint=simulator.ssh_host_key,
                node=node,
                running=RUNNING_VMID,
                stopped=STOPPED_VMID,
                password=simulator.root_password,
            )
        finally:
            _lxc(api, simulator, node, RUNNING_VMID, "stop")
            for vmid in (RUNNING_VMID, STOPPED_VMID):
                response = api.delete(f"/nodes/{node}/lxc/{vmid}")
                if response.status_code == 200:
                    simulator.wait_task(api, response.json()["data"])


@pytest.fixture
def target(ssh_sim: SshSim) -> SshTarget:
    return ssh_sim.target()


@pytest.fixture
async def pool() -> AsyncIterator[SshPool]:
    async with SshPool(retry=FAST_RETRY, connect_timeout=5, command_timeout=10) as ssh_pool:
        yield ssh_pool


@pytest.fixture
def faults(reset_faults: SimulatorInfo) -> Callable[..., Any]:
    """Set faults with `faults(ssh_disconnect_next=1)`; `reset_faults` restores them after."""

    def set_faults(**values: Any) -> Any:
        return reset_faults.admin_call("POST", "/_sim/faults", values)

    return set_faults


@pytest.fixture
def closed_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
