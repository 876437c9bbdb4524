"""Failures Proxmox reports from inside a task (lock, template) and create's VMID check, as
the user sees them through the containers service and the client."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from ct_support import USER_A, sim_container

from lxc_manager.containers import run_action
from lxc_manager.containers.lifecycle import short_message
from lxc_manager.nodes import NodeView, client_for
from lxc_manager.proxmox import ProxmoxError
from tests.support.simulator import SimulatorInfo


def _set_lock(simulator: SimulatorInfo, node: str, vmid: int, lock: str | None) -> None:
    data = {"lock": lock} if lock else {"delete": "lock"}
    with simulator.client() as api:
        response = api.put(f"/nodes/{node}/lxc/{vmid}/config", data=data)
        assert response.status_code == 200, response.text


async def test_a_locked_container_fails_in_the_task_and_the_task_says_why(
    simulator: SimulatorInfo, lab: NodeView, own_ct: Callable[..., int]
) -> None:
    vmid = await asyncio.to_thread(own_ct)
    _set_lock(simulator, "pve1", vmid, "backup")
    try:
        result = await run_action(USER_A, lab.id, "pve1", vmid, "start")
    finally:
        _set_lock(simulator, "pve1", vmid, None)
    assert not result.ok
    assert result.upid and result.upid.startswith("UPID:pve1:") and ":vzstart:" in result.upid
    assert result.task_log == ("TASK ERROR: CT is locked (backup)",)
    assert result.message == "The task failed: CT is locked (backup)"
    assert sim_container(simulator, vmid)["status"] == "stopped"  # type: ignore[index]


async def test_a_template_is_not_started_and_the_task_says_why(
    simulator: SimulatorInfo, lab: NodeView, own_ct: Callable[..., int]
) -> None:
    vmid = await asyncio.to_thread(own_ct)
    with simulator.client() as api:
        assert api.post(f"/nodes/pve1/lxc/{vmid}/template").status_code == 200
        deadline = time.monotonic() + 10
        while not api.get(f"/nodes/pve1/lxc/{vmid}/config").json()["data"].get("template"):
            assert time.monotonic() < deadline, "the template task did not end"
            time.sleep(0.05)
    result = await run_action(USER_A, lab.id, "pve1", vmid, "start")
    assert not result.ok and result.upid
    assert result.message == "The task failed: you can't start a CT if it's a template"
    assert result.task_log[-1] == "TASK ERROR: you can't start a CT if it's a template"


async def test_create_of_a_taken_vmid_names_the_guest_and_its_node(
    simulator: SimulatorInfo, lab: NodeView, own_ct: Callable[..., int]
) -> None:
    vmid = await asyncio.to_thread(own_ct, node="pve2")
    client = client_for(USER_A, lab.id)
    async with client:
        with pytest.raises(ProxmoxError) as raised:
            await client.lxc_create(
                "pve1",
                {
                    "vmid": vmid,
                    "ostemplate": "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
                    "rootfs": "no-such-storage:4",
                },
            )
    assert short_message(raised.value) == f"CT {vmid} already exists on node 'pve2'"
