"""`/api/v1` backups and operations through the app's own routes (real Redis, database,
simulator and RQ worker): back up a container (202 with the operation), follow the
operation's progress stream to its end, the listing newest first; bad choices (422 naming
the field), a token without VM.Backup (409 naming it), and another user's container and
operation (404) — nothing started by any refusal."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from api_support import USER_A
from creations_support import remove_container, run_worker

from lxc_manager.nodes import NodeView
from lxc_manager.operations import jobs as operations
from tests.support.api import api_client, assert_error, bearer
from tests.support.simulator import SimulatorInfo

BACKUP = {"storage": "local", "mode": "stop", "notes": "from the API"}


def _events(text: str) -> list[tuple[str, dict[str, Any], str]]:
    found = []
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            if line and not line.startswith(":"):
                name, _, value = line.partition(": ")
                fields[name] = value
        if "data" in fields:
            found.append(
                (fields.get("event", ""), json.loads(fields["data"]), fields.get("id", ""))
            )
    return found


def _backups(node_id: int, vmid: int) -> str:
    return f"/api/v1/containers/{node_id}/{vmid}/backups"


async def test_back_up_follow_and_list(
    lab: NodeView, key_a: str, key_b: str, own_ct: Callable[..., int]
) -> None:
    vmid = await asyncio.to_thread(own_ct)
    async with api_client() as http:
        listed = await http.get(_backups(lab.id, vmid), headers=bearer(key_a))
        assert listed.status_code == 200, listed.text
        assert listed.json()["backups"] == []
        assert "local" in {s["storage"] for s in listed.json()["storages"]}

        started = await http.post(_backups(lab.id, vmid), json=BACKUP, headers=bearer(key_a))
        assert started.status_code == 202, started.text
        operation = started.json()["operation"]
        assert operation["status"] == "queued" and operation["kind"] == "backup"
        assert operation["vmid"] == vmid and operation["title"] == f"Back up CT {vmid} to local"
        job_id = operation["id"]
        assert started.headers["location"] == f"/api/v1/operations/{job_id}"

        # Another user's key: the container, its backups and the operation are not found.
        for response in (
            await http.get(_backups(lab.id, vmid), headers=bearer(key_b)),
            await http.post(_backups(lab.id, vmid), json=BACKUP, headers=bearer(key_b)),
            await http.get(f"/api/v1/operations/{job_id}", headers=bearer(key_b)),
            await http.get(f"/api/v1/operations/{job_id}/events", headers=bearer(key_b)),
        ):
            assert_error(response, 404, "not_found")
        listed_b = await http.get("/api/v1/operations", headers=bearer(key_b))
        assert listed_b.json()["operations"] == []

        await run_worker()

        got = await http.get(f"/api/v1/operations/{job_id}", headers=bearer(key_a))
        assert got.status_code == 200
        done = got.json()["operation"]
        assert done["status"] == "succeeded" and done["percent"] == 100, done
        assert [s["state"] for s in done["steps"]] == ["ok"]

        # The progress stream: replayed from the start, Proxmox's task log, then `end`.
        stream = await http.get(f"/api/v1/operations/{job_id}/events", headers=bearer(key_a))
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        events = _events(stream.text)
        kinds = [kind for kind, _d, _i in events]
        assert kinds[0] == "status" and kinds[-1] == "end" and "result" in kinds, kinds
        assert "line" in kinds  # the vzdump task's log
        assert events[-1][1]["operation"]["status"] == "succeeded"
        middle = events[len(events) // 2]
        resumed = await http.get(
            f"/api/v1/operations/{job_id}/events",
            headers={**bearer(key_a), "Last-Event-ID": middle[2]},
        )
        assert [i for _k, _d, i in _events(resumed.text)][:-1] == [
            i for _k, _d, i in events[len(events) // 2 + 1 : -1]
        ]
        bad = await http.get(f"/api/v1/operations/{job_id}/events?after=x", headers=bearer(key_a))
        assert_error(bad, 422, "invalid", "after")

        mine = await http.get(f"/api/v1/operations?vmid={vmid}", headers=bearer(key_a))
        assert [o["id"] for o in mine.json()["operations"]] == [job_id]

        # A second backup: the listing is newest first.
        again = await http.post(
            _backups(lab.id, vmid), json={"storage": "local", "mode": "stop"}, headers=bearer(key_a)
        )
        assert again.status_code == 202, again.text
        await run_worker()
        listed = await http.get(_backups(lab.id, vmid), headers=bearer(key_a))
        backups = listed.json()["backups"]
        assert len(backups) == 2 and all(b["vmid"] == vmid for b in backups)
        assert backups[0]["ctime"] >= backups[1]["ctime"]
        assert "from the API" in {b["notes"] for b in backups}
        assert all(b["origin"] == f"{USER_A} (LXC Manager)" for b in backups), backups


async def test_bad_choices_are_refused_naming_the_field(
    lab: NodeView, key_a: str, own_ct: Callable[..., int]
) -> None:
    vmid = await asyncio.to_thread(own_ct)
    url = _backups(lab.id, vmid)
    async with api_client() as http:
        cases = [
            ({"storage": "no-such-storage"}, "storage"),
            ({"storage": "local-lvm"}, "storage"),  # holds no backups
            ({"storage": "local", "mode": "fast"}, "mode"),
            ({"storage": "local", "compress": "rar"}, "compress"),
            ({"storage": "local", "notes": "x" * 2000}, "notes"),
            ({"storage": "local", "protected": "yes"}, "protected"),
            ({"storage": 5}, "storage"),
            ({"storage": "local", "speed": 1}, "speed"),
        ]
        for body, field in cases:
            assert_error(
                await http.post(url, json=body, headers=bearer(key_a)), 422, "invalid", field
            )
        assert_error(
            await http.post(_backups(lab.id, 99999), json=BACKUP, headers=bearer(key_a)),
            404,
            "not_found",
        )
        assert_error(
            await http.get("/api/v1/operations/nosuchjob", headers=bearer(key_a)), 404, "not_found"
        )
    assert await operations.operations_for(USER_A) == []


@contextmanager
def only_audit(simulator: SimulatorInfo, path: str) -> Iterator[None]:
    """The node's token (root@pam!ci) holds only PVEAuditor on `path` meanwhile (a more
    specific ACL path wins in Proxmox)."""
    acl = {"path": path, "roles": "PVEAuditor", "tokens": simulator.token_id}
    with simulator.client(simulator.root_token_id, simulator.root_token_secret) as api:
        assert api.put("/access/acl", data=acl).status_code == 200
        try:
            yield
        finally:
            assert api.put("/access/acl", data={**acl, "delete": 1}).status_code == 200


async def test_a_token_without_vm_backup_is_refused_and_nothing_starts(
    simulator: SimulatorInfo, lab: NodeView, key_a: str, own_ct: Callable[..., int]
) -> None:
    vmid = await asyncio.to_thread(own_ct)
    async with api_client() as http:
        with only_audit(simulator, f"/vms/{vmid}"):
            refused = await http.post(_backups(lab.id, vmid), json=BACKUP, headers=bearer(key_a))
        assert_error(refused, 409, "refused")
        assert refused.json()["error"]["message"] == (
            f"The node's API token lacks the Proxmox privilege VM.Backup on /vms/{vmid}: "
            "nothing was started"
        )
        with only_audit(simulator, "/storage/local"):
            refused = await http.post(_backups(lab.id, vmid), json=BACKUP, headers=bearer(key_a))
        assert_error(refused, 409, "refused")
        assert "Datastore.AllocateSpace on /storage/local" in refused.json()["error"]["message"]
        listed = await http.get(_backups(lab.id, vmid), headers=bearer(key_a))
        assert listed.status_code == 200 and listed.json()["backups"] == []
    assert await operations.operations_for(USER_A) == []


async def test_protect_notes_delete_and_restore_as_new(
    simulator: SimulatorInfo, lab: NodeView, key_a: str, key_b: str, own_ct: Callable[..., int]
) -> None:
    vmid = await asyncio.to_thread(own_ct)
    new_vmid = await asyncio.to_thread(own_ct)  # a VMID of our range, freed for the restore
    await asyncio.to_thread(remove_container, simulator, new_vmid)
    url = _backups(lab.id, vmid)
    async with api_client() as http:
        started = await http.post(url, json=BACKUP, headers=bearer(key_a))
        assert started.status_code == 202, started.text
        await run_worker()
        [backup] = (await http.get(url, headers=bearer(key_a))).json()["backups"]
        volid = backup["volid"]

        # Another user, a backup of another container, a made-up volid: not found.
        other = {"volid": volid, "protected": True}
        assert_error(
            await http.post(url + "/update", json=other, headers=bearer(key_b)), 404, "not_found"
        )
        assert_error(
            await http.post(
                _backups(lab.id, new_vmid) + "/update", json=other, headers=bearer(key_a)
            ),
            404,
            "not_found",
        )
        fake = {"volid": f"local:backup/vzdump-lxc-{vmid}-2020_01_01-00_00_00.tar.zst"}
        assert_error(
            await http.post(url + "/delete", json=fake, headers=bearer(key_a)), 404, "not_found"
        )
        assert_error(
            await http.post(url + "/update", json={"volid": volid}, headers=bearer(key_a)),
            422,
            "invalid",
            "protected",
        )

        updated = await http.post(
            url + "/update",
            json={"volid": volid, "protected": True, "notes": "keep me"},
            headers=bearer(key_a),
        )
        assert updated.status_code == 200, updated.text
        assert updated.json()["backup"]["protected"] is True
        assert updated.json()["backup"]["notes"] == "keep me"
        refused = await http.post(url + "/delete", json={"volid": volid}, headers=bearer(key_a))
        assert_error(refused, 409, "refused")
        assert "protected" in refused.json()["error"]["message"]

        # Restore as a new container: the VMID is checked (422), then the job runs.
        taken = {"volid": volid, "vmid": vmid, "hostname": "restored", "storage": "local-lvm"}
        assert_error(
            await http.post(url + "/restore", json=taken, headers=bearer(key_a)),
            422,
            "invalid",
            "vmid",
        )
        try:
            restored = await http.post(
                url + "/restore", json={**taken, "vmid": new_vmid}, headers=bearer(key_a)
            )
            assert restored.status_code == 202, restored.text
            job_id = restored.json()["operation"]["id"]
            assert restored.json()["operation"]["kind"] == "restore-new"
            await run_worker()
            done = (await http.get(f"/api/v1/operations/{job_id}", headers=bearer(key_a))).json()
            assert done["operation"]["status"] == "succeeded", done
            got = await http.get(f"/api/v1/containers/{lab.id}/{new_vmid}", headers=bearer(key_a))
            assert got.status_code == 200 and got.json()["name"] == "restored", got.text
        finally:
            await asyncio.to_thread(remove_container, simulator, new_vmid)

        unprotected = await http.post(
            url + "/update", json={"volid": volid, "protected": False}, headers=bearer(key_a)
        )
        assert unprotected.status_code == 200 and unprotected.json()["backup"]["protected"] is False
        deleted = await http.post(url + "/delete", json={"volid": volid}, headers=bearer(key_a))
        assert deleted.status_code == 200, deleted.text
        assert (await http.get(url, headers=bearer(key_a))).json()["backups"] == []
