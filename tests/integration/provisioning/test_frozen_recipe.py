"""What a job runs is frozen (issue 12, path 3): the owner of a shared template (or of a
bucket it uses) changes it between the victim's review and submit (refused: review
again), between submit and the worker's run, and before a retry (the job runs what was
reviewed); a job row whose request no longer matches its digest is not run. And the
per-user cap on queued jobs (path 10)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from prov_support import (
    USER_A,
    USER_B,
    add_node,
    in_ct,
    make_request,
    run_burst_worker,
    sim_input,
    stream_of,
)
from sqlmodel import select

from lxc_manager.db.engine import session_scope
from lxc_manager.db.models import ProvisioningJob
from lxc_manager.nodes import NodeView
from lxc_manager.provisioning import jobs, vmids
from lxc_manager.provisioning.recipe import (
    MSG_REVIEW_AGAIN,
    MSG_TEMPLATE_GONE,
    RecipeChoices,
    ScriptChoice,
    resolve_recipe,
    submit_reviewed,
)
from lxc_manager.provisioning.request import request_from_json, request_to_json
from lxc_manager.security.actor import Actor
from lxc_manager.settings import get_settings
from lxc_manager.templates import service as templates
from lxc_manager.templates.service import StoredTemplate
from lxc_manager.templates.spec import BucketSpec, FileSpec, PackageSpec, ScriptSpec, TemplateSpec
from tests.support.simulator import SimulatorInfo

VICTIM = Actor(USER_A, is_admin=False)
OWNER = Actor(USER_B, is_admin=False)

ORIGINAL = """\
echo "original script ran"
if [ ! -f /root/marker ]; then
  echo "no marker yet" >&2
  exit 3
fi
echo "original script finished"
"""
TAMPERED = 'echo "tampered script ran"\ntouch /root/tampered\n'


async def owner_template() -> tuple[int, int]:
    """OWNER's shared bucket (net-tools) and shared template using it (a file, a script)."""
    bucket = await templates.save_bucket(
        OWNER, None, BucketSpec("Owner tools", "", (PackageSpec("apt", "net-tools"),)), "shared"
    )
    assert bucket.ok and bucket.id is not None, bucket.errors
    spec = TemplateSpec(
        name="Owner web",
        os_template="debian-12-standard",
        files=(FileSpec("conf", "/etc/owner.conf", "mode=original\n"),),
        scripts=(ScriptSpec("10-hello.sh", ORIGINAL),),
        buckets=("Owner tools",),
    )
    created = await templates.create_template(OWNER, spec, "shared")
    assert created.ok and created.id is not None, created.errors
    return created.id, bucket.id


async def tamper(template_id: int, bucket_id: int, script: str = TAMPERED) -> None:
    """The owner rewrites the script and the file, and swaps the bucket's package."""
    stored = await templates.get_template(OWNER, template_id)
    assert stored is not None
    changed = replace(
        stored.spec,
        files=(FileSpec("conf", "/etc/owner.conf", "mode=tampered\n"),),
        scripts=(ScriptSpec("10-hello.sh", script),),
    )
    assert (await templates.update_template(OWNER, template_id, changed)).ok
    swapped = BucketSpec("Owner tools", "", (PackageSpec("apt", "ufw"),))
    assert (await templates.save_bucket(OWNER, bucket_id, swapped)).ok


def wizard_choices(stored: StoredTemplate) -> RecipeChoices:
    """What the wizard keeps after choosing the template (as `_choose_template` does)."""
    spec = stored.spec
    return RecipeChoices(
        template_id=stored.id,
        scripts=tuple(ScriptChoice(s.name, s.enabled) for s in spec.scripts),
        packages=spec.packages,
        buckets=spec.buckets,
    )


def job_rows() -> list[ProvisioningJob]:
    with session_scope() as db:
        return list(db.exec(select(ProvisioningJob)))


def lines_of(entries: list) -> list[str]:  # type: ignore[type-arg]
    return [e.fields["text"] for e in entries if e.kind == "line"]


async def test_a_change_between_review_and_submit_is_refused(
    simulator: SimulatorInfo, sshnode: NodeView, new_vmid: Callable[[], int]
) -> None:
    template_id, bucket_id = await owner_template()
    stored = await templates.get_template(VICTIM, template_id)
    assert stored is not None and stored.read_only
    choices = wizard_choices(stored)
    review = await asyncio.to_thread(resolve_recipe, VICTIM, choices)
    assert [s.content for s in review.scripts] == [ORIGINAL]
    assert [p.name for p in review.packages] == ["net-tools"]
    vmid = new_vmid()
    base = make_request(sshnode, vmid)

    # the owner changes the script after the victim's review
    stored_now = await templates.get_template(OWNER, template_id)
    assert stored_now is not None
    scripts = (ScriptSpec("10-hello.sh", TAMPERED),)
    assert (
        await templates.update_template(
            OWNER, template_id, replace(stored_now.spec, scripts=scripts)
        )
    ).ok
    refused = await submit_reviewed(VICTIM, base, choices, review.digest)
    assert refused.errors == {"form": MSG_REVIEW_AGAIN} and refused.job_id is None
    assert job_rows() == [] and await vmids.holder(USER_A, sshnode.cluster_key, vmid) is None

    # reviewed again; then the owner swaps the bucket's package
    second = await asyncio.to_thread(resolve_recipe, VICTIM, choices)
    assert [s.content for s in second.scripts] == [TAMPERED] and second.digest != review.digest
    swapped = BucketSpec("Owner tools", "", (PackageSpec("apt", "ufw"),))
    assert (await templates.save_bucket(OWNER, bucket_id, swapped)).ok
    refused = await submit_reviewed(VICTIM, base, choices, second.digest)
    assert refused.errors == {"form": MSG_REVIEW_AGAIN}
    assert await submit_reviewed(VICTIM, base, choices, "") == refused  # never reviewed
    assert job_rows() == [] and await vmids.holder(USER_A, sshnode.cluster_key, vmid) is None

    # made private by its owner: no longer usable, nothing of it is shown
    current = await templates.get_template(OWNER, template_id)
    assert current is not None
    assert (await templates.update_template(OWNER, template_id, current.spec, None, "private")).ok
    gone = await submit_reviewed(VICTIM, base, choices, second.digest)
    assert gone.errors == {"form": MSG_TEMPLATE_GONE} and job_rows() == []
    assert (await templates.update_template(OWNER, template_id, current.spec, None, "shared")).ok

    # what the review shows is what is submitted and stored, digest included
    third = await asyncio.to_thread(resolve_recipe, VICTIM, choices)
    accepted = await submit_reviewed(VICTIM, base, choices, third.digest)
    assert accepted.job_id is not None, accepted.errors
    (row,) = job_rows()
    assert row.content_digest == third.digest and row.template_name == "Owner web"
    request = request_from_json(row.request)
    assert request.scripts == third.scripts and request.packages == third.packages
    view = await jobs.get_job(USER_A, accepted.job_id)
    assert view is not None and view.content_digest == third.digest
    await vmids.release(USER_A, sshnode.cluster_key, vmid, accepted.job_id)


async def test_a_queued_or_retried_job_runs_what_was_reviewed(
    simulator: SimulatorInfo, sshnode: NodeView, new_vmid: Callable[[], int]
) -> None:
    template_id, bucket_id = await owner_template()
    stored = await templates.get_template(VICTIM, template_id)
    assert stored is not None
    choices = wizard_choices(stored)
    review = await asyncio.to_thread(resolve_recipe, VICTIM, choices)
    vmid = new_vmid()
    result = await submit_reviewed(VICTIM, make_request(sshnode, vmid), choices, review.digest)
    assert result.job_id is not None, result.errors
    job_id = result.job_id

    await tamper(template_id, bucket_id)  # while the job waits in the queue
    await asyncio.to_thread(run_burst_worker)

    failed = await jobs.get_job(USER_A, job_id)
    assert failed is not None and (failed.status, failed.step) == ("failed", 6), failed
    first_run = await stream_of(job_id)
    lines = lines_of(first_run)
    assert "original script ran" in lines and "no marker yet" in lines
    assert not any("tampered" in line for line in lines)

    async def run(*argv: str) -> tuple[int, str]:
        return await in_ct(sshnode, "pve1", vmid, list(argv))

    assert await run("cat", "/etc/owner.conf") == (0, "mode=original\n")
    assert (await run("dpkg", "-s", "net-tools"))[0] == 0
    assert (await run("dpkg", "-s", "ufw"))[0] != 0

    # before the retry the owner changes everything again: the retry runs the frozen job
    await tamper(template_id, bucket_id, TAMPERED + "echo again\n")
    assert await run("touch", "/root/marker") == (0, "")
    assert await jobs.retry(USER_A, job_id) is None
    await asyncio.to_thread(run_burst_worker)
    done = await jobs.get_job(USER_A, job_id)
    assert done is not None and (done.status, done.attempts) == ("succeeded", 2), done
    retried = lines_of((await stream_of(job_id))[len(first_run) :])
    assert "original script finished" in retried
    assert not any("tampered" in line or line == "again" for line in retried)
    assert (await run("test", "-e", "/root/tampered"))[0] != 0
    assert (await run("dpkg", "-s", "ufw"))[0] != 0
    assert done.content_digest == review.digest


async def test_a_job_whose_stored_request_no_longer_matches_its_digest_is_not_run(
    simulator: SimulatorInfo, sshnode: NodeView, new_vmid: Callable[[], int]
) -> None:
    vmid = new_vmid()
    choices = RecipeChoices()
    review = await asyncio.to_thread(resolve_recipe, VICTIM, choices)
    result = await submit_reviewed(VICTIM, make_request(sshnode, vmid), choices, review.digest)
    assert result.job_id is not None, result.errors
    with session_scope() as db:  # the row is changed behind the app's back
        row = db.get(ProvisioningJob, result.job_id)
        assert row is not None
        evil = (ScriptSpec("evil.sh", 'echo "should never run"\n'),)
        row.request = request_to_json(replace(request_from_json(row.request), scripts=evil))
        db.add(row)
    await asyncio.to_thread(run_burst_worker)
    view = await jobs.get_job(USER_A, result.job_id)
    assert view is not None and view.status == "failed", view
    assert "The stored request cannot be read" in view.error
    assert "should never run" not in lines_of(await stream_of(result.job_id))
    state = simulator.admin_call("GET", "/_sim/state")
    assert not any(c["vmid"] == vmid for c in state["containers"])


@pytest.fixture
def two_jobs_at_most(monkeypatch: pytest.MonkeyPatch, prov_db: Path) -> None:
    monkeypatch.setenv("LXCM_MAX_QUEUED_JOBS_PER_USER", "2")
    get_settings.cache_clear()


@pytest.mark.usefixtures("two_jobs_at_most")
async def test_queued_jobs_per_user_are_capped(
    reset_faults: SimulatorInfo, apinode: NodeView, new_vmid: Callable[[], int]
) -> None:
    simulator = reset_faults
    limit_message = jobs.MSG_QUEUE_LIMIT.format(limit=2)
    # one job that fails (Proxmox refuses the create), so it can be retried later
    simulator.admin_call("POST", "/_sim/faults", {"fail_tasks": 1, "fail_message": "full"})
    failing = await jobs.submit(USER_A, make_request(apinode, new_vmid()))
    assert failing.job_id is not None
    await asyncio.to_thread(run_burst_worker)
    assert (await jobs.get_job(USER_A, failing.job_id)).status == "failed"  # type: ignore[union-attr]

    held = [new_vmid() for _ in range(3)]
    first = await jobs.submit(USER_A, make_request(apinode, held[0]))
    second = await jobs.submit(USER_A, make_request(apinode, held[1]))
    assert first.job_id and second.job_id
    third = await jobs.submit(USER_A, make_request(apinode, held[2]))
    assert third.errors == {"form": limit_message} and third.job_id is None
    assert len(job_rows()) == 3 and await vmids.holder(USER_A, apinode.cluster_key, held[2]) is None
    assert await jobs.retry(USER_A, failing.job_id) == limit_message
    assert (await jobs.get_job(USER_A, failing.job_id)).status == "failed"  # type: ignore[union-attr]
    # another user has a count of their own
    other = await add_node(USER_B, sim_input(simulator, "theirs", ssh=False))
    theirs = await jobs.submit(USER_B, make_request(other, held[2]))
    assert theirs.job_id is not None, theirs.errors
    for job_id, vmid in (
        (first.job_id, held[0]),
        (second.job_id, held[1]),
        (theirs.job_id, held[2]),
    ):
        await vmids.release(USER_A, apinode.cluster_key, vmid, job_id)


@pytest.mark.usefixtures("two_jobs_at_most")
async def test_racing_submits_never_pass_the_cap(
    simulator: SimulatorInfo, apinode: NodeView, new_vmid: Callable[[], int]
) -> None:
    first = await jobs.submit(USER_A, make_request(apinode, new_vmid()))
    assert first.job_id is not None
    racers = await asyncio.gather(
        *(jobs.submit(USER_A, make_request(apinode, new_vmid())) for _ in range(4))
    )
    accepted = [r for r in racers if r.job_id is not None]
    assert len(accepted) <= 1, racers
    assert all(r.errors in ({}, {"form": jobs.MSG_QUEUE_LIMIT.format(limit=2)}) for r in racers)
    assert len([j for j in job_rows() if j.status == "queued"]) == 1 + len(accepted) <= 2
