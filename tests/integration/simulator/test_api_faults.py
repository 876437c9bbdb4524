"""Faults flipped at runtime through the admin API; every test restores them (reset)."""

from __future__ import annotations

import itertools
import socket
import time
from urllib.parse import urlsplit

import httpx
import pytest

_vmids = itertools.count(800)


def _set(sim, **faults) -> dict:
    return sim.admin_call("POST", "/_sim/faults", faults)


def test_admin_faults_roundtrip_and_reset(reset_faults) -> None:
    sim = reset_faults
    before = sim.admin_call("GET", "/_sim/faults")
    assert before["mode"] == "normal" and before["latency_ms"] == 0
    assert before["nodes"] == {"pve1": True, "pve2": True, "pve3": True}
    after = _set(sim, ssh_disconnect_next=2, ssh_slow_output_ms=25, latency_ms=1)
    assert after["ssh_disconnect_next"] == 2 and after["ssh_slow_output_ms"] == 25
    assert sim.reset()["ssh_disconnect_next"] == 0


def test_admin_rejects_bad_fault_values(reset_faults) -> None:
    response = httpx.post(
        f"{reset_faults.admin}/_sim/faults", json={"latency_ms": -1, "mode": "sideways", "nope": 1}
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"latency_ms", "mode", "nope"}
    assert httpx.post(f"{reset_faults.admin}/_sim/faults", content=b"[1]").status_code == 400
    assert httpx.get(f"{reset_faults.admin}/_sim/nothing").status_code == 404
    assert httpx.get(f"{reset_faults.admin}/_sim/faults", params={"endpoint": 7}).status_code == 404


def test_admin_api_is_also_on_the_https_port(reset_faults) -> None:
    with httpx.Client(base_url=reset_faults.api, verify=False) as client:
        response = client.get("/_sim/faults")
        state = client.get("/_sim/state").json()["data"]
    assert response.status_code == 200 and response.json()["data"]["mode"] == "normal"
    assert state["name"] == reset_faults.cluster
    assert len(state["containers"]) >= 12


def test_latency_and_jitter(reset_faults, api) -> None:
    _set(reset_faults, latency_ms=150, jitter_ms=50)
    started = time.monotonic()
    assert api.get("/version").status_code == 200
    elapsed = time.monotonic() - started
    assert 0.15 <= elapsed < 1.5


def test_error_rate_one_fails_every_request(reset_faults, api) -> None:
    _set(reset_faults, error_rate=1.0)
    response = api.get("/version")
    assert response.status_code == 500
    assert response.json()["data"] is None and "simulated" in response.json()["message"]
    _set(reset_faults, error_rate=0.0)
    assert api.get("/version").status_code == 200


def test_offline_node_answers_595_and_the_rest_keeps_working(reset_faults, api) -> None:
    _set(reset_faults, node="pve2", online=False)
    dead = api.get("/nodes/pve2/status")
    assert dead.status_code == 595
    assert api.get("/nodes/pve2/lxc").status_code == 595
    assert api.get("/nodes/pve1/status").status_code == 200
    status = {e["name"]: e for e in api.get("/cluster/status").json()["data"]}
    assert status["pve2"]["online"] == 0 and status["pve1"]["online"] == 1
    assert status[reset_faults.cluster]["quorate"] == 1
    nodes = {n["node"]: n for n in api.get("/nodes").json()["data"]}
    assert nodes["pve2"]["status"] == "offline" and "cpu" not in nodes["pve2"]

    def pve2_guests() -> list[dict]:
        answer = api.get("/cluster/resources", params={"type": "vm"}).json()["data"]
        return [r for r in answer if r["node"] == "pve2"]

    # the status cache keeps their last status for 5 minutes (pmxcfs status.c)
    guests = pve2_guests()
    assert guests and all(g["status"] in ("running", "stopped") for g in guests)
    reset_faults.admin_call("POST", "/_sim/advance", {"seconds": 301})
    guests = pve2_guests()
    assert guests and all(g["status"] == "unknown" for g in guests)
    _set(reset_faults, node="pve3", online=False)
    status = {e["name"]: e for e in api.get("/cluster/status").json()["data"]}
    assert status[reset_faults.cluster]["quorate"] == 0
    reset_faults.reset()
    assert api.get("/nodes/pve2/status").status_code == 200


def test_failing_tasks_for_the_next_n_tasks(reset_faults, api) -> None:
    sim = reset_faults
    vmid = next(_vmids)
    sim.create_container(api, "pve1", vmid)
    _set(sim, fail_tasks=1, fail_message=f"startup for container '{vmid}' failed")
    failed = sim.wait_task(api, api.post(f"/nodes/pve1/lxc/{vmid}/status/start").json()["data"])
    assert failed["exitstatus"] == f"startup for container '{vmid}' failed"
    current = api.get(f"/nodes/pve1/lxc/{vmid}/status/current").json()["data"]
    assert current["status"] == "stopped"
    log = api.get(f"/nodes/pve1/tasks/{failed['upid']}/log").json()["data"]
    assert log[-1]["t"] == f"TASK ERROR: startup for container '{vmid}' failed"
    errors = api.get("/nodes/pve1/tasks", params={"errors": 1, "vmid": vmid}).json()["data"]
    assert [t["upid"] for t in errors] == [failed["upid"]]
    ok = sim.wait_task(api, api.post(f"/nodes/pve1/lxc/{vmid}/status/start").json()["data"])
    assert ok["exitstatus"] == "OK"


def test_failed_create_leaves_no_container(reset_faults, api) -> None:
    vmid = next(_vmids)
    _set(reset_faults, fail_tasks=1)
    final = reset_faults.create_container(api, "pve2", vmid)
    assert final["exitstatus"] != "OK"
    assert api.get(f"/nodes/pve2/lxc/{vmid}/config").status_code == 500
    assert api.get("/cluster/nextid", params={"vmid": vmid}).status_code == 200


def test_advance_moves_the_clock_and_finishes_tasks(reset_faults, api) -> None:
    sim = reset_faults
    vmid = next(_vmids)
    sim.create_container(api, "pve3", vmid)
    sim.admin_call("POST", "/_sim/advance", {"seconds": 15})  # past the RRD's first sample
    before = api.get(f"/nodes/pve3/lxc/{vmid}/rrddata", params={"timeframe": "hour"}).json()[
        "data"
    ][-1]["time"]
    moved = sim.admin_call("POST", "/_sim/advance", {"seconds": 3600})
    assert moved["offset"] == 3615
    after = api.get(f"/nodes/pve3/lxc/{vmid}/rrddata", params={"timeframe": "hour"}).json()["data"][
        -1
    ]["time"]
    assert after - before >= 3540
    bad = httpx.post(f"{sim.admin}/_sim/advance", json={"seconds": "soon"})
    assert bad.status_code == 400


def test_hang_mode_accepts_but_never_answers(reset_faults) -> None:
    sim = reset_faults
    _set(sim, mode="hang")
    with sim.client(timeout=httpx.Timeout(0.5)) as client, pytest.raises(httpx.TimeoutException):
        client.get("/version")
    sim.reset()
    with sim.client() as client:
        assert client.get("/version").status_code == 200


def test_refuse_mode_closes_the_port_until_reset(reset_faults) -> None:
    sim = reset_faults
    url = urlsplit(sim.api)
    _set(sim, mode="refuse")
    deadline = time.monotonic() + 3
    refused = False
    while time.monotonic() < deadline and not refused:
        try:
            socket.create_connection((url.hostname, url.port), timeout=1).close()
            time.sleep(0.05)
        except ConnectionRefusedError:
            refused = True
    assert refused
    with sim.client() as client, pytest.raises(httpx.ConnectError):
        client.get("/version")
    sim.reset()
    deadline = time.monotonic() + 3
    while True:
        try:
            with sim.client() as client:
                assert client.get("/version").status_code == 200
            break
        except httpx.ConnectError:
            assert time.monotonic() < deadline, "the port did not come back"
            time.sleep(0.05)


def test_reset_with_state_reseeds_the_cluster(reset_faults, api) -> None:
    sim = reset_faults
    seeded = {
        c["vmid"] for c in sim.admin_call("GET", "/_sim/state")["containers"] if c["vmid"] < 700
    }  # the tests create theirs from 700 up
    vmid = next(_vmids)
    sim.create_container(api, "pve1", vmid)
    assert vmid in {c["vmid"] for c in sim.admin_call("GET", "/_sim/state")["containers"]}
    sim.admin_call("POST", "/_sim/reset", {"state": True})
    state = sim.admin_call("GET", "/_sim/state")
    assert vmid not in {c["vmid"] for c in state["containers"]}
    assert state["tasks"] == 0
    assert len(state["containers"]) == 12
    assert {c["vmid"] for c in state["containers"]} == seeded


def test_tasks_still_finish_when_the_clock_goes_back(reset_faults, api) -> None:
    sim = reset_faults
    vmid = next(_vmids)
    sim.create_container(api, "pve2", vmid)
    sim.admin_call("POST", "/_sim/advance", {"seconds": 7200})
    upid = api.post(f"/nodes/pve2/lxc/{vmid}/status/start").json()["data"]
    sim.reset()
    final = sim.wait_task(api, upid)
    assert final["exitstatus"] == "OK"
    status = api.get(f"/nodes/pve2/lxc/{vmid}/status/current").json()["data"]["status"]
    assert status == "running"
