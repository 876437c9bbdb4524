"""Fixtures of the API's integration tests: a fresh migrated database with the session's
Redis (`api_db`), USER_A's node "lab" on the shared simulator (`lab`), a key of each user
(`key_a`, `key_b`) and containers of our own (`own_ct`, VMIDs 97000-97999)."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from api_support import USER_A, USER_B

from lxc_manager import redis_client
from lxc_manager.db.migrate import upgrade_head
from lxc_manager.nodes import NodeInput, NodeView, create_node
from lxc_manager.provisioning import vmids
from tests.support.api import make_key
from tests.support.node_checks import forget_node_checks
from tests.support.nodes import node_input
from tests.support.simulator import SimulatorInfo

_VMIDS = itertools.count(97000 + (os.getpid() % 90) * 10)


def _forget(*patterns: str) -> None:
    client = redis_client.sync_client()
    for pattern in patterns:
        names = list(client.scan_iter(match=pattern, count=500))
        if names:
            client.delete(*names)


@pytest.fixture
def api_db(app_settings: Path) -> Path:
    upgrade_head()
    forget_node_checks()
    vmids.forget_nodes()
    _forget(
        "vmids:*",
        "ct-ips:*",
        "ct-known:*",
        "ct-known-digest:*",
        "api-rate:*",
        "login-fail:api-client:*",
    )
    return app_settings


def sim_input(simulator: SimulatorInfo, name: str, **changes: object) -> NodeInput:
    return node_input(simulator, name, **changes)


@pytest.fixture
async def lab(simulator: SimulatorInfo, api_db: Path) -> NodeView:
    result = await create_node(USER_A, sim_input(simulator, "lab"))
    assert isinstance(result, NodeView), result
    return result


@pytest.fixture
async def key_a(api_db: Path) -> str:
    return await asyncio.to_thread(make_key, USER_A, "ci")


@pytest.fixture
async def key_b(api_db: Path) -> str:
    return await asyncio.to_thread(make_key, USER_B, "ci")


@pytest.fixture
def own_ct(simulator: SimulatorInfo) -> Iterator[Callable[..., int]]:
    """`own_ct(node="pve1") -> vmid`: a fresh stopped container, destroyed afterwards."""
    made: list[tuple[str, int]] = []

    def make(node: str = "pve1") -> int:
        vmid = next(_VMIDS)
        with simulator.client() as api:
            _destroy(simulator, api, node, vmid)
            status = simulator.create_container(api, node, vmid, start=0)
            assert status["exitstatus"] == "OK", status
        made.append((node, vmid))
        return vmid

    yield make
    with simulator.client() as api:
        for node, vmid in made:
            _destroy(simulator, api, node, vmid)


def _destroy(simulator: SimulatorInfo, api: httpx.Client, node: str, vmid: int) -> None:
    current = api.get(f"/nodes/{node}/lxc/{vmid}/status/current")
    if current.status_code != 200:
        return
    if current.json()["data"]["status"] == "running":
        stopped = api.post(f"/nodes/{node}/lxc/{vmid}/status/stop")
        simulator.wait_task(api, stopped.json()["data"])
    deleted = api.delete(f"/nodes/{node}/lxc/{vmid}")
    if deleted.status_code == 200:
        simulator.wait_task(api, deleted.json()["data"])
