"""Fixtures of the provisioning integration tests: a migrated database with the session's
Redis (`prov_db`), the user's nodes on the shared simulator with SSH (`sshnode`) and without
(`apinode`), fresh VMIDs of our own in the 99000 range (`new_vmid`, destroyed afterwards),
and an empty `provisioning` queue."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prov_support import USER_A, add_node, sim_input
from rq import Queue

from lxc_manager import redis_client
from lxc_manager.db.migrate import upgrade_head
from lxc_manager.nodes import NodeView
from lxc_manager.provisioning import vmids
from lxc_manager.provisioning.jobs import QUEUE
from lxc_manager.redis_client import RedisDb
from tests.support.node_checks import forget_node_checks
from tests.support.simulator import SimulatorInfo, parametrize_pve_versions

# Our own containers: 99000-99999, spread by process so parallel runs do not collide.
_VMIDS = itertools.count(99000 + (os.getpid() % 45) * 20)


@pytest.fixture
def prov_db(app_settings: Path) -> Iterator[Path]:
    upgrade_head()
    vmids.forget_nodes()  # node ids start again at 1 in every test's database
    forget_node_checks()
    queue = Queue(QUEUE, connection=redis_client.sync_client(RedisDb.RQ))
    queue.empty()
    yield app_settings
    queue.empty()


@pytest.fixture
async def sshnode(simulator: SimulatorInfo, prov_db: Path) -> NodeView:
    """USER_A's (default) node "lab" on the shared simulator, with SSH credentials."""
    return await add_node(USER_A, sim_input(simulator, "lab", ssh=True))


@pytest.fixture
async def apinode(simulator: SimulatorInfo, prov_db: Path) -> NodeView:
    """USER_A's node "api" on the shared simulator, without SSH credentials."""
    return await add_node(USER_A, sim_input(simulator, "api", ssh=False))


def _remove(simulator: SimulatorInfo, vmid: int) -> None:
    state = simulator.admin_call("GET", "/_sim/state")
    found = next((c for c in state["containers"] if c["vmid"] == vmid), None)
    if found is None:
        return
    node = found["node"]
    with simulator.client() as api:
        if found["status"] == "running":
            response = api.post(f"/nodes/{node}/lxc/{vmid}/status/stop")
            if response.status_code == 200:
                simulator.wait_task(api, response.json()["data"])
        response = api.delete(f"/nodes/{node}/lxc/{vmid}")
        if response.status_code == 200:
            simulator.wait_task(api, response.json()["data"])


@pytest.fixture
def new_vmid(simulator: SimulatorInfo) -> Iterator[Callable[[], int]]:
    """`new_vmid() -> vmid`: a VMID of our own (any container on it is destroyed before and
    after the test)."""
    used: list[int] = []

    def make() -> int:
        vmid = next(_VMIDS)
        assert 99000 <= vmid <= 99999
        _remove(simulator, vmid)
        used.append(vmid)
        return vmid

    yield make
    simulator.reset()
    for vmid in used:
        _remove(simulator, vmid)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test of this folder runs on the oldest and the newest Proxmox VE release."""
    parametrize_pve_versions(metafunc)
