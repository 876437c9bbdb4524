"""Fixtures and helpers of the creations tests (`/api/v1/creations`, `lxcm`): USER_A's node
with SSH credentials (`sshlab`), VMIDs of our own (`new_vmid`, 96000-96899, destroyed
afterwards), a template of the user's (`web_template`) and an RQ worker in burst mode."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from api_support import USER_A
from rq import Queue

from lxc_manager import redis_client
from lxc_manager.nodes import NodeInput, NodeView, create_node
from lxc_manager.provisioning.jobs import QUEUE
from lxc_manager.redis_client import RedisDb
from lxc_manager.security.actor import Actor
from lxc_manager.templates import service as templates
from lxc_manager.templates.spec import Features, Resources, ScriptSpec, TemplateSpec
from tests.support.nodes import node_input
from tests.support.simulator import SimulatorInfo
from tests.support.worker import run_burst_worker

REPO = Path(__file__).resolve().parents[3]
DEBIAN = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"
_VMIDS = itertools.count(96000 + (os.getpid() % 90) * 10)


def ssh_input(simulator: SimulatorInfo, name: str) -> NodeInput:
    return node_input(simulator, name, ssh=True)


async def add_node(user_id: str, simulator: SimulatorInfo, name: str) -> NodeView:
    result = await create_node(user_id, ssh_input(simulator, name))
    assert isinstance(result, NodeView), result
    return result


@pytest.fixture
async def sshlab(simulator: SimulatorInfo, api_db: Path) -> AsyncIterator[NodeView]:
    """USER_A's (default) node "lab" with SSH credentials, and an empty provisioning queue."""
    queue = Queue(QUEUE, connection=redis_client.sync_client(RedisDb.RQ))
    await asyncio.to_thread(queue.empty)
    yield await add_node(USER_A, simulator, "lab")
    await asyncio.to_thread(queue.empty)


def remove_container(simulator: SimulatorInfo, vmid: int) -> None:
    simulator.destroy_container(vmid)


def container_exists(simulator: SimulatorInfo, vmid: int) -> bool:
    state = simulator.admin_call("GET", "/_sim/state")
    return any(c["vmid"] == vmid for c in state["containers"])


@pytest.fixture
def new_vmid(simulator: SimulatorInfo) -> Iterator[Callable[[], int]]:
    """`new_vmid() -> vmid`: a VMID of our own; its container is destroyed after the test."""
    used: list[int] = []

    def make() -> int:
        vmid = next(_VMIDS)
        assert 96000 <= vmid < 97000
        remove_container(simulator, vmid)
        used.append(vmid)
        return vmid

    yield make
    for vmid in used:
        remove_container(simulator, vmid)


async def make_template(user_id: str = USER_A, **changes: Any) -> int:
    """A private template of the user: debian-12, 2 cores, 1 GiB, nesting, one script."""
    spec = TemplateSpec(
        name=changes.pop("name", "Web"),
        os_template="debian-12",
        resources=Resources(cores=2, memory_mb=1024, swap_mb=128, disk_gb=5),
        tags=("web", "api"),
        storage="local-lvm",
        features=Features(nesting=True),
        scripts=changes.pop("scripts", (ScriptSpec("hello", "echo hello from the template"),)),
        **changes,
    )
    result = await templates.create_template(Actor(user_id, False), spec)
    assert result.ok and result.id is not None, result.errors
    return result.id


def burst_worker(timeout: float = 120) -> None:
    """A real `lxc-manager worker --burst`: runs what is queued, then exits."""
    run_burst_worker(timeout)


async def run_worker(timeout: float = 120) -> None:
    await asyncio.to_thread(burst_worker, timeout)
