"""`/api/v1/creations` through the app's own routes (real Redis, database, simulator and RQ
worker): submit with the wizard's rules (422 naming the field, nothing saved), preview and
its digest, get and list, retry / keep / destroy of a failed job, the progress stream of a
finished job, and another user's job answered 404 on every route."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from api_support import USER_A
from creations_support import container_exists, make_template, new_vmid, run_worker, sshlab

from lxc_manager.api import keys
from lxc_manager.api.v1 import creations as creations_api
from lxc_manager.api.v1 import streams
from lxc_manager.nodes import NodeView
from lxc_manager.provisioning import jobs, progress
from lxc_manager.redis_client import RedisDb, async_client
from lxc_manager.templates.spec import ScriptSpec
from tests.support.api import api_client, assert_error, bearer
from tests.support.simulator import SimulatorInfo

__all__ = ["new_vmid", "sshlab"]  # fixtures
CREATIONS = "/api/v1/creations"


def _events(text: str) -> list[tuple[str, dict[str, Any], str]]:
    """(event, data, id) of a whole text/event-stream answer."""
    found = []
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            if line and not line.startswith(":"):
                name, _, value = line.partition(": ")
                fields[name] = value
        if "data" in fields:
            found.append(
                (fields.get("event", "message"), json.loads(fields["data"]), fields.get("id", ""))
            )
    return found


async def _jobs(key: str) -> list[dict[str, Any]]:
    async with api_client() as http:
        response = await http.get(CREATIONS, headers=bearer(key))
    assert response.status_code == 200, response.text
    jobs_: list[dict[str, Any]] = response.json()["jobs"]
    return jobs_


async def test_submit_get_follow_and_another_users_job_is_not_found(
    sshlab: NodeView, key_a: str, key_b: str, new_vmid: Callable[[], int]
) -> None:
    template_id = await make_template()
    vmid = new_vmid()
    body = {"template_id": template_id, "hostname": "api-1", "vmid": vmid, "memory_mb": 768}
    async with api_client() as http:
        created = await http.post(CREATIONS, json=body, headers=bearer(key_a))
        assert created.status_code == 201, created.text
        job = created.json()["job"]
        job_id = job["id"]
        assert created.headers["location"] == f"{CREATIONS}/{job_id}"
        assert (job["status"], job["vmid"], job["hostname"], job["template_name"]) == (
            "queued", vmid, "api-1", "Web",
        )  # fmt: skip
        assert job["node_id"] == sshlab.id and job["pve_node"] == "pve1"

        # Another user's key: not found on every route, and not listed.
        other = bearer(key_b)
        for method, path in [
            ("GET", f"{CREATIONS}/{job_id}"),
            ("GET", f"{CREATIONS}/{job_id}/events"),
            ("POST", f"{CREATIONS}/{job_id}/retry"),
            ("POST", f"{CREATIONS}/{job_id}/keep"),
            ("POST", f"{CREATIONS}/{job_id}/destroy"),
        ]:
            assert_error(await http.request(method, path, headers=other), 404, "not_found")
        assert await _jobs(key_b) == []
        assert [j["id"] for j in await _jobs(key_a)] == [job_id]

        await run_worker()
        got = await http.get(f"{CREATIONS}/{job_id}", headers=bearer(key_a))
        assert got.status_code == 200
        done = got.json()["job"]
        assert done["status"] == "succeeded" and done["percent"] == 100
        assert {s["state"] for s in done["steps"]} <= {"ok", "skipped"}
        assert_error(
            await http.post(f"{CREATIONS}/{job_id}/retry", headers=bearer(key_a)), 409, "conflict"
        )

        # The progress of a finished job: the whole stream, then `end`, then the stream closes.
        stream = await http.get(f"{CREATIONS}/{job_id}/events", headers=bearer(key_a))
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        events = _events(stream.text)
        kinds = [kind for kind, _data, _id in events]
        assert kinds[0] == "status" and kinds[-1] == "end" and "result" in kinds
        assert events[-1][1]["job"]["status"] == "succeeded"
        assert any("hello from the template" in d.get("text", "") for _k, d, _i in events)
        # Resuming after an event (Last-Event-ID) gives only what follows it.
        middle = events[len(events) // 2]
        resumed = await http.get(
            f"{CREATIONS}/{job_id}/events", headers={**bearer(key_a), "Last-Event-ID": middle[2]}
        )
        assert [i for _k, _d, i in _events(resumed.text)][:-1] == [
            i for _k, _d, i in events[len(events) // 2 + 1 : -1]
        ]
        bad = await http.get(f"{CREATIONS}/{job_id}/events?after=x", headers=bearer(key_a))
        assert_error(bad, 422, "invalid", "after")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"hostname": "bad_name!"}, "hostname"),
        ({"hostname": "ok", "cores": "many"}, "cores"),
        ({"hostname": "ok", "disk_gb": 10**9}, "disk_gb"),
        ({"hostname": "ok", "vmid": 5}, "vmid"),
        ({"hostname": "ok", "ipv4": "10.1.2.3"}, "ipv4"),
        ({"hostname": "ok", "gateway": "10.0.0.1"}, "gateway"),
        ({"hostname": "ok", "bridge": "vmbr9"}, "bridge"),
        ({"hostname": "ok", "os_template": "local:vztmpl/nope.tar.zst"}, "os_template"),
        ({"hostname": "ok", "features": {"fuse": 1}}, "features.fuse"),
        ({"hostname": "ok", "tags": ["UPPER CASE!"]}, "tags"),
        ({"hostname": "ok", "node_id": 424242}, "node_id"),
        ({"hostname": "ok", "flavour": "x"}, "flavour"),
        ({}, "hostname"),
    ],
)
async def test_bad_input_is_422_with_the_field_and_nothing_is_saved(
    sshlab: NodeView, key_a: str, new_vmid: Callable[[], int], body: dict[str, Any], field: str
) -> None:
    async with api_client() as http:
        response = await http.post(
            CREATIONS, json={"vmid": new_vmid(), **body}, headers=bearer(key_a)
        )
    assert_error(response, 422, "invalid", field)
    assert await _jobs(key_a) == []


async def test_a_body_that_is_no_json_object_is_422(sshlab: NodeView, key_a: str) -> None:
    async with api_client() as http:
        for content in (b"{not json", b"[1, 2]"):
            response = await http.post(CREATIONS, content=content, headers=bearer(key_a))
            assert_error(response, 422, "invalid", "body")


async def test_preview_and_its_digest(
    sshlab: NodeView, key_a: str, new_vmid: Callable[[], int]
) -> None:
    template_id = await make_template()
    body = {"template_id": template_id, "hostname": "preview-1", "vmid": new_vmid()}
    async with api_client() as http:
        seen = await http.post(f"{CREATIONS}/preview", json=body, headers=bearer(key_a))
        assert seen.status_code == 200, seen.text
        answer = seen.json()
        assert answer["proxmox_params"]["cores"] == 2 and answer["proxmox_params"]["start"] == 0
        assert answer["request"]["scripts"][0]["content"] == "echo hello from the template"
        assert await _jobs(key_a) == []  # a preview saves nothing
        stale = await http.post(
            CREATIONS, json={**body, "content_digest": "0" * 64}, headers=bearer(key_a)
        )
        assert_error(stale, 422, "invalid", "content_digest")
        fresh = await http.post(
            CREATIONS,
            json={**body, "content_digest": answer["content_digest"]},
            headers=bearer(key_a),
        )
        assert fresh.status_code == 201, fresh.text
        assert fresh.json()["job"]["content_digest"] == answer["content_digest"]


async def test_a_failed_job_is_kept_retried_and_destroyed(
    simulator: SimulatorInfo, sshlab: NodeView, key_a: str, new_vmid: Callable[[], int]
) -> None:
    template_id = await make_template(
        name="Failing", scripts=(ScriptSpec("boom", "echo boom\nexit 3"),)
    )
    vmid = new_vmid()
    async with api_client() as http:
        created = await http.post(
            CREATIONS, json={"template_id": template_id, "hostname": "fails", "vmid": vmid},
            headers=bearer(key_a),
        )  # fmt: skip
        assert created.status_code == 201, created.text
        path = f"{CREATIONS}/{created.json()['job']['id']}"
        await run_worker()
        failed = (await http.get(path, headers=bearer(key_a))).json()["job"]
        assert failed["status"] == "failed" and failed["retryable"] and "boom" in failed["error"]
        assert container_exists(simulator, vmid)

        kept = await http.post(f"{path}/keep", headers=bearer(key_a))
        assert kept.status_code == 200 and kept.json()["job"]["kept"] is True

        retried = await http.post(f"{path}/retry", headers=bearer(key_a))
        assert retried.status_code == 200, retried.text
        assert retried.json()["job"]["status"] == "queued"
        await run_worker()
        again = (await http.get(path, headers=bearer(key_a))).json()["job"]
        assert again["status"] == "failed" and again["attempts"] == 2

        destroyed = await http.post(f"{path}/destroy", headers=bearer(key_a))
        assert destroyed.status_code == 200, destroyed.text
        assert destroyed.json()["job"]["status"] == "destroyed"
        assert not container_exists(simulator, vmid)
        assert_error(await http.post(f"{path}/destroy", headers=bearer(key_a)), 409, "conflict")
        assert_error(
            await http.post(f"{path}/explode", headers=bearer(key_a)), 422, "invalid", "action"
        )
        unknown = await http.get(f"{CREATIONS}/0123456789abcdef", headers=bearer(key_a))
        assert_error(unknown, 404, "not_found")
        assert unknown.json()["error"]["message"] == jobs.MSG_NOT_FOUND


async def test_a_key_revoked_while_it_follows_a_job_ends_the_stream(
    sshlab: NodeView, key_a: str, new_vmid: Callable[[], int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(creations_api, "KEEPALIVE_SECONDS", 0.3)
    async with api_client() as http:
        created = await http.post(
            CREATIONS, json={"hostname": "revoked", "vmid": new_vmid()}, headers=bearer(key_a)
        )
        assert created.status_code == 201, created.text
        path = f"{CREATIONS}/{created.json()['job']['id']}/events"

        async def revoke_soon() -> None:
            await asyncio.sleep(1.0)  # the stream is open and sends keep-alives meanwhile
            listed = await keys.list_keys(USER_A)
            assert await keys.revoke_key(USER_A, listed[0].id)

        revoking = asyncio.create_task(revoke_soon())
        # No worker runs: the job stays queued, only the revocation can end this stream.
        stream = await asyncio.wait_for(http.get(path, headers=bearer(key_a)), 20)
        await revoking
    assert stream.status_code == 200
    assert ": keep-alive" in stream.text
    events = _events(stream.text)
    assert [kind for kind, _data, _id in events] == ["status", "error"]
    assert events[-1][1]["error"]["code"] == "unauthenticated"


async def test_a_key_revoked_while_its_job_keeps_logging_ends_the_stream(
    sshlab: NodeView, key_a: str, new_vmid: Callable[[], int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stream is never quiet (an entry every 0.1 s, keep-alive after 0.3 s): the key is
    checked again on a timer all the same, so its revocation still ends the stream."""
    monkeypatch.setattr(creations_api, "KEEPALIVE_SECONDS", 0.3)
    async with api_client() as http:
        created = await http.post(
            CREATIONS, json={"hostname": "chatty", "vmid": new_vmid()}, headers=bearer(key_a)
        )
        assert created.status_code == 201, created.text
        job_id = created.json()["job"]["id"]
        path = f"{CREATIONS}/{job_id}/events"

        async def log_then_revoke() -> None:
            for number in range(10):  # 1 s of output, never 0.3 s quiet
                await progress.append(job_id, "line", stream="stdout", text=f"line {number}")
                await asyncio.sleep(0.1)
            listed = await keys.list_keys(USER_A)
            mine = next(k for k in listed if k.prefix == keys.key_prefix(key_a))
            assert await keys.revoke_key(USER_A, mine.id)
            for number in range(10, 300):  # the job goes on logging
                await progress.append(job_id, "line", stream="stdout", text=f"line {number}")
                await asyncio.sleep(0.1)

        chatter = asyncio.create_task(log_then_revoke())
        try:
            stream = await asyncio.wait_for(http.get(path, headers=bearer(key_a)), 20)
        finally:
            chatter.cancel()
    events = _events(stream.text)
    assert ": keep-alive" not in stream.text
    assert events[-1][0] == "error" and events[-1][1]["error"]["code"] == "unauthenticated"
    assert sum(kind == "line" for kind, _data, _id in events) < 40  # ended soon after


async def test_open_event_streams_are_capped_per_user(
    sshlab: NodeView, key_a: str, new_vmid: Callable[[], int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each open stream holds a Redis connection: past MAX_STREAMS_PER_USER the user's next
    one is refused (429) and nothing is opened; a stream that ends gives its slot back."""
    monkeypatch.setattr(creations_api, "KEEPALIVE_SECONDS", 0.3)
    monkeypatch.setattr(streams, "MAX_STREAMS_PER_USER", 3)
    client = async_client(RedisDb.APP)
    slots = f"api-streams:{USER_A}"
    await client.delete(slots)
    now = time.time()
    await client.zadd(slots, {f"open-{n}": now for n in range(3)})  # three streams open
    async with api_client() as http:
        created = await http.post(
            CREATIONS, json={"hostname": "capped", "vmid": new_vmid()}, headers=bearer(key_a)
        )
        assert created.status_code == 201, created.text
        path = f"{CREATIONS}/{created.json()['job']['id']}/events"
        refused = await http.get(path, headers=bearer(key_a))
        assert_error(refused, 429, "rate_limited")
        assert "Too many open event streams" in refused.json()["error"]["message"]
        assert await client.zcard(slots) == 3

        await client.zrem(slots, "open-0")  # one of them closes

        async def revoke_soon() -> None:
            await asyncio.sleep(1.0)
            assert await client.zcard(slots) == 3  # the new stream holds a slot meanwhile
            listed = await keys.list_keys(USER_A)
            mine = next(k for k in listed if k.prefix == keys.key_prefix(key_a))
            assert await keys.revoke_key(USER_A, mine.id)

        revoking = asyncio.create_task(revoke_soon())
        stream = await asyncio.wait_for(http.get(path, headers=bearer(key_a)), 20)
        await revoking
    assert stream.status_code == 200 and _events(stream.text)[-1][0] == "error"
    assert sorted(await client.zrange(slots, 0, -1)) == [b"open-1", b"open-2"]  # given back
    await client.delete(slots)
