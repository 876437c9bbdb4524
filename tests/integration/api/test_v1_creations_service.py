"""Creations as the HTTP API submits them (`provisioning.creations`): the wizard's defaults,
its rules with the field named, its submit path; and `follow.follow_job`, the replay and
live follow of a job's progress stream that the API serves as Server-Sent Events."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from api_support import USER_A, USER_B
from creations_support import (
    DEBIAN,
    add_node,
    make_template,
    new_vmid,
    run_worker,
    sshlab,
)

from lxc_manager.nodes import NodeView
from lxc_manager.provisioning import creations, jobs
from lxc_manager.provisioning.follow import Ended, Idle, follow_job, valid_after
from lxc_manager.provisioning.progress import ProgressEntry
from lxc_manager.security.actor import Actor
from lxc_manager.templates import service as templates
from lxc_manager.templates.spec import ScriptSpec, TemplateSpec
from tests.support.simulator import SimulatorInfo

__all__ = ["new_vmid", "sshlab"]  # fixtures
ME = Actor(USER_A, False)


async def test_preview_fills_what_the_body_leaves_out_as_the_wizard_does(
    simulator: SimulatorInfo, sshlab: NodeView
) -> None:
    template_id = await make_template()
    found = await creations.preview(ME, {"template_id": template_id, "hostname": "web-1"})
    assert isinstance(found, creations.CreationPreview), found
    req = found.request
    assert (req.node_id, req.pve_node, req.os_template) == (sshlab.id, "pve1", DEBIAN)
    assert (req.cores, req.memory_mb, req.swap_mb, req.disk_gb) == (2, 1024, 128, 5)
    assert (req.storage, req.bridge, req.ipv4, req.tags) == (
        "local-lvm",
        "vmbr0",
        "dhcp",
        ("web", "api"),
    )
    assert req.features.nesting and req.template_name == "Web"
    assert [s.content for s in req.scripts] == ["echo hello from the template"]
    assert found.params["hostname"] == "web-1" and found.params["features"] == "nesting=1"
    # No VMID given: a free one of the cluster.
    with simulator.client() as api:
        taken = {r["vmid"] for r in api.get("/cluster/resources").json()["data"] if "vmid" in r}
    assert req.vmid >= 100 and req.vmid not in taken
    assert len(found.content_digest) == 64


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"hostname": "bad_name!"}, "hostname"),
        ({"hostname": "ok", "cores": 0}, "cores"),
        ({"hostname": "ok", "memory_mb": "lots"}, "memory_mb"),
        ({"hostname": "ok", "vmid": 12}, "vmid"),
        ({"hostname": "ok", "ipv4": "10.0.0.300/24"}, "ipv4"),
        ({"hostname": "ok", "storage": "nowhere"}, "storage"),
        ({"hostname": "ok", "pve_node": "pve9"}, "pve_node"),
        ({"hostname": "ok", "colour": "blue"}, "colour"),
        ({"hostname": "ok", "features": {"nesting": "yes"}}, "features.nesting"),
        ({"hostname": "ok", "template_id": 99999}, "template_id"),
        ({"hostname": "ok", "node_id": 99999}, "node_id"),
        ({"hostname": 5}, "hostname"),
        (
            {"hostname": "ok", "ssh_public_keys": "-----BEGIN OPENSSH PRIVATE KEY-----"},
            "ssh_public_keys",
        ),
        ({"hostname": "ok", "packages": [{"manager": "brew", "name": "x"}]}, "packages.0.manager"),
    ],
)
async def test_bad_input_names_its_field_and_saves_nothing(
    sshlab: NodeView, new_vmid: Callable[[], int], body: dict[str, Any], field: str
) -> None:
    result = await creations.submit(ME, {"vmid": new_vmid(), **body})
    assert result.job_id is None and field in result.errors, result.errors
    assert await jobs.list_jobs(USER_A) == []


async def test_another_users_node_and_template_are_not_found(
    simulator: SimulatorInfo, sshlab: NodeView, new_vmid: Callable[[], int]
) -> None:
    theirs = await add_node(USER_B, simulator, "theirs")
    their_template = await make_template(USER_B, name="Private of B")
    vmid = new_vmid()
    result = await creations.submit(ME, {"hostname": "x", "vmid": vmid, "node_id": theirs.id})
    assert result.errors == {"node_id": jobs.MSG_NODE_NOT_FOUND}
    result = await creations.submit(
        ME, {"hostname": "x", "vmid": vmid, "template_id": their_template}
    )
    assert set(result.errors) == {"template_id"}


async def test_a_stale_digest_is_refused(sshlab: NodeView, new_vmid: Callable[[], int]) -> None:
    template_id = await make_template()
    body = {"template_id": template_id, "hostname": "digest", "vmid": new_vmid()}
    seen = await creations.preview(ME, body)
    assert isinstance(seen, creations.CreationPreview)
    stored = await templates.get_template(ME, template_id)
    assert stored is not None
    changed = TemplateSpec(
        **{**stored.spec.__dict__, "scripts": (ScriptSpec("hello", "echo changed"),)}
    )
    assert (await templates.update_template(ME, template_id, changed)).ok
    result = await creations.submit(ME, {**body, "content_digest": seen.content_digest})
    assert result.job_id is None and "content_digest" in result.errors


def _kinds(items: list[ProgressEntry | Idle | Ended]) -> list[str]:
    return [item.kind if isinstance(item, ProgressEntry) else type(item).__name__ for item in items]


async def test_submit_runs_and_the_follow_replays_and_goes_live_until_the_end(
    sshlab: NodeView, new_vmid: Callable[[], int]
) -> None:
    template_id = await make_template()
    vmid = new_vmid()
    result = await creations.submit(
        ME, {"template_id": template_id, "hostname": "api-made", "vmid": vmid, "cores": 1}
    )
    assert result.job_id is not None, result.errors
    job_id = result.job_id
    view = await jobs.get_job(USER_A, job_id)
    assert view is not None and (view.status, view.vmid, view.hostname) == (
        "queued",
        vmid,
        "api-made",
    )

    live: list[ProgressEntry | Idle | Ended] = []

    async def collect() -> None:
        async for item in follow_job(USER_A, job_id, idle_seconds=0.3, block_ms=200):
            live.append(item)

    follower = asyncio.create_task(collect())
    await asyncio.sleep(1.0)  # the queued entry replayed; idle while no worker runs
    assert _kinds(live)[0] == "status" and "Idle" in _kinds(live) and not follower.done()
    await run_worker()
    await asyncio.wait_for(follower, 30)  # it ends by itself once the job ended
    kinds = _kinds(live)
    assert kinds[-1] == "Ended" and "step" in kinds and "result" in kinds
    ended = live[-1]
    assert isinstance(ended, Ended) and ended.job is not None and ended.job.status == "succeeded"
    assert any(
        isinstance(i, ProgressEntry) and "hello from the template" in i.fields.get("text", "")
        for i in live
    )

    # A finished job: the replay is the whole stream, then the end, at once.
    replay = [item async for item in follow_job(USER_A, job_id, block_ms=200)]
    entries = [i for i in live if isinstance(i, ProgressEntry)]
    assert [i.id for i in replay if isinstance(i, ProgressEntry)] == [e.id for e in entries]
    # Resuming after an entry (Last-Event-ID) gives only what follows it.
    middle = entries[len(entries) // 2]
    resumed = [item async for item in follow_job(USER_A, job_id, after=middle.id, block_ms=200)]
    assert [i.id for i in resumed if isinstance(i, ProgressEntry)] == [
        e.id for e in entries[len(entries) // 2 + 1 :]
    ]
    assert valid_after("12-0") == "12-0" and valid_after(None) == "0-0"
    assert valid_after("$; DROP") is None
