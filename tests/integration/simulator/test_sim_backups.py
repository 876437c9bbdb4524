"""Backups in the simulator over HTTPS: vzdump, backup volumes, restore, jobs, refusals.

What Proxmox does here is taken from its source (see the simulator README, "Backups,
restore and clone"): pve-manager PVE/API2/VZDump.pm, PVE/VZDump.pm, PVE/API2/Backup.pm,
PVE/API2/Cluster/BackupInfo.pm; pve-storage src/PVE/API2/Storage/Content.pm; pve-container
src/PVE/API2/LXC.pm (create_vm with restore).
"""

from __future__ import annotations

import itertools
import re
import time
from urllib.parse import quote

import pytest

ARCHIVE = re.compile(
    r"^(local|nas):backup/vzdump-lxc-(\d+)-\d{4}_\d{2}_\d{2}-\d{2}_\d{2}_\d{2}\.tar\.zst$"
)
_vmids = itertools.count(5100)


@pytest.fixture
def vmid() -> int:
    return next(_vmids)


def _start(simulator, api, node: str, vmid: int) -> None:
    upid = api.post(f"/nodes/{node}/lxc/{vmid}/status/start").json()["data"]
    assert simulator.wait_task(api, upid)["exitstatus"] == "OK"


def _backups(api, node: str, storage: str, vmid: int | None = None) -> list[dict]:
    params: dict = {"content": "backup"}
    if vmid is not None:
        params["vmid"] = vmid
    response = api.get(f"/nodes/{node}/storage/{storage}/content", params=params)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def _log(api, upid: str) -> list[str]:
    node = upid.split(":")[1]
    entries = api.get(f"/nodes/{node}/tasks/{upid}/log", params={"limit": 500}).json()["data"]
    return [e["t"] for e in entries]


def _vzdump(api, node: str, **params) -> str:
    response = api.post(f"/nodes/{node}/vzdump", data=params)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def test_seeded_backups_are_listed_like_proxmox_lists_them(api) -> None:
    entries = _backups(api, "pve1", "local") + _backups(api, "pve1", "nas")
    assert entries, "the seeded cluster has backups"
    now = time.time()
    ages = []
    for entry in entries:
        match = ARCHIVE.match(entry["volid"])
        assert match, entry["volid"]
        assert entry["content"] == "backup" and entry["format"] == "tar.zst"
        assert entry["subtype"] == "lxc" and entry["vmid"] == int(match[2])
        assert entry["size"] > 0 and isinstance(entry["ctime"], int)
        assert "verification" not in entry
        assert entry.get("protected", 1) == 1  # present only when set
        ages.append((now - entry["ctime"]) / 86400)
    assert min(ages) < 7 < max(ages)
    one = entries[0]
    assert all(e["vmid"] == one["vmid"] for e in _backups(api, "pve1", "nas", one["vmid"]))
    # `local` is each node's own disk, `nas` is shared
    assert _backups(api, "pve2", "nas") == _backups(api, "pve1", "nas")
    storages = api.get("/nodes/pve1/storage", params={"content": "backup"}).json()["data"]
    assert sorted(s["storage"] for s in storages) == ["local", "nas"]


def test_snapshot_backup_of_a_running_ct_locks_it_and_logs(simulator, api, vmid) -> None:
    simulator.create_container(api, "pve1", vmid, hostname="bk-snap")
    _start(simulator, api, "pve1", vmid)
    upid = _vzdump(
        api,
        "pve1",
        vmid=vmid,
        storage="local",
        mode="snapshot",
        compress="zstd",
        **{"notes-template": "{{guestname}} on {{node}} ({{vmid}})", "protected": 1},
    )
    parts = upid.split(":")
    assert (parts[5], parts[6]) == ("vzdump", str(vmid))
    config = api.get(f"/nodes/pve1/lxc/{vmid}/config").json()["data"]
    assert config["lock"] == "backup"
    refused = api.post(f"/nodes/pve1/lxc/{vmid}/snapshot", data={"snapname": "during"})
    assert refused.status_code == 500 and refused.json()["message"] == "CT is locked (backup)\n"
    refused = api.delete(f"/nodes/pve1/lxc/{vmid}", params={"force": 1})
    assert refused.json()["message"] == "CT is locked (backup)\n"
    refused = api.post(f"/nodes/pve1/lxc/{vmid}/template")
    assert refused.json()["message"] == "CT is locked (backup)\n"
    # a second backup of the same CT fails inside its worker, as lock_vm does
    second = _vzdump(api, "pve1", vmid=vmid, storage="local")
    assert simulator.wait_task(api, second)["exitstatus"] == "job errors"
    assert f"ERROR: Backup of VM {vmid} failed - CT is locked (backup)" in _log(api, second)

    assert simulator.wait_task(api, upid)["exitstatus"] == "OK"
    log = _log(api, upid)
    assert log[0].startswith(f"INFO: starting new backup job: vzdump {vmid} ")
    assert "INFO: backup mode: snapshot" in log and "INFO: status = running" in log
    assert "INFO: CT Name: bk-snap" in log
    assert "INFO: create storage snapshot 'vzdump'" in log
    assert any(re.match(r"INFO: archive file size: [\d.]+(GB|MB)$", line) for line in log)
    assert "INFO: marking backup as protected" in log
    assert log[-2:] == ["INFO: Backup job finished successfully", "TASK OK"]
    assert "lock" not in api.get(f"/nodes/pve1/lxc/{vmid}/config").json()["data"]
    status = api.get(f"/nodes/pve1/lxc/{vmid}/status/current").json()["data"]
    assert status["status"] == "running"
    [made] = _backups(api, "pve1", "local", vmid)
    assert ARCHIVE.match(made["volid"])
    assert made["notes"] == f"bk-snap on pve1 ({vmid})" and made["protected"] == 1
    assert _backups(api, "pve2", "local", vmid) == []  # pve1's local disk only


def test_stop_mode_stops_and_restarts_a_running_ct(simulator, api, vmid) -> None:
    simulator.create_container(api, "pve2", vmid)
    _start(simulator, api, "pve2", vmid)
    upid = _vzdump(api, "pve2", vmid=vmid, storage="nas", mode="stop")
    current = api.get(f"/nodes/pve2/lxc/{vmid}/status/current").json()["data"]
    assert current["status"] == "stopped" and current["lock"] == "backup"
    assert simulator.wait_task(api, upid)["exitstatus"] == "OK"
    log = _log(api, upid)
    assert "INFO: stopping virtual guest" in log and "INFO: restarting vm" in log
    current = api.get(f"/nodes/pve2/lxc/{vmid}/status/current").json()["data"]
    assert current["status"] == "running" and "lock" not in current
    [made] = _backups(api, "pve3", "nas", vmid)  # a shared storage: every node sees it
    assert "notes" not in made and "protected" not in made


def test_vzdump_parameter_refusals(api) -> None:
    response = api.post("/nodes/pve1/vzdump", data={"storage": "local"})
    assert response.status_code == 400 and response.json()["errors"] == {
        "vmid": "property is missing"
    }
    response = api.post("/nodes/pve1/vzdump", data={"vmid": 100, "all": 1})
    assert response.json()["errors"] == {"all": "option conflicts with option 'vmid'"}
    response = api.post(
        "/nodes/pve1/vzdump", data={"vmid": 100, "storage": "local", "notes-template": "{{x}}"}
    )
    assert response.json()["errors"] == {"notes-template": "found unknown: variable 'x' at char 2"}
    response = api.post("/nodes/pve1/vzdump", data={"vmid": 100, "protected": 1})
    assert response.status_code == 400 and "storage" in response.json()["errors"]


def test_vzdump_on_a_storage_without_backup_content_fails_its_task(simulator, api) -> None:
    ct = next(c for c in api.get("/nodes/pve1/lxc").json()["data"] if "lock" not in c)
    upid = _vzdump(api, "pve1", vmid=ct["vmid"], storage="local-lvm")
    status = simulator.wait_task(api, upid)
    assert status["exitstatus"] == (
        "could not get storage information for 'local-lvm': can't use storage 'local-lvm' "
        "for backups - wrong content type"
    )


def test_guests_of_other_nodes_are_skipped_silently(api) -> None:
    other = next(c for c in api.get("/nodes/pve2/lxc").json()["data"])
    response = api.post("/nodes/pve1/vzdump", data={"vmid": other["vmid"], "storage": "local"})
    assert response.status_code == 200 and response.json()["data"] == "OK"


def test_protected_backup_volume_cannot_be_deleted_until_unprotected(simulator, api, vmid) -> None:
    simulator.create_container(api, "pve3", vmid)
    upid = _vzdump(api, "pve3", vmid=vmid, storage="local", protected=1)
    assert simulator.wait_task(api, upid)["exitstatus"] == "OK"
    [made] = _backups(api, "pve3", "local", vmid)
    volid = made["volid"]
    assert volid.endswith(".tar")  # compress defaults to 0 (PVE/VZDump/Common.pm)
    path = f"/nodes/pve3/storage/local/content/{quote(volid, safe='')}"
    response = api.delete(path, params={"delay": 5})
    filename = volid.split(":", 1)[1]
    assert response.status_code == 500
    assert response.json()["message"] == (
        f"cannot remove protected volume '{filename}' on 'local'\n"
    )
    task = api.delete(path).json()["data"]  # without delay: the imgdel task fails
    assert task.split(":")[5:7] == ["imgdel", f"{vmid}@local"]
    assert simulator.wait_task(api, task)["exitstatus"].startswith("cannot remove protected")

    assert api.put(path, data={"notes": "before upgrade\nsecond line"}).status_code == 200
    assert api.put(path, data={"protected": 0}).status_code == 200
    [entry] = _backups(api, "pve3", "local", vmid)
    assert entry["notes"] == "before upgrade" and "protected" not in entry
    info = api.get(path).json()["data"]
    assert info["notes"] == "before upgrade\nsecond line" and info["protected"] == 0
    task = api.delete(path).json()["data"]
    assert simulator.wait_task(api, task)["exitstatus"] == "OK"
    assert f"Removed volume '{volid}'" in _log(api, task)
    assert _backups(api, "pve3", "local", vmid) == []
    missing = api.get(path)
    assert missing.status_code == 500 and missing.json()["message"] == (
        f"volume '{volid}' does not exist\n"
    )


def test_tokens_without_the_backup_privileges(simulator, api) -> None:
    ct = next(c for c in api.get("/nodes/pve1/lxc").json()["data"] if "lock" not in c)
    # PVEAuditor: no Datastore.AllocateSpace on the storage (checked before the worker)
    with simulator.client(simulator.privsep_token_id, simulator.privsep_token_secret) as ro:
        response = ro.post("/nodes/pve1/vzdump", data={"vmid": ct["vmid"], "storage": "local"})
        assert response.status_code == 403
        assert response.json()["message"] == (
            "Permission check failed (/storage/local, Datastore.AllocateSpace)\n"
        )
        volid = _backups(api, "pve1", "nas")[0]["volid"]
        response = ro.delete(f"/nodes/pve1/storage/nas/content/{quote(volid, safe='')}")
        assert response.status_code == 403
        assert response.json()["message"] == (
            "Permission check failed (/storage/nas, Datastore.AllocateSpace)\n"
        )
        response = ro.get("/cluster/backup")  # Sys.Audit is enough to read the jobs
        assert response.status_code == 200
    # PVEVMAdmin alone: VM.Backup, but nothing on the storages
    with simulator.client(simulator.vmadmin_token_id, simulator.vmadmin_token_secret) as vm:
        response = vm.post("/nodes/pve1/vzdump", data={"vmid": ct["vmid"], "storage": "nas"})
        assert response.status_code == 403
        assert response.json()["message"] == (
            "Permission check failed (/storage/nas, Datastore.AllocateSpace)\n"
        )
        assert vm.get("/cluster/backup").status_code == 403


def test_a_token_without_vm_backup_gets_a_failed_task_and_no_archive(start_sim) -> None:
    """pve-manager PVE/VZDump.pm exec_backup checks VM.Backup inside the worker: the request
    answers a UPID, the task ends with the permission error, nothing is archived."""
    sim = start_sim(
        [
            "--port", "0", "--ssh-port", "0", "--seed", "5", "--nodes", "1",
            "--containers", "3", "--vms", "0", "--task-seconds", "0.1",
            "--token", "root@pam!ds:ds-secret:privsep=PVEDatastoreUser+PVEAuditor",
            "--token", "root@pam!full:full-secret",
        ]
    )  # fmt: skip
    import httpx

    base = sim.ready["api"] + "/api2/json"
    with httpx.Client(
        base_url=base, verify=False, headers={"Authorization": "PVEAPIToken=root@pam!ds=ds-secret"}
    ) as ds:
        before = _backups(ds, "pve1", "local")
        upid = _vzdump(ds, "pve1", vmid=100, storage="local")
        deadline = time.monotonic() + 5
        while (status := ds.get(f"/nodes/pve1/tasks/{upid}/status").json()["data"])[
            "status"
        ] != "stopped":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert status["exitstatus"] == "Permission check failed (/vms/100, VM.Backup)"
        assert _log(ds, upid)[-1] == "TASK ERROR: Permission check failed (/vms/100, VM.Backup)"
        assert _backups(ds, "pve1", "local") == before
        config = ds.get("/nodes/pve1/lxc/100/config")
        assert config.status_code == 200 and "lock" not in config.json()["data"]
        # with `all` the guests it may not back up are skipped: an empty, successful job
        upid = _vzdump(ds, "pve1", all=1, storage="local")
        deadline = time.monotonic() + 5
        while (status := ds.get(f"/nodes/pve1/tasks/{upid}/status").json()["data"])[
            "status"
        ] != "stopped":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert status["exitstatus"] == "OK"


# -- restore -------------------------------------------------------------------------------
def test_restore_as_a_new_container_recovers_the_archived_config(simulator, api, vmid) -> None:
    simulator.create_container(api, "pve1", vmid, hostname="bk-source", memory=1024)
    upid = _vzdump(api, "pve1", vmid=vmid, storage="nas", compress="zstd")
    assert simulator.wait_task(api, upid)["exitstatus"] == "OK"
    [archive] = _backups(api, "pve1", "nas", vmid)
    newid = next(_vmids)
    response = api.post(
        "/nodes/pve2/lxc",
        data={"vmid": newid, "ostemplate": archive["volid"], "restore": 1, "storage": "local-lvm"},
    )
    assert response.status_code == 200, response.text
    upid = response.json()["data"]
    assert upid.split(":")[5:7] == ["vzrestore", str(newid)]
    assert api.get(f"/nodes/pve2/lxc/{newid}/config").json()["data"]["lock"] == "create"
    assert simulator.wait_task(api, upid)["exitstatus"] == "OK"
    assert _log(api, upid)[0] == f"recovering backed-up configuration from '{archive['volid']}'"
    config = api.get(f"/nodes/pve2/lxc/{newid}/config").json()["data"]
    assert config["hostname"] == "bk-source" and config["memory"] == 1024
    assert config["rootfs"] == f"local-lvm:vm-{newid}-disk-0,size=4G"
    assert "lock" not in config

    # given options win over the archived ones
    other = next(_vmids)
    upid = api.post(
        "/nodes/pve1/lxc",
        data={
            "vmid": other,
            "ostemplate": archive["volid"],
            "restore": 1,
            "storage": "local-lvm",
            "hostname": "bk-copy",
            "unique": 1,
        },
    ).json()["data"]
    assert simulator.wait_task(api, upid)["exitstatus"] == "OK"
    config = api.get(f"/nodes/pve1/lxc/{other}/config").json()["data"]
    assert config["hostname"] == "bk-copy"


def test_restore_refusals_and_restore_over_a_stopped_ct(simulator, api, vmid) -> None:
    simulator.create_container(api, "pve3", vmid, hostname="bk-over", memory=512)
    upid = _vzdump(api, "pve3", vmid=vmid, storage="local")
    assert simulator.wait_task(api, upid)["exitstatus"] == "OK"
    [archive] = _backups(api, "pve3", "local", vmid)
    body = {"vmid": vmid, "ostemplate": archive["volid"], "restore": 1, "storage": "local-lvm"}
    response = api.post("/nodes/pve3/lxc", data=body)  # no force: the VMID is taken
    assert response.status_code == 500
    assert response.json()["message"] == f"CT {vmid} already exists on node 'pve3'\n"
    no_storage = api.post("/nodes/pve3/lxc", data={**body, "force": 1, "storage": "local"})
    assert no_storage.status_code == 400 and no_storage.json()["errors"] == {
        "storage": "storage 'local' does not support container directories"
    }
    _start(simulator, api, "pve3", vmid)
    response = api.post("/nodes/pve3/lxc", data={**body, "force": 1})
    assert response.status_code == 500
    assert response.json()["message"] == "can't overwrite running container\n"
    upid = api.post(f"/nodes/pve3/lxc/{vmid}/status/stop").json()["data"]
    assert simulator.wait_task(api, upid)["exitstatus"] == "OK"
    assert api.put(f"/nodes/pve3/lxc/{vmid}/config", data={"memory": 2048}).status_code == 200
    assert api.put(f"/nodes/pve3/lxc/{vmid}/config", data={"protection": 1}).status_code == 200
    response = api.post("/nodes/pve3/lxc", data={**body, "force": 1})
    assert response.json()["message"] == f"unable to restore CT {vmid} - protection mode enabled\n"
    assert api.put(f"/nodes/pve3/lxc/{vmid}/config", data={"delete": "protection"}).is_success
    # the archive lives on pve3's local disk: pve1 does not see it
    elsewhere = api.post("/nodes/pve1/lxc", data={**body, "vmid": next(_vmids)})
    assert elsewhere.json()["message"] == f"volume '{archive['volid']}' does not exist\n"

    upid = api.post("/nodes/pve3/lxc", data={**body, "force": 1}).json()["data"]
    assert simulator.wait_task(api, upid)["exitstatus"] == "OK"
    config = api.get(f"/nodes/pve3/lxc/{vmid}/config").json()["data"]
    assert config["memory"] == 512 and config["hostname"] == "bk-over"


# -- jobs ----------------------------------------------------------------------------------
def test_backup_jobs_and_the_guests_no_job_covers(api) -> None:
    jobs = api.get("/cluster/backup").json()["data"]
    assert len(jobs) == 2
    everything = next(j for j in jobs if j.get("all") == 1)
    listed = next(j for j in jobs if "vmid" in j)
    assert everything["schedule"] == "sat 02:00" and everything["exclude"]
    assert everything["type"] == "vzdump" and everything["enabled"] == 1
    assert everything["next-run"] > time.time()
    assert listed["storage"] in ("local", "nas")
    one = api.get(f"/cluster/backup/{listed['id']}").json()["data"]
    assert one["vmid"] == listed["vmid"] and "next-run" not in one
    missing = api.get("/cluster/backup/backup-nope")
    assert missing.status_code == 400 and missing.json()["errors"] == {
        "id": "No such job 'backup-nope'"
    }

    excluded = {int(v) for v in everything["exclude"].split(",")}
    covered = {int(v) for v in listed["vmid"].split(",")}
    guests = api.get("/cluster/resources", params={"type": "vm"}).json()["data"]
    existing = {g["vmid"] for g in guests}
    expected = sorted((excluded - covered) & existing)
    assert expected, "the seed leaves guests uncovered"
    uncovered = api.get("/cluster/backup-info/not-backed-up").json()["data"]
    assert [g["vmid"] for g in uncovered] == expected
    by_id = {g["vmid"]: g for g in guests}
    for guest in uncovered:
        assert guest["type"] == by_id[guest["vmid"]]["type"]
        assert guest["name"] == by_id[guest["vmid"]]["name"]
    assert api.get("/cluster/backup-info").json()["data"] == [{"subdir": "not-backed-up"}]
