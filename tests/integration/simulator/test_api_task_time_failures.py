"""Checks Proxmox makes inside the worker task, not before it, and the order of create's
checks (pve-container src/PVE/API2/LXC/Status.pm, src/PVE/API2/LXC.pm)."""

from __future__ import annotations

import itertools
import time

import httpx
import pytest

from tests.support.simulator import SimulatorInfo

_vmids = itertools.count(760)


@pytest.fixture
def vmid() -> int:
    return next(_vmids)


def _lock(api: httpx.Client, node: str, vmid: int, lock: str | None) -> None:
    data = {"lock": lock} if lock else {"delete": "lock"}
    response = api.put(f"/nodes/{node}/lxc/{vmid}/config", data=data)
    assert response.status_code == 200, response.text


def _failed_task(simulator: SimulatorInfo, api: httpx.Client, response: httpx.Response) -> dict:
    """The request got a UPID (not an error); the task's final status and log."""
    assert response.status_code == 200, response.text
    upid = response.json()["data"]
    assert upid.startswith("UPID:")
    status = simulator.wait_task(api, upid)
    log = [
        line["t"]
        for line in api.get(f"/nodes/{upid.split(':')[1]}/tasks/{upid}/log").json()["data"]
    ]
    return {"exitstatus": status["exitstatus"], "log": log}


def _status(api: httpx.Client, node: str, vmid: int) -> str:
    return api.get(f"/nodes/{node}/lxc/{vmid}/status/current").json()["data"]["status"]


def test_a_locked_container_fails_in_its_start_and_stop_tasks(
    simulator: SimulatorInfo, api: httpx.Client, vmid: int
) -> None:
    simulator.create_container(api, "pve2", vmid)
    _lock(api, "pve2", vmid, "backup")
    started = _failed_task(simulator, api, api.post(f"/nodes/pve2/lxc/{vmid}/status/start"))
    assert started == {
        "exitstatus": "CT is locked (backup)",
        "log": ["TASK ERROR: CT is locked (backup)"],
    }
    assert _status(api, "pve2", vmid) == "stopped"
    _lock(api, "pve2", vmid, None)
    simulator.wait_task(api, api.post(f"/nodes/pve2/lxc/{vmid}/status/start").json()["data"])
    _lock(api, "pve2", vmid, "snapshot")
    for action in ("stop", "shutdown"):
        ended = _failed_task(simulator, api, api.post(f"/nodes/pve2/lxc/{vmid}/status/{action}"))
        assert ended["exitstatus"] == "CT is locked (snapshot)", action
    assert _status(api, "pve2", vmid) == "running"
    # vm_reboot checks no lock; its one synchronous check says "VM"
    rebooted = api.post(f"/nodes/pve2/lxc/{vmid}/status/reboot").json()["data"]
    assert simulator.wait_task(api, rebooted)["exitstatus"] == "OK"
    # a `mounted` lock does not stop start/stop
    _lock(api, "pve2", vmid, "mounted")
    stopped = api.post(f"/nodes/pve2/lxc/{vmid}/status/stop").json()["data"]
    assert simulator.wait_task(api, stopped)["exitstatus"] == "OK"
    _lock(api, "pve2", vmid, None)
    not_running = api.post(f"/nodes/pve2/lxc/{vmid}/status/reboot")
    assert not_running.status_code == 500
    assert not_running.json()["message"] == f"VM {vmid} not running\n"


def test_a_template_cannot_be_started_the_task_says_so(
    simulator: SimulatorInfo, api: httpx.Client, vmid: int
) -> None:
    simulator.create_container(api, "pve1", vmid)
    converted = api.post(f"/nodes/pve1/lxc/{vmid}/template")
    assert converted.status_code == 200 and converted.json() == {"data": None}
    deadline = time.monotonic() + 10
    while not api.get(f"/nodes/pve1/lxc/{vmid}/config").json()["data"].get("template"):
        assert time.monotonic() < deadline, "the template task did not end"
        time.sleep(0.05)
    config = api.get(f"/nodes/pve1/lxc/{vmid}/config").json()["data"]
    assert config["rootfs"].startswith(f"local-lvm:base-{vmid}-disk-0")
    again = api.post(f"/nodes/pve1/lxc/{vmid}/template")
    assert again.status_code == 500
    assert again.json()["message"] == "you can't convert a template to a template\n"
    _lock(api, "pve1", vmid, "backup")  # the template check comes first
    started = _failed_task(simulator, api, api.post(f"/nodes/pve1/lxc/{vmid}/status/start"))
    assert started["exitstatus"] == "you can't start a CT if it's a template"
    assert started["log"][-1] == "TASK ERROR: you can't start a CT if it's a template"
    assert _status(api, "pve1", vmid) == "stopped"
    _lock(api, "pve1", vmid, None)


def test_create_checks_the_vmid_before_the_storage(
    simulator: SimulatorInfo, api: httpx.Client, vmid: int
) -> None:
    simulator.create_container(api, "pve3", vmid)
    for storage in ("nope", "local"):  # missing; without container directories
        response = api.post(
            "/nodes/pve1/lxc",
            data={
                "vmid": vmid,
                "ostemplate": "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
                "rootfs": f"{storage}:4",
            },
        )
        assert response.status_code == 500, response.text
        assert response.json()["message"] == f"CT {vmid} already exists on node 'pve3'\n"
