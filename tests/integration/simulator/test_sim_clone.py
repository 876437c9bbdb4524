"""Clone and template conversion in the simulator over HTTPS, with Proxmox's refusals.

Followed source: pve-container src/PVE/API2/LXC.pm (`clone_vm`, `template`).
"""

from __future__ import annotations

import itertools
import time

import pytest

_vmids = itertools.count(5300)


@pytest.fixture
def vmid() -> int:
    return next(_vmids)


def _config(api, node: str, vmid: int) -> dict:
    response = api.get(f"/nodes/{node}/lxc/{vmid}/config")
    assert response.status_code == 200, response.text
    return response.json()["data"]


def _clone(api, node: str, vmid: int, **params):
    return api.post(f"/nodes/{node}/lxc/{vmid}/clone", data=params)


def _message(response) -> str:
    return response.json()["message"]


def test_full_clone_of_a_stopped_ct(simulator, api, vmid) -> None:
    simulator.create_container(api, "pve1", vmid, hostname="cl-src", memory=768)
    newid = next(_vmids)
    response = _clone(api, "pve1", vmid, newid=newid, hostname="cl-copy")
    assert response.status_code == 200, response.text
    upid = response.json()["data"]
    assert upid.split(":")[5:7] == ["vzclone", str(vmid)]
    assert _config(api, "pve1", vmid)["lock"] == "disk"
    assert _config(api, "pve1", newid)["lock"] == "create"
    busy = api.post(f"/nodes/pve1/lxc/{vmid}/template")
    assert _message(busy) == "CT is locked (disk)\n"
    assert simulator.wait_task(api, upid)["exitstatus"] == "OK"
    source, copy = _config(api, "pve1", vmid), _config(api, "pve1", newid)
    assert "lock" not in source and "lock" not in copy
    assert copy["hostname"] == "cl-copy" and copy["memory"] == 768
    assert copy["rootfs"] == f"local-lvm:vm-{newid}-disk-0,size=4G"
    mac = [p for p in str(source["net0"]).split(",") if p.startswith("hwaddr=")]
    assert mac and mac[0] not in str(copy["net0"])
    log = api.get(f"/nodes/pve1/tasks/{upid}/log").json()["data"]
    assert log[0]["t"] == f"creating a clone of container {vmid} with ID {newid}"
    taken = _clone(api, "pve1", vmid, newid=newid)
    assert _message(taken) == f"CT {newid} already exists on node 'pve1'\n"


def test_running_ct_full_clone_needs_a_snapshot(simulator, api, vmid) -> None:
    simulator.create_container(api, "pve2", vmid, hostname="cl-run")
    upid = api.post(f"/nodes/pve2/lxc/{vmid}/status/start").json()["data"]
    simulator.wait_task(api, upid)
    response = _clone(api, "pve2", vmid, newid=next(_vmids))
    assert response.status_code == 500
    assert _message(response) == (
        "Full clone of a running container is only possible from a snapshot\n"
    )
    missing = _clone(api, "pve2", vmid, newid=next(_vmids), snapname="nope")
    assert _message(missing) == "snapshot 'nope' does not exist\n"
    upid = api.post(f"/nodes/pve2/lxc/{vmid}/snapshot", data={"snapname": "base"}).json()["data"]
    simulator.wait_task(api, upid)
    api.put(f"/nodes/pve2/lxc/{vmid}/config", data={"memory": 4096})
    newid = next(_vmids)
    upid = _clone(api, "pve2", vmid, newid=newid, snapname="base").json()["data"]
    assert simulator.wait_task(api, upid)["exitstatus"] == "OK"
    copy = _config(api, "pve2", newid)
    assert copy["memory"] == 512 and copy["hostname"] == "cl-run"  # the snapshot's state


def test_linked_clones_only_from_templates(simulator, api, vmid) -> None:
    simulator.create_container(api, "pve3", vmid, hostname="cl-tpl")
    linked = _clone(api, "pve3", vmid, newid=next(_vmids), full=0)
    assert _message(linked) == (
        f"Linked clone feature for 'local-lvm:vm-{vmid}-disk-0' is not available\n"
    )
    assert api.post(f"/nodes/pve3/lxc/{vmid}/template").status_code == 200
    for _ in range(100):
        if _config(api, "pve3", vmid).get("template") == 1:
            break
        time.sleep(0.05)
    config = _config(api, "pve3", vmid)
    assert config["template"] == 1 and config["rootfs"].startswith(f"local-lvm:base-{vmid}-")
    # listed as a template (pve-container src/PVE/LXC.pm vmstatus: template => 1)
    listed = api.get("/cluster/resources", params={"type": "vm"}).json()["data"]
    assert [r["template"] for r in listed if r.get("vmid") == vmid] == [1]
    refused = _clone(api, "pve3", vmid, newid=next(_vmids), storage="nas", full=0)
    assert _message(refused) == "parameter 'storage' not allowed for linked clones\n"
    newid = next(_vmids)
    upid = _clone(api, "pve3", vmid, newid=newid, hostname="cl-linked").json()["data"]
    assert simulator.wait_task(api, upid)["exitstatus"] == "OK"
    copy = _config(api, "pve3", newid)
    assert copy["rootfs"] == f"local-lvm:base-{vmid}-disk-0/vm-{newid}-disk-0,size=4G"
    assert "template" not in copy
    # ...and a container that is not one is listed as 0 (other tests' guests may be either)
    listed = api.get("/cluster/resources", params={"type": "vm"}).json()["data"]
    assert [r["template"] for r in listed if r.get("vmid") == newid] == [0]
    log = [e["t"] for e in api.get(f"/nodes/pve3/tasks/{upid}/log").json()["data"]]
    assert f"create linked clone of mount point rootfs (local-lvm:base-{vmid}-disk-0)" in log
    started = api.post(f"/nodes/pve3/lxc/{vmid}/status/start").json()["data"]
    assert simulator.wait_task(api, started)["exitstatus"] == (
        "you can't start a CT if it's a template"
    )
    again = api.post(f"/nodes/pve3/lxc/{vmid}/template")
    assert _message(again) == "you can't convert a template to a template\n"


def test_clone_to_another_node_needs_shared_storage(simulator, api, vmid) -> None:
    simulator.create_container(api, "pve1", vmid, hostname="cl-move")
    local = _clone(api, "pve1", vmid, newid=next(_vmids), target="pve2")
    assert _message(local) == "can't clone CT to node 'pve2' (CT uses local storage)\n"
    not_shared = _clone(api, "pve1", vmid, newid=next(_vmids), target="pve2", storage="local-lvm")
    assert _message(not_shared) == "can't clone to non-shared storage 'local-lvm'\n"
    nowhere = _clone(api, "pve1", vmid, newid=next(_vmids), target="pve9")
    assert _message(nowhere) == "no such cluster node 'pve9'\n"
    newid = next(_vmids)
    response = _clone(api, "pve1", vmid, newid=newid, target="pve2", storage="nas")
    assert response.status_code == 200, response.text
    assert simulator.wait_task(api, response.json()["data"])["exitstatus"] == "OK"
    copy = _config(api, "pve2", newid)
    assert copy["rootfs"] == f"nas:vm-{newid}-disk-0,size=4G"
    gone = api.get(f"/nodes/pve1/lxc/{newid}/config")
    assert gone.status_code == 500
    on_pve2 = [c["vmid"] for c in api.get("/nodes/pve2/lxc").json()["data"]]
    assert newid in on_pve2


def test_clone_permissions(simulator, api, vmid) -> None:
    simulator.create_container(api, "pve1", vmid)
    with simulator.client(simulator.privsep_token_id, simulator.privsep_token_secret) as ro:
        response = _clone(ro, "pve1", vmid, newid=next(_vmids))
        assert response.status_code == 403
        assert _message(response) == f"Permission check failed (/vms/{vmid}, VM.Clone)\n"
    with simulator.client(simulator.vmadmin_token_id, simulator.vmadmin_token_secret) as vm:
        response = _clone(vm, "pve1", vmid, newid=next(_vmids))
        assert response.status_code == 403
        assert _message(response) == (
            "Permission check failed (/storage/local-lvm, Datastore.AllocateSpace)\n"
        )


def test_template_conversion_refusals(simulator, api, vmid) -> None:
    simulator.create_container(api, "pve2", vmid)
    upid = api.post(f"/nodes/pve2/lxc/{vmid}/status/start").json()["data"]
    simulator.wait_task(api, upid)
    running = api.post(f"/nodes/pve2/lxc/{vmid}/template")
    assert _message(running) == "you can't convert a CT to template if the CT is running\n"
