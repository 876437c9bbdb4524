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

from lxc_manager.nodes import NodeView
from lxc_manager.provisioning.jobs import QUEUE
from tests.support.simulator import SimulatorInfo, parametrize_pve_versions
from tests.support.worker import fresh_jobs

# Our own containers: 99000-99999, spread by process so parallel runs do not collide.
_VMIDS = itertools.count(99000 + (os.getpid() % 45) * 20)


@pytest.fixture
def prov_db(app_settings: Path) -> Iterator[Path]:
    with fresh_jobs(QUEUE):
        yield app_settings


@pytest.fixture
async def sshnode(simulator: SimulatorInfo, prov_db: Path) -> NodeView:
    """USER_A's (default) node "lab" on the shared simulator, with SSH credentials."""
    return await add_node(USER_A, sim_input(simulator, "lab", ssh=True))


@pytest.fixture
async def apinode(simulator: SimulatorInfo, prov_db: Path) -> NodeView:
    """USER_A's node "api" on the shared simulator, without SSH credentials."""
    return await add_node(USER_A, sim_input(simulator, "api", ssh=False))


def _remove(simulator: SimulatorInfo, vmid: int) -> None:
    simulator.destroy_container(vmid)


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
