"""Monitoring details (issue 13 item 9), as Proxmox VE answers them: RRD gaps and the 500
for a container created moments ago, `disk` 0 while stopped, the 5-minute status cache of
an offline node's guests, 400 `errors.upid` for a missing task, `user`/`tokenid` apart."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from lxc_manager.containers.detail import get_history
from lxc_manager.containers.lifecycle import task_log
from lxc_manager.containers.listing import list_containers
from lxc_manager.nodes import NodeView, client_for
from lxc_manager.pages.components.format import disk_text
from lxc_manager.proxmox import NotFound
from tests.integration.containers.ct_support import USER_A
from tests.support.simulator import SimulatorInfo

MISSING_UPID = "UPID:pve1:0000ABCD:0001E240:6654A1B2:vzstart:95999:root@pam!ci:"


async def test_new_container_history_is_no_data_yet_then_gaps(
    reset_faults: SimulatorInfo, lab: NodeView, own_ct: Callable[..., int]
) -> None:
    vmid = await asyncio.to_thread(own_ct, start=True)
    with reset_faults.client() as api:
        fresh = api.get(f"/nodes/pve1/lxc/{vmid}/rrddata", params={"timeframe": "hour"})
        # the text is in the reason phrase on every release, in `message` from 8.4 on
        assert fresh.status_code == 500 and fresh.reason_phrase.startswith("RRD error: ")
    assert await get_history(USER_A, lab.id, "pve1", vmid, "hour") == []

    reset_faults.admin_call("POST", "/_sim/advance", {"seconds": 120})
    points = await get_history(USER_A, lab.id, "pve1", vmid, "hour")
    assert len(points) == 70
    gaps = [p for p in points if p.cpu_pct is None]
    assert gaps and all(p.mem_mb is None and p.netin_kbs is None for p in gaps)
    assert points[-1].mem_mb and points[-1].mem_mb > 0
    assert max(p.time for p in gaps) < min(p.time for p in points if p.cpu_pct is not None)


async def test_a_stopped_container_reports_disk_zero(
    simulator: SimulatorInfo, own_ct: Callable[..., int]
) -> None:
    vmid = await asyncio.to_thread(own_ct, start=False)
    with simulator.client() as api:
        current = api.get(f"/nodes/pve1/lxc/{vmid}/status/current").json()["data"]
        listed = api.get("/cluster/resources", params={"type": "vm"}).json()["data"]
    entry = next(e for e in listed if e["vmid"] == vmid)
    assert current["disk"] == 0 and entry["disk"] == 0 and entry["maxdisk"] > 0
    assert disk_text(0, entry["maxdisk"], running=False) == "— / 4.0 GiB"


async def test_offline_node_guests_keep_their_last_status_for_five_minutes(
    reset_faults: SimulatorInfo, lab: NodeView
) -> None:
    sim = reset_faults
    with sim.client() as api:
        before = {
            e["vmid"]: e["status"]
            for e in api.get("/cluster/resources", params={"type": "vm"}).json()["data"]
            if e["node"] == "pve2"
        }
        sim.admin_call("POST", "/_sim/faults", {"node": "pve2", "online": False})
        cached = {
            e["vmid"]: e["status"]
            for e in api.get("/cluster/resources").json()["data"]
            if e.get("node") == "pve2" and e["type"] in ("lxc", "qemu")
        }
        nodes = api.get("/cluster/resources", params={"type": "node"}).json()["data"]
    assert cached == before and "running" in cached.values()
    assert next(n for n in nodes if n["node"] == "pve2")["status"] == "offline"
    # the app does not show the cached status as current
    listing = await list_containers(USER_A)
    on_pve2 = [r for r in listing.containers if r.pve_node == "pve2"]
    assert on_pve2 and {r.status for r in on_pve2} == {"unknown"}

    sim.admin_call("POST", "/_sim/advance", {"seconds": 301})
    with sim.client() as api:
        expired = [
            e
            for e in api.get("/cluster/resources", params={"type": "vm"}).json()["data"]
            if e["node"] == "pve2"
        ]
    assert expired and {e["status"] for e in expired} == {"unknown"}


async def test_a_missing_task_is_400_upid_and_not_found_in_the_app(
    simulator: SimulatorInfo, lab: NodeView
) -> None:
    with simulator.client() as api:
        answer = api.get(f"/nodes/pve1/tasks/{MISSING_UPID}/status")
    assert answer.status_code == 400
    assert answer.json()["errors"] == {"upid": "no such task"}
    with pytest.raises(NotFound):
        await task_log(USER_A, lab.id, "pve1", MISSING_UPID)


async def test_task_status_splits_user_and_tokenid(
    simulator: SimulatorInfo, lab: NodeView, own_ct: Callable[..., int]
) -> None:
    vmid = await asyncio.to_thread(own_ct, start=False)
    client = await asyncio.to_thread(client_for, USER_A, lab.id)
    async with client:
        upid = await client.post(f"/nodes/pve1/lxc/{vmid}/status/start")
        status = await client.task_status("pve1", upid)
    user, _, tokenid = simulator.token_id.partition("!")
    assert (status.user, status.tokenid) == (user, tokenid)
    assert status.started_by == simulator.token_id
    with simulator.client() as api:
        simulator.wait_task(api, upid)
