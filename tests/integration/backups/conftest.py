"""Fixtures of the backup integration tests: a migrated database with the session's Redis
and an empty RQ queue (`bk_db`), USER's node on the shared simulator (`node`), and a
container of our own in the 98000 range (`own_ct`, destroyed afterwards, with its
backups)."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from lxc_manager.nodes import NodeInput, NodeView
from lxc_manager.operations.jobs import QUEUE
from tests.support import nodes
from tests.support.nodes import add_node as add_node
from tests.support.simulator import SimulatorInfo
from tests.support.worker import fresh_jobs

USER = "root@pam@1"
OTHER = "alice@pve@1"
DEBIAN = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"
_VMIDS = itertools.count(98000 + (os.getpid() % 45) * 20)


def node_input(simulator: SimulatorInfo, name: str, token: str = "ci") -> NodeInput:
    token_of = {
        "ci": (simulator.token_id, simulator.token_secret),
        "ro": (simulator.privsep_token_id, simulator.privsep_token_secret),
        "vmadmin": (simulator.vmadmin_token_id, simulator.vmadmin_token_secret),
    }
    return nodes.node_input(simulator, name, token=token_of[token])


@pytest.fixture
def bk_db(app_settings: Path) -> Iterator[Path]:
    with fresh_jobs(QUEUE):
        yield app_settings


@pytest.fixture
async def node(simulator: SimulatorInfo, bk_db: Path) -> NodeView:
    return await add_node(USER, node_input(simulator, "lab"))


def remove_ct(simulator: SimulatorInfo, vmid: int) -> None:
    """Destroy the container and every backup of it (root's token)."""
    with simulator.client(simulator.root_token_id, simulator.root_token_secret) as api:
        simulator.destroy_container(vmid, api, purge=1)
        for pve in ("pve1", "pve2", "pve3"):
            storages = api.get(f"/nodes/{pve}/storage", params={"content": "backup"})
            for storage in storages.json().get("data") or []:
                sid = storage["storage"]
                listing = api.get(
                    f"/nodes/{pve}/storage/{sid}/content", params={"vmid": vmid}
                ).json()
                for volume in listing.get("data") or []:
                    path = f"/nodes/{pve}/storage/{sid}/content/{quote(volume['volid'], safe='')}"
                    if volume.get("protected"):
                        api.put(path, data={"protected": 0})
                    response = api.delete(path)
                    if response.status_code == 200 and response.json().get("data"):
                        simulator.wait_task(api, response.json()["data"])


def create_ct(simulator: SimulatorInfo, vmid: int, *, start: bool) -> None:
    with simulator.client(simulator.root_token_id, simulator.root_token_secret) as api:
        response = api.post(
            "/nodes/pve1/lxc",
            data={
                "vmid": vmid,
                "ostemplate": DEBIAN,
                "hostname": f"bk-{vmid}",
                "storage": "local-lvm",
                "rootfs": "local-lvm:2",
                "net0": "name=eth0,bridge=vmbr0,ip=dhcp",
            },
        )
        assert response.status_code == 200, response.text
        simulator.wait_task(api, response.json()["data"])
        if start:
            response = api.post(f"/nodes/pve1/lxc/{vmid}/status/start")
            assert response.status_code == 200, response.text
            simulator.wait_task(api, response.json()["data"])


@pytest.fixture
def new_vmid(simulator: SimulatorInfo) -> Iterator[Callable[[], int]]:
    """A VMID of our own, cleaned (container and backups) before and after the test."""
    used: list[int] = []

    def make() -> int:
        vmid = next(_VMIDS)
        remove_ct(simulator, vmid)
        used.append(vmid)
        return vmid

    yield make
    for vmid in used:
        remove_ct(simulator, vmid)


@pytest.fixture
def own_ct(simulator: SimulatorInfo, new_vmid: Callable[[], int]) -> Callable[..., Awaitable[int]]:
    """`await own_ct(start=True) -> vmid`: a container of ours on pve1 (made in a thread:
    the test's event loop is not blocked)."""

    async def make(start: bool = True) -> int:
        vmid = await asyncio.to_thread(new_vmid)
        await asyncio.to_thread(create_ct, simulator, vmid, start=start)
        return vmid

    return make
