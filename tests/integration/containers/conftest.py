"""Fixtures of the containers service's integration tests: a fresh migrated database with
the session's Redis (`ct_db`), the user's node on the shared simulator (`lab`), test
containers of our own in the 95000 range (`own_ct`) and small extra simulators
(`small_sim`). Helpers are in ct_support.py."""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from ct_support import (
    SIM_TOKEN_ID,
    USER_A,
    add_node,
    forget_known_containers,
    forget_vmid_caches,
    remove_container,
    sim_input,
)

from lxc_manager.db.migrate import upgrade_head
from lxc_manager.nodes import NodeView
from lxc_manager.provisioning import vmids
from tests.support.node_checks import forget_node_checks
from tests.support.simulator import SimProcess, SimulatorInfo, parametrize_pve_versions

# Our own containers: 95000-95999, spread by process so parallel runs do not collide.
_VMIDS = itertools.count(95000 + (os.getpid() % 90) * 10)


@pytest.fixture
def ct_db(app_settings: Path) -> Path:
    """A fresh database; the session's Redis without what earlier tests' listings left."""
    upgrade_head()
    forget_known_containers()
    forget_node_checks()
    # Node ids start again at 1 in every test's database, and the simulators of two PVE
    # releases claim the same cluster: no VMID cache may outlive its test.
    vmids.forget_nodes()
    forget_vmid_caches()
    return app_settings


@pytest.fixture
async def lab(simulator: SimulatorInfo, ct_db: Path) -> NodeView:
    """USER_A's (default) node "lab" on the shared simulator."""
    return await add_node(USER_A, sim_input(simulator, "lab"))


@pytest.fixture
def own_ct(simulator: SimulatorInfo) -> Iterator[Callable[..., int]]:
    """`own_ct(node="pve1", start=False) -> vmid`: a fresh container, destroyed afterwards."""
    made: list[tuple[str, int]] = []

    def make(node: str = "pve1", start: bool = False) -> int:
        vmid = next(_VMIDS)
        assert 95000 <= vmid <= 95999
        remove_container(simulator, node, vmid)  # a leftover of an interrupted run
        with simulator.client() as api:
            status = simulator.create_container(api, node, vmid, start=int(start))
            assert status["exitstatus"] == "OK", status
            if start:
                response = api.get(f"/nodes/{node}/lxc/{vmid}/status/current")
                if response.json()["data"]["status"] != "running":
                    started = api.post(f"/nodes/{node}/lxc/{vmid}/status/start")
                    simulator.wait_task(api, started.json()["data"])
        made.append((node, vmid))
        return vmid

    yield make
    simulator.reset()  # faults of a failed test must not block the clean-up
    for node, vmid in made:
        remove_container(simulator, node, vmid)


@pytest.fixture
def small_sim(start_sim: Callable[[list[str]], SimProcess]) -> Callable[..., tuple[Any, str]]:
    """`small_sim(nodes=1) -> (SimProcess, token_secret)`: an extra simulator of our own."""

    def start(nodes: int = 1, containers: int = 3) -> tuple[SimProcess, str]:
        secret = str(uuid.uuid4())
        args = [
            "--port", "0", "--ssh-port", "0", "--nodes", str(nodes),
            "--containers", str(containers), "--vms", "1", "--seed", "7",
            "--auth-failure-delay", "0", "--task-seconds", "0.2", "--log-level", "WARNING",
            "--token", f"{SIM_TOKEN_ID}:{secret}",
        ]  # fmt: skip
        return start_sim(args), secret

    return start


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test of this folder runs on the oldest and the newest Proxmox VE release."""
    parametrize_pve_versions(metafunc)
