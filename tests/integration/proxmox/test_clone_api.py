"""`lxc_clone`, `lxc_template` and `read_source` (lxc_manager/proxmox/clone.py,
lxc_manager/cloning/source.py) against the simulator over real HTTPS. Containers use VMIDs
from 91000 up (per process) and are deleted again."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Iterator

import pytest
from test_pve_simulator import make_client, root_token

from lxc_manager.cloning.source import read_source
from lxc_manager.proxmox import ProxmoxError, TaskFailed, Upid
from lxc_manager.proxmox.clone import lxc_clone, lxc_template
from tests.support.simulator import SimulatorInfo

_vmids = itertools.count(91000 + (os.getpid() % 45) * 20)


@pytest.fixture
def made(simulator: SimulatorInfo) -> Iterator[list[int]]:
    """VMIDs to destroy afterwards, wherever they ended up."""
    vmids: list[int] = []
    yield vmids
    state = simulator.admin_call("GET", "/_sim/state")
    found = {ct["vmid"]: ct for ct in state["containers"] if ct["vmid"] in vmids}
    with simulator.client() as api:
        # newest first: linked clones go before their template
        for ct in (found[vmid] for vmid in reversed(vmids) if vmid in found):
            path = f"/nodes/{ct['node']}/lxc/{ct['vmid']}"
            if ct["status"] == "running":
                simulator.wait_task(api, api.post(f"{path}/status/stop").json()["data"])
            response = api.delete(path)
            assert response.status_code == 200, response.text
            assert simulator.wait_task(api, response.json()["data"])["exitstatus"] == "OK"


async def _create(simulator: SimulatorInfo, node: str, vmid: int, **config: object) -> None:
    def create() -> None:
        with simulator.client() as api:
            simulator.create_container(api, node, vmid, **config)

    await asyncio.to_thread(create)


def _new(made: list[int]) -> int:
    vmid = next(_vmids)
    made.append(vmid)
    return vmid


async def test_full_clone_to_another_node_is_followed_to_its_end(
    simulator: SimulatorInfo, made: list[int]
) -> None:
    vmid = _new(made)
    await _create(simulator, "pve1", vmid, hostname="src-a")
    newid = _new(made)
    async with make_client(simulator, root_token(simulator)) as pve:
        upid = await lxc_clone(
            pve, "pve1", vmid, newid=newid, hostname="copy-a", target="pve2", storage="nas"
        )
        assert Upid.parse(upid).type == "vzclone"
        await pve.wait_for_task("pve1", upid, timeout=30)
        config = await pve.lxc_config("pve2", newid)
        assert config.hostname == "copy-a" and (config.rootfs or "").startswith("nas:")
        log = [str(e.get("t")) for e in await pve.task_log("pve1", upid)]
        assert f"creating a clone of container {vmid} with ID {newid}" in log


async def test_clone_refusals_come_as_proxmox_errors(
    simulator: SimulatorInfo, made: list[int]
) -> None:
    vmid = _new(made)
    await _create(simulator, "pve1", vmid)
    async with make_client(simulator, root_token(simulator)) as pve:
        with pytest.raises(ProxmoxError) as linked:
            await lxc_clone(pve, "pve1", vmid, newid=next(_vmids), full=False)
        assert "Linked clone feature" in linked.value.detail
        with pytest.raises(ProxmoxError) as local:
            await lxc_clone(pve, "pve1", vmid, newid=next(_vmids), target="pve3")
        assert "CT uses local storage" in local.value.detail


async def test_template_conversion_finds_and_follows_its_task(
    simulator: SimulatorInfo, made: list[int]
) -> None:
    vmid = _new(made)
    await _create(simulator, "pve3", vmid, hostname="tpl-src")
    async with make_client(simulator, root_token(simulator)) as pve:
        before = await read_source(pve, "pve3", vmid)
        assert not before.template and before.rootfs_storage == "local-lvm"
        assert [s.type for s in before.volume_storages] == ["lvmthin"]
        upid = await lxc_template(pve, "pve3", vmid)
        parsed = Upid.parse(upid)
        assert (parsed.type, parsed.id) == ("vztemplate", str(vmid))
        await pve.wait_for_task("pve3", upid, timeout=30)
        after = await read_source(pve, "pve3", vmid)
        assert after.template and not after.running
        with pytest.raises(ProxmoxError) as again:
            await lxc_template(pve, "pve3", vmid)
        assert "can't convert a template to a template" in again.value.detail
        # a linked clone of the template, on the template's (lvmthin) storage
        newid = _new(made)
        upid = await lxc_clone(pve, "pve3", vmid, newid=newid, hostname="linked-a")
        await pve.wait_for_task("pve3", upid, timeout=30)
        config = await pve.lxc_config("pve3", newid)
        assert f"base-{vmid}-disk-0/vm-{newid}-disk-0" in (config.rootfs or "")


async def test_a_template_cannot_start(simulator: SimulatorInfo, made: list[int]) -> None:
    vmid = _new(made)
    await _create(simulator, "pve2", vmid)
    async with make_client(simulator, root_token(simulator)) as pve:
        await pve.wait_for_task("pve2", await lxc_template(pve, "pve2", vmid), timeout=30)
        upid = await pve.lxc_action("pve2", vmid, "start")
        with pytest.raises(TaskFailed):
            await pve.wait_for_task("pve2", upid, timeout=30)
