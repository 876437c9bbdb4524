"""HA resources in the simulator: `/cluster/ha/resources`, `hastart`/`hastop` tasks that only
queue the request (the CRM acts a few simulated seconds later), and destroy needing purge."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.support.simulator import SimProcess

TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"


@pytest.fixture
def sim(start_sim: Callable[[list[str]], SimProcess]) -> SimProcess:
    args = [
        "--port", "0", "--ssh-port", "0", "--nodes", "3", "--containers", "10",
        "--vms", "1", "--seed", "9", "--task-seconds", "0.05", "--log-level", "WARNING",
        "--token", "root@pam!ci:ci-secret",
        "--user", "audit@pve:audit-pass", "--auditor", "audit@pve",
        "--token", "audit@pve!ro:ro-secret:privsep=PVEAuditor",
    ]  # fmt: skip
    return start_sim(args)


@pytest.fixture
def api(sim: SimProcess) -> Iterator[httpx.Client]:
    with _client(sim, "root@pam!ci", "ci-secret") as client:
        yield client


def _client(sim: SimProcess, token: str, secret: str) -> httpx.Client:
    return httpx.Client(
        base_url=sim.ready["api"] + "/api2/json",
        verify=False,
        timeout=10,
        headers={"Authorization": f"PVEAPIToken={token}={secret}"},
    )


def _wait(api: httpx.Client, upid: str) -> dict[str, Any]:
    node = upid.split(":")[1]
    deadline = time.monotonic() + 10
    while True:
        status = api.get(f"/nodes/{node}/tasks/{upid}/status").json()["data"]
        if status["status"] == "stopped":
            return dict(status)
        assert time.monotonic() < deadline
        time.sleep(0.02)


def _status(api: httpx.Client, vmid: int) -> dict[str, Any]:
    return dict(api.get(f"/nodes/pve1/lxc/{vmid}/status/current").json()["data"])


def _advance(sim: SimProcess, seconds: float) -> None:
    httpx.post(f"{sim.ready['admin']}/_sim/advance", json={"seconds": seconds}).raise_for_status()


def _log(api: httpx.Client, upid: str) -> list[str]:
    lines = api.get(f"/nodes/pve1/tasks/{upid}/log").json()["data"]
    return [line["t"] for line in lines]


def _new_ct(api: httpx.Client, vmid: int) -> None:
    created = api.post(
        "/nodes/pve1/lxc",
        data={"vmid": vmid, "ostemplate": TEMPLATE, "rootfs": "local-lvm:4", "unprivileged": 1},
    )
    assert _wait(api, created.json()["data"])["exitstatus"] == "OK"


def test_seeded_resources_show_everywhere(api: httpx.Client) -> None:
    resources = api.get("/cluster/ha/resources").json()["data"]
    assert len(resources) == 2
    for resource in resources:
        assert resource["type"] == "ct" and resource["sid"].startswith("ct:")
        assert resource["state"] in ("started", "stopped")
        assert {"digest", "max_restart", "max_relocate"} <= resource.keys()
    managed = {int(r["sid"][3:]): r["state"] for r in resources}
    guests = api.get("/cluster/resources", params={"type": "vm"}).json()["data"]
    for guest in guests:
        assert ("hastate" in guest) is (guest["vmid"] in managed)
        if guest["vmid"] in managed:
            assert guest["hastate"] == managed[guest["vmid"]]
    vmid = next(iter(managed))
    node = next(g["node"] for g in guests if g["vmid"] == vmid)
    ha = api.get(f"/nodes/{node}/lxc/{vmid}/status/current").json()["data"]["ha"]
    assert ha == {"managed": 1, "state": managed[vmid]}
    one = api.get(f"/cluster/ha/resources/{vmid}").json()["data"]
    assert one["sid"] == f"ct:{vmid}"


def test_start_and_stop_only_queue_a_request(sim: SimProcess, api: httpx.Client) -> None:
    vmid = 4242
    _new_ct(api, vmid)
    assert _status(api, vmid)["ha"] == {"managed": 0}
    added = api.post("/cluster/ha/resources", data={"sid": f"ct:{vmid}", "state": "stopped"})
    assert added.status_code == 200 and added.json() == {"data": None}
    again = api.post("/cluster/ha/resources", data={"sid": str(vmid)})
    assert again.status_code == 500 and "already defined" in again.json()["message"]

    upid = api.post(f"/nodes/pve1/lxc/{vmid}/status/start").json()["data"]
    assert upid.split(":")[5:7] == ["hastart", str(vmid)]
    assert _wait(api, upid)["exitstatus"] == "OK"
    assert _log(api, upid)[0] == f"Requesting HA start for CT {vmid}"
    after = _status(api, vmid)
    assert after["status"] == "stopped"  # queued, not done
    assert after["ha"] == {"managed": 1, "state": "starting"}
    _advance(sim, 5)  # the CRM's round: the LRM starts it
    assert _status(api, vmid)["status"] == "running"
    assert _status(api, vmid)["ha"]["state"] == "started"

    refused = api.post(f"/nodes/pve1/lxc/{vmid}/status/stop", data={"overrule-shutdown": 1})
    assert refused.status_code == 400
    assert refused.json()["errors"] == {"overrule-shutdown": "Not applicable for HA resources."}
    upid = api.post(f"/nodes/pve1/lxc/{vmid}/status/shutdown").json()["data"]
    assert upid.split(":")[5] == "hastop"
    assert _wait(api, upid)["exitstatus"] == "OK"
    assert _log(api, upid)[0] == f"Requesting HA stop for CT {vmid}"
    assert _status(api, vmid)["status"] == "running"
    deadline = time.monotonic() + 10  # without `advance`: a few real seconds
    while _status(api, vmid)["status"] != "stopped":
        assert time.monotonic() < deadline, "the CRM never stopped it"
        time.sleep(0.1)
    tasks = api.get("/nodes/pve1/tasks", params={"vmid": vmid, "limit": 10}).json()["data"]
    assert {t["type"] for t in tasks} >= {"hastart", "vzstart", "hastop", "vzstop"}
    assert next(t for t in tasks if t["type"] == "vzstop")["user"] == "root@pam"


def test_destroy_needs_purge_and_purge_removes_the_resource(api: httpx.Client) -> None:
    vmid = 4343
    _new_ct(api, vmid)
    assert api.post("/cluster/ha/resources", data={"sid": str(vmid)}).status_code == 200
    refused = api.delete(f"/nodes/pve1/lxc/{vmid}")
    text = f"unable to remove CT {vmid} - used in HA resources and purge parameter not set."
    assert (refused.status_code, refused.json()["message"]) == (500, text + "\n")
    upid = api.delete(f"/nodes/pve1/lxc/{vmid}", params={"purge": 1}).json()["data"]
    assert _wait(api, upid)["exitstatus"] == "OK"
    assert f"NOTE: removed CT {vmid} from HA resource configuration." in _log(api, upid)
    sids = [r["sid"] for r in api.get("/cluster/ha/resources").json()["data"]]
    assert f"ct:{vmid}" not in sids
    gone = api.delete(f"/cluster/ha/resources/ct:{vmid}")
    assert gone.json()["message"] == f"cannot delete service 'ct:{vmid}', not HA managed!\n"


def test_ignored_resources_are_not_managed_and_changes_need_sys_console(
    sim: SimProcess, api: httpx.Client
) -> None:
    vmid = 4444
    _new_ct(api, vmid)
    with _client(sim, "audit@pve!ro", "ro-secret") as auditor:
        assert auditor.get("/cluster/ha/resources").status_code == 200
        denied = auditor.post("/cluster/ha/resources", data={"sid": f"ct:{vmid}"})
        assert denied.status_code == 403
    api.post("/cluster/ha/resources", data={"sid": f"ct:{vmid}", "state": "ignored"})
    assert _status(api, vmid)["ha"] == {"managed": 0}
    upid = api.post(f"/nodes/pve1/lxc/{vmid}/status/start").json()["data"]
    assert upid.split(":")[5] == "vzstart"
    assert _wait(api, upid)["exitstatus"] == "OK"
    assert _status(api, vmid)["status"] == "running"
    assert api.delete(f"/cluster/ha/resources/{vmid}").status_code == 200
