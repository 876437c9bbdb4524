"""Container lifecycle through the simulator's API: tasks, VMID rules, config, snapshots."""

from __future__ import annotations

import itertools
import re
import time

import pytest

UPID = re.compile(
    r"^UPID:(?P<node>[a-zA-Z0-9-]+):(?P<pid>[0-9A-F]{8}):(?P<pstart>[0-9A-F]{8}):"
    r"(?P<start>[0-9A-F]{8}):(?P<type>[a-z]+):(?P<id>[^:]*):(?P<user>[^:]+):$"
)
_vmids = itertools.count(700)


@pytest.fixture
def vmid() -> int:
    return next(_vmids)


def _status(api, node: str, vmid: int) -> str:
    return api.get(f"/nodes/{node}/lxc/{vmid}/status/current").json()["data"]["status"]


def test_create_runs_as_a_task_with_a_real_upid(simulator, api, vmid) -> None:
    response = api.post(
        "/nodes/pve2/lxc",
        data={
            "vmid": vmid,
            "ostemplate": "local:vztmpl/alpine-3.20-default_20240908_amd64.tar.xz",
            "rootfs": "local-lvm:8",
            "hostname": "made-by-test",
            "memory": 1024,
            "cores": 2,
            "net0": "name=eth0,bridge=vmbr0,ip=10.10.9.9/16,gw=10.10.0.1",
            "unprivileged": 1,
            "password": "secret-pass",
            "ssh-public-keys": "ssh-ed25519 AAAA test",
        },
    )
    assert response.status_code == 200, response.text
    upid = response.json()["data"]
    match = UPID.match(upid)
    assert match, upid
    assert (match["node"], match["type"], match["id"], match["user"]) == (
        "pve2",
        "vzcreate",
        str(vmid),
        simulator.token_id,
    )
    assert abs(int(match["start"], 16) - time.time()) < 60
    running = api.get(f"/nodes/pve2/tasks/{upid}/status").json()["data"]
    assert running["status"] == "running" and "exitstatus" not in running
    assert running["pid"] == int(match["pid"], 16)
    locked = api.get(f"/nodes/pve2/lxc/{vmid}/config").json()["data"]
    assert locked["lock"] == "create"
    final = simulator.wait_task(api, upid)
    assert final["exitstatus"] == "OK"
    config = api.get(f"/nodes/pve2/lxc/{vmid}/config").json()["data"]
    assert "lock" not in config
    assert config["hostname"] == "made-by-test"
    assert config["memory"] == 1024 and config["cores"] == 2 and config["unprivileged"] == 1
    assert config["rootfs"] == f"local-lvm:vm-{vmid}-disk-0,size=8G"
    assert config["ostype"] == "alpine"
    assert re.search(r"hwaddr=([0-9A-F]{2}:){5}[0-9A-F]{2}", config["net0"])
    assert "password" not in config and re.fullmatch(r"[0-9a-f]{40}", config["digest"])
    assert _status(api, "pve2", vmid) == "stopped"
    log = api.get(f"/nodes/pve2/tasks/{upid}/log").json()
    assert log["data"][-1]["t"] == "TASK OK"
    assert [line["n"] for line in log["data"]] == list(range(1, len(log["data"]) + 1))
    assert log["total"] == len(log["data"])


def test_create_with_start_and_dhcp_address_on_interfaces(simulator, api, vmid) -> None:
    final = simulator.create_container(api, "pve1", vmid, start=1)
    assert final["exitstatus"] == "OK"
    assert _status(api, "pve1", vmid) == "running"
    interfaces = api.get(f"/nodes/pve1/lxc/{vmid}/interfaces").json()["data"]
    eth0 = next(i for i in interfaces if i["name"] == "eth0")
    assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+(/\d+)?", eth0["inet"]), eth0
    assert "hwaddr" in eth0


def test_vmids_are_unique_across_the_cluster_including_vms(simulator, api) -> None:
    resources = api.get("/cluster/resources", params={"type": "vm"}).json()["data"]
    ct = next(r for r in resources if r["type"] == "lxc")
    vm = next(r for r in resources if r["type"] == "qemu")
    other_node = next(n for n in simulator.nodes if n != ct["node"])
    for guest, kind in ((ct, "CT"), (vm, "VM")):
        response = api.post(
            f"/nodes/{other_node}/lxc",
            data={
                "vmid": guest["vmid"],
                "rootfs": "local-lvm:4",
                "ostemplate": "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
            },
        )
        assert response.status_code == 500
        assert response.json()["message"] == (
            f"{kind} {guest['vmid']} already exists on node '{guest['node']}'\n"
        )
    assert (
        api.post(
            "/nodes/pve1/lxc",
            data={"vmid": 99, "ostemplate": "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"},
        ).status_code
        == 400
    )


def test_create_errors_as_proxmox_reports_them(api, vmid) -> None:
    missing_template = api.post(
        "/nodes/pve1/lxc",
        data={"vmid": vmid, "ostemplate": "local:vztmpl/nope.tar.zst", "rootfs": "local-lvm:4"},
    )
    assert missing_template.status_code == 500
    assert "does not exist" in missing_template.json()["message"]
    wrong_storage = api.post(
        "/nodes/pve1/lxc",
        data={"vmid": vmid, "ostemplate": "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"},
    )
    assert wrong_storage.status_code == 500
    assert wrong_storage.json()["message"] == (
        "storage 'local' does not support container directories\n"
    )
    assert api.get(f"/nodes/pve1/lxc/{vmid}/config").status_code == 500


def test_start_stop_shutdown_reboot_and_their_errors(simulator, api, vmid) -> None:
    simulator.create_container(api, "pve3", vmid)
    base = f"/nodes/pve3/lxc/{vmid}/status"
    stopped = api.post(f"{base}/stop")
    assert stopped.status_code == 500
    assert stopped.json()["message"] == f"CT {vmid} not running\n"
    assert simulator.wait_task(api, api.post(f"{base}/start").json()["data"])["exitstatus"] == "OK"
    current = api.get(f"{base}/current").json()["data"]
    assert current["status"] == "running" and current["ha"] == {"managed": 0}
    again = api.post(f"{base}/start")
    assert again.status_code == 500
    assert again.json()["message"] == f"CT {vmid} already running\n"
    reboot = api.post(f"{base}/reboot").json()["data"]
    assert UPID.match(reboot)["type"] == "vzreboot"
    assert simulator.wait_task(api, reboot)["exitstatus"] == "OK"
    assert _status(api, "pve3", vmid) == "running"
    shutdown = api.post(f"{base}/shutdown", data={"timeout": 30}).json()["data"]
    assert simulator.wait_task(api, shutdown)["exitstatus"] == "OK"
    assert _status(api, "pve3", vmid) == "stopped"


def test_container_on_another_node_is_not_found(simulator, api, vmid) -> None:
    simulator.create_container(api, "pve1", vmid)
    response = api.get(f"/nodes/pve2/lxc/{vmid}/status/current")
    assert response.status_code == 500
    assert response.json()["message"] == (
        f"Configuration file 'nodes/pve2/lxc/{vmid}.conf' does not exist\n"
    )


def test_delete_running_needs_force_then_purges(simulator, api, vmid) -> None:
    simulator.create_container(api, "pve1", vmid, start=1)
    refused = api.delete(f"/nodes/pve1/lxc/{vmid}")
    assert refused.status_code == 500
    assert refused.json()["message"] == f"unable to destroy CT {vmid} - container is running\n"
    upid = api.delete(
        f"/nodes/pve1/lxc/{vmid}", params={"force": 1, "purge": 1, "destroy-unreferenced-disks": 1}
    ).json()["data"]
    assert UPID.match(upid)["type"] == "vzdestroy"
    assert simulator.wait_task(api, upid)["exitstatus"] == "OK"
    assert api.get(f"/nodes/pve1/lxc/{vmid}/config").status_code == 500
    vmids = {r["vmid"] for r in api.get("/cluster/resources", params={"type": "vm"}).json()["data"]}
    assert vmid not in vmids
    assert api.get("/cluster/nextid", params={"vmid": vmid}).status_code == 200


def test_config_update_digest_and_delete(simulator, api, vmid) -> None:
    simulator.create_container(api, "pve2", vmid, description="before")
    path = f"/nodes/pve2/lxc/{vmid}/config"
    config = api.get(path).json()["data"]
    ok = api.put(
        path,
        data={"memory": 2048, "onboot": 1, "delete": "description", "digest": config["digest"]},
    )
    assert ok.status_code == 200 and ok.json() == {"data": None}
    updated = api.get(path).json()["data"]
    assert updated["memory"] == 2048 and updated["onboot"] == 1
    assert "description" not in updated and updated["digest"] != config["digest"]
    stale = api.put(path, data={"memory": 512, "digest": config["digest"]})
    assert stale.status_code == 500
    assert "detected modified configuration" in stale.json()["message"]
    bad = api.put(path, data={"cores": 0})
    assert bad.status_code == 400 and "cores" in bad.json()["errors"]


def test_rrddata_series_for_each_timeframe(simulator, api) -> None:
    resources = api.get("/cluster/resources", params={"type": "vm"}).json()["data"]
    ct = next(r for r in resources if r["type"] == "lxc" and r["status"] == "running")
    path = f"/nodes/{ct['node']}/lxc/{ct['vmid']}/rrddata"
    for timeframe, step in (("hour", 60), ("day", 1800), ("week", 10800)):
        points = api.get(path, params={"timeframe": timeframe}).json()["data"]
        assert len(points) == 70
        times = [p["time"] for p in points]
        assert all(b - a == step for a, b in itertools.pairwise(times))
        assert abs(times[-1] - time.time()) <= step + 5
        assert all(0 <= p["cpu"] <= 1 and 0 <= p["mem"] <= p["maxmem"] for p in points)
        assert len({p["cpu"] for p in points}) > 1
    peak = api.get(path, params={"timeframe": "hour", "cf": "MAX"})
    assert peak.status_code == 200
    assert api.get(path, params={"timeframe": "decade"}).status_code == 400
    assert api.get(path).json()["errors"] == {
        "timeframe": "property is missing and it is not optional"
    }


def test_interfaces_of_a_stopped_container_are_null(simulator, api, vmid) -> None:
    simulator.create_container(api, "pve2", vmid)
    response = api.get(f"/nodes/pve2/lxc/{vmid}/interfaces")
    assert response.status_code == 200 and response.json() == {"data": None}


def test_snapshots_create_list_rollback_delete(simulator, api, vmid) -> None:
    simulator.create_container(api, "pve1", vmid, memory=512)
    base = f"/nodes/pve1/lxc/{vmid}"
    upid = api.post(
        f"{base}/snapshot", data={"snapname": "before_upgrade", "description": "safe point"}
    ).json()["data"]
    assert UPID.match(upid)["type"] == "vzsnapshot"
    assert simulator.wait_task(api, upid)["exitstatus"] == "OK"
    listed = api.get(f"{base}/snapshot").json()["data"]
    names = [s["name"] for s in listed]
    assert names == ["before_upgrade", "current"]
    assert listed[0]["description"] == "safe point" and listed[0]["snaptime"] > 0
    assert listed[1]["parent"] == "before_upgrade" and listed[1]["running"] == 0
    duplicate = api.post(f"{base}/snapshot", data={"snapname": "before_upgrade"})
    assert duplicate.status_code == 500
    assert api.post(f"{base}/snapshot", data={"snapname": "1bad"}).status_code == 400
    api.put(f"{base}/config", data={"memory": 4096})
    rollback = api.post(f"{base}/snapshot/before_upgrade/rollback", data={"start": 1})
    assert simulator.wait_task(api, rollback.json()["data"])["exitstatus"] == "OK"
    assert api.get(f"{base}/config").json()["data"]["memory"] == 512
    assert _status(api, "pve1", vmid) == "running"
    assert api.get(f"{base}/snapshot/before_upgrade").json()["data"] == [
        {"cmd": "rollback"},
        {"cmd": "config"},
    ]
    delete = api.delete(f"{base}/snapshot/before_upgrade").json()["data"]
    assert simulator.wait_task(api, delete)["exitstatus"] == "OK"
    assert [s["name"] for s in api.get(f"{base}/snapshot").json()["data"]] == ["current"]
    gone = api.delete(f"{base}/snapshot/before_upgrade")
    assert gone.status_code == 500
    assert gone.json()["message"] == "snapshot 'before_upgrade' does not exist\n"


def test_task_list_filters_and_ownership(simulator, api, vmid) -> None:
    simulator.create_container(api, "pve3", vmid)
    start = api.post(f"/nodes/pve3/lxc/{vmid}/status/start").json()["data"]
    active = api.get("/nodes/pve3/tasks", params={"source": "active"}).json()["data"]
    assert start in {t["upid"] for t in active}
    simulator.wait_task(api, start)
    archive = api.get("/nodes/pve3/tasks", params={"vmid": vmid}).json()
    assert archive["total"] == 2
    assert [t["type"] for t in archive["data"]] == ["vzstart", "vzcreate"]
    assert all(t["status"] == "OK" and t["endtime"] >= t["starttime"] for t in archive["data"])
    only_start = api.get("/nodes/pve3/tasks", params={"vmid": vmid, "typefilter": "vzstart"})
    assert [t["upid"] for t in only_start.json()["data"]] == [start]
    limited = api.get("/nodes/pve3/tasks", params={"limit": 1}).json()["data"]
    assert len(limited) == 1
    wrong_node = api.get(f"/nodes/pve1/tasks/{start}/status")  # Tasks.pm: raise_param_exc
    assert wrong_node.status_code == 400
    assert wrong_node.json()["errors"] == {"upid": "no such task"}
    garbage = api.get("/nodes/pve3/tasks/not-a-upid/status")
    assert garbage.status_code == 400 and "upid" in garbage.json()["errors"]


def test_task_of_another_user_needs_sys_audit(simulator, api, vmid) -> None:
    simulator.create_container(api, "pve2", vmid)
    upid = api.post(f"/nodes/pve2/lxc/{vmid}/status/start").json()["data"]
    with simulator.client(simulator.vmadmin_token_id, simulator.vmadmin_token_secret) as vma:
        assert vma.get(f"/nodes/pve2/tasks/{upid}/status").status_code == 403
        assert upid not in {t["upid"] for t in vma.get("/nodes/pve2/tasks").json()["data"]}
    simulator.wait_task(api, upid)


def test_create_by_vmadmin_token_needs_storage_rights(simulator, vmid) -> None:
    with simulator.client(simulator.vmadmin_token_id, simulator.vmadmin_token_secret) as vma:
        response = vma.post(
            "/nodes/pve1/lxc",
            data={
                "vmid": vmid,
                "rootfs": "local-lvm:4",
                "unprivileged": 1,
                "ostemplate": "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
            },
        )
    assert response.status_code == 403
    assert response.json()["message"] == (
        "Permission check failed (/storage/local-lvm, Datastore.AllocateSpace)\n"
    )
