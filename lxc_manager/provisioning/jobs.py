"""Provisioning jobs for the pages: submit, look at, retry, destroy, keep; stale detection;
and `run_job`, the RQ entry point.

Everything is scoped to the user: another user's node or job is "not found". A user has
at most `LXCM_MAX_QUEUED_JOBS_PER_USER` jobs queued or running (a submit or retry beyond
that is refused). A submit is validated again on the server, reserves its VMID for the cluster (`vmid-hold:{user}:{cluster}:{vmid}`,
so of two racing submits exactly one wins), writes a `ProvisioningJob` row and enqueues
`run_job(job_id)` on the `provisioning` RQ queue. The row keeps the whole request (scripts,
files and packages as submitted) and its `content_digest`: a run reads only that row,
never the template or its buckets (the wizard submits through `recipe.submit_reviewed`). Steps are not blindly repeatable (a
half-built container exists), so RQ never retries by itself: `retry` runs the same job
again from its failed step when the user asks.

Stale detection (`mark_stale_jobs`): a running job whose heartbeat (every
`pipeline.HEARTBEAT_SECONDS`) is older than `STALE_AFTER_SECONDS` is marked failed and
retryable. It runs in `lxc-manager serve`'s supervisor loop (every
`STALE_CHECK_INTERVAL` seconds), when a worker starts, and for the rows `get_job` /
`list_jobs` are about to show, so a dead worker never leaves a job "running" on a page.

    result = await submit(user_id, request)
    if result.errors: show them next to the fields
    else: go to /containers/jobs/{result.job_id}

The job views (`get_job`, `list_jobs`) are in `jobs_views` and stale detection in
`jobs_stale`; both are re-exported here.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field

import redis
import redis.exceptions
from rq import Queue
from sqlalchemy.exc import SQLAlchemyError

from lxc_manager import redis_client
from lxc_manager.containers.lifecycle import delete_container
from lxc_manager.db.models import ProvisioningEvent, ProvisioningJob
from lxc_manager.nodes import NodeNotFound, NodeSecretError, NodeView, client_for, get_node_sync
from lxc_manager.proxmox import NotFound, ProxmoxError
from lxc_manager.proxmox.errors import short_message
from lxc_manager.redis_client import RedisDb
from lxc_manager.security import audit
from lxc_manager.settings import get_settings

from . import progress, store, vmids
from .jobs_stale import STALE_AFTER_SECONDS, STALE_CHECK_INTERVAL, _mark_stale, mark_stale_jobs
from .jobs_views import ACTIVE, JobView, StepView, _user_job, get_job, list_jobs
from .pipeline import run_pipeline
from .request import CreateRequest, request_digest, request_to_json, validate_request

__all__ = [
    "HOLD_SECONDS",
    "MSG_NOT_FOUND",
    "QUEUE",
    "RQ_JOB_TIMEOUT",
    "STALE_AFTER_SECONDS",
    "STALE_CHECK_INTERVAL",
    "JobView",
    "StepView",
    "SubmitResult",
    "destroy",
    "get_job",
    "keep",
    "list_jobs",
    "mark_destroyed",
    "mark_stale_jobs",
    "operation_running",
    "retry",
    "run_job",
    "submit",
]

log = logging.getLogger(__name__)

QUEUE = "provisioning"
RQ_JOB_TIMEOUT = 3600
HOLD_SECONDS = RQ_JOB_TIMEOUT + 900  # the VMID stays held while a job may still be queued

MSG_NOT_FOUND = "This job does not exist"
MSG_NODE_NOT_FOUND = "Node not found"
MSG_VMID_RACE = "VMID {vmid} was just taken by another request"
MSG_QUEUE_FAILED = "The job could not be queued (internal error); try again"
MSG_QUEUE_LIMIT = (
    "You already have {limit} containers queued or being created, the most at once "
    "(LXCM_MAX_QUEUED_JOBS_PER_USER): wait until one has finished"
)


@dataclass(frozen=True)
class SubmitResult:
    """`job_id` when the job was queued; otherwise `errors` ({field: message}) say why."""

    job_id: str | None
    errors: dict[str, str] = field(default_factory=dict)


# -- submit -----------------------------------------------------------------------------------


def _enqueue(job_id: str, from_step: int, rq_job_id: str) -> None:
    Queue(QUEUE, connection=redis_client.sync_client(RedisDb.RQ)).enqueue(
        run_job,
        job_id,
        from_step,
        job_id=rq_job_id,
        job_timeout=RQ_JOB_TIMEOUT,
        result_ttl=3600,
        failure_ttl=7 * 86400,
        description=f"provision {job_id} from step {from_step}",
    )


def _pve_node_error(node: NodeView, pve_node: str) -> str | None:
    if node.pve_nodes and pve_node not in node.pve_nodes:
        return f"{pve_node} is not a Proxmox node of {node.name}"
    return None


_audit = audit.record_done


async def _vmid_problem(user_id: str, node_id: int, cluster_key: str, vmid: int) -> str | None:
    """Why the VMID cannot be reserved according to the cache (None: try to reserve it).
    When Proxmox cannot be asked, the final check before create decides."""
    try:
        found = await vmids.lookup_or_fill(user_id, node_id, cluster_key, vmid)
    except (ProxmoxError, NodeSecretError) as exc:
        log.info("submit: VMID cache of %s not available: %r", cluster_key, exc)
        found = await vmids.lookup(user_id, cluster_key, vmid)
    if found.held_by is not None:
        return MSG_VMID_RACE.format(vmid=vmid)
    return vmids.taken_message(vmid, found) if found.taken else None


def _active_count(user_id: str) -> int:
    """The user's queued and running jobs (a running one whose worker died is marked
    failed first: it no longer counts)."""
    active = store.jobs_of(user_id, ACTIVE)
    running = [job.id for job in active if job.status == "running"]
    if running and _mark_stale(running):
        active = store.jobs_of(user_id, ACTIVE)
    return len(active)


async def _queue_limit_error(user_id: str, *, including_new: bool) -> dict[str, str]:
    """{"form": message} when the user has too many active jobs; `including_new` when the
    new job's row is already counted (the check after the insert, which decides races)."""
    limit = get_settings().max_queued_jobs_per_user
    count = await asyncio.to_thread(_active_count, user_id)
    over = count > limit if including_new else count >= limit
    return {"form": MSG_QUEUE_LIMIT.format(limit=limit)} if over else {}


async def submit(user_id: str, req: CreateRequest) -> SubmitResult:
    """Validate, reserve the VMID, save and queue the job. Nothing is saved or held when
    `errors` is not empty. The row keeps the request and its content digest."""
    try:
        node = await asyncio.to_thread(get_node_sync, user_id, req.node_id)
    except NodeNotFound:
        return SubmitResult(None, {"node_id": MSG_NODE_NOT_FOUND})
    errors = validate_request(req, has_ssh=node.has_ssh)
    if "pve_node" not in errors and (problem := _pve_node_error(node, req.pve_node)):
        errors["pve_node"] = problem
    if errors:
        return SubmitResult(None, errors)
    if limit_error := await _queue_limit_error(user_id, including_new=False):
        return SubmitResult(None, limit_error)
    cluster_key = vmids.cluster_key_of(node)
    job_id = uuid.uuid4().hex
    try:
        problem = await _vmid_problem(user_id, node.id, cluster_key, req.vmid)
        if problem is None and not await vmids.reserve(
            user_id, cluster_key, req.vmid, job_id, HOLD_SECONDS
        ):
            problem = MSG_VMID_RACE.format(vmid=req.vmid)
    except redis.exceptions.RedisError:
        log.exception("submit: Redis failed")
        return SubmitResult(None, {"form": MSG_QUEUE_FAILED})
    if problem is not None:
        return SubmitResult(None, {"vmid": problem})
    job = ProvisioningJob(
        id=job_id,
        user_id=user_id,
        node_id=node.id,
        cluster_key=cluster_key,
        pve_node=req.pve_node,
        vmid=req.vmid,
        hostname=req.hostname,
        template_id=req.template_id,
        template_name=req.template_name,
        request=request_to_json(req),
        content_digest=request_digest(req),
        status="queued",
        rq_job_id=f"prov-{job_id}-1",
    )
    try:
        await asyncio.to_thread(store.insert_job, job)
        # Counted again with the row in: of racing submits, none goes over the limit.
        if limit_error := await _queue_limit_error(user_id, including_new=True):
            await vmids.release(user_id, cluster_key, req.vmid, job_id)
            await asyncio.to_thread(store.delete_job, job_id)
            return SubmitResult(None, limit_error)
        await progress.append(job_id, "status", status="queued", step=1)
        await asyncio.to_thread(_enqueue, job_id, 1, job.rq_job_id)
    except (SQLAlchemyError, redis.exceptions.RedisError):
        log.exception("submit of job %s failed", job_id)
        await vmids.release(user_id, cluster_key, req.vmid, job_id)
        try:  # nothing of the job stays behind
            await asyncio.to_thread(store.delete_job, job_id)
        except SQLAlchemyError:
            log.exception("could not remove job %s", job_id)
        return SubmitResult(None, {"form": MSG_QUEUE_FAILED})
    template = f" from template {req.template_name}" if req.template_name else ""
    await _audit(
        "container.provision",
        user_id,
        f"ct:{node.name}/{req.vmid}",
        True,
        f"job {job_id}: {req.hostname} on {req.pve_node}{template}",
    )
    return SubmitResult(job_id, {})


# -- retry, destroy, keep -----------------------------------------------------------------------


async def retry(user_id: str, job_id: str) -> str | None:
    """Run a failed job again from its failed step (same job id); an error message, or None
    when it was queued."""
    job = await asyncio.to_thread(_user_job, user_id, job_id)
    if job is None:
        return MSG_NOT_FOUND
    if job.status != "failed":
        return "Only a failed job can be retried"
    if await asyncio.to_thread(operation_running, job):
        return MSG_OPERATION_RUNNING
    if limit_error := await _queue_limit_error(user_id, including_new=False):
        return limit_error["form"]
    from_step = max(1, job.step)
    if (
        from_step == 1
        and not await vmids.reserve(job.user_id, job.cluster_key, job.vmid, job.id, HOLD_SECONDS)
        and await vmids.holder(job.user_id, job.cluster_key, job.vmid) != job.id
    ):
        return MSG_VMID_RACE.format(vmid=job.vmid)
    changed = await asyncio.to_thread(
        store.set_status,
        job_id,
        user_id,
        expected=("failed",),
        status="queued",
        error="",
        event=(from_step, "note", f"retry from step {from_step}"),
    )
    if not changed:
        return "Only a failed job can be retried"
    rq_job_id = f"prov-{job_id}-{job.attempts + 1}"
    try:
        await progress.append(job_id, "status", status="queued", step=from_step)
        await asyncio.to_thread(_enqueue, job_id, from_step, rq_job_id)
    except redis.exceptions.RedisError:
        log.exception("retry of job %s could not be queued", job_id)
        await asyncio.to_thread(
            store.set_status,
            job_id,
            user_id,
            expected=("queued",),
            status="failed",
            error=MSG_QUEUE_FAILED,
        )
        return MSG_QUEUE_FAILED
    await _audit(
        "container.provision", user_id, f"job:{job_id}", True, f"retry from step {from_step}"
    )
    return None


def _created(events: list[ProvisioningEvent]) -> bool:
    """Did some run of the job get past step 1 (so the container is the job's own)?"""
    return any(e.kind == "end" and e.step == 1 and e.outcome == "ok" for e in events)


async def _container_of(user_id: str, job: ProvisioningJob) -> str:
    """ "absent", "ours" (the VMID holds a container with the job's host name) or "other".
    Raises NodeNotFound, NodeSecretError or a ProxmoxError."""
    client = await asyncio.to_thread(client_for, user_id, job.node_id or 0)
    try:
        async with client:
            config = await client.lxc_config(job.pve_node, job.vmid)
    except NotFound:
        return "absent"
    return "ours" if config.hostname == job.hostname else "other"


async def destroy(user_id: str, job_id: str) -> str | None:
    """Delete the half-built container of a failed job (stopping it first) and mark the
    job destroyed; an error message, or None when done. A guest on that VMID that is not
    the job's (another host name) is never touched."""
    job = await asyncio.to_thread(_user_job, user_id, job_id)
    if job is None:
        return MSG_NOT_FOUND
    if job.status != "failed":
        return "Only a failed job's container can be destroyed here"
    if await asyncio.to_thread(operation_running, job):
        return MSG_OPERATION_RUNNING
    events = (await asyncio.to_thread(store.events_of, [job.id]))[job.id]
    created = _created(events)
    message = "nothing was created"
    if job.node_id is not None:
        try:
            found = await _container_of(user_id, job)
        except NodeNotFound:
            return MSG_NODE_NOT_FOUND
        except NodeSecretError as exc:
            return exc.user_message
        except ProxmoxError as exc:
            return short_message(exc)
        if found == "other" and created:
            return f"CT {job.vmid} is not the container this job created: it was left alone"
        if found == "ours":
            result = await delete_container(
                user_id, job.node_id, job.pve_node, job.vmid, purge=True, stop_first=True
            )
            if not result.ok:
                return result.message
            message = f"CT {job.vmid} deleted"
        elif created:
            message = f"CT {job.vmid} was already gone"
    return await mark_destroyed(job, message)


async def mark_destroyed(job: ProvisioningJob, message: str) -> str | None:
    """The failed job's container is gone (`message` says how): the job becomes
    "destroyed" and its VMID is released; an error message when the job changed meanwhile."""
    changed = await asyncio.to_thread(
        store.set_status,
        job.id,
        job.user_id,
        expected=("failed",),
        status="destroyed",
        event=(job.step, "destroyed", message),
    )
    if not changed:
        return "The job changed meanwhile; reload"
    await vmids.release(job.user_id, job.cluster_key, job.vmid, job.id)
    try:
        await progress.append(job.id, "status", status="destroyed", step=job.step, message=message)
    except redis.exceptions.RedisError:
        log.warning("progress of job %s: Redis failed", job.id, exc_info=True)
    return None


MSG_OPERATION_RUNNING = (
    "A backup-then-destroy of this container is queued or running: wait until it has ended"
)


def operation_running(job: ProvisioningJob) -> bool:
    """Is an operation (e.g. "back up first, then destroy") queued or running on the job's
    container? Retry and destroy wait for it."""
    return job.node_id is not None and store.operation_active(job.user_id, job.node_id, job.vmid)


async def keep(user_id: str, job_id: str) -> str | None:
    """Leave the failed job's container for debugging (the job stays failed, with a note)."""
    job = await asyncio.to_thread(_user_job, user_id, job_id)
    if job is None:
        return MSG_NOT_FOUND
    if job.status != "failed":
        return "Only a failed job can be kept"
    await asyncio.to_thread(
        store.add_event, job.id, job.step, "kept", "", "kept for debugging by the user"
    )
    await _audit("container.provision", user_id, f"job:{job_id}", True, "kept for debugging")
    return None


# -- the RQ entry point -------------------------------------------------------------------------


async def _run_and_close(job_id: str, from_step: int) -> str | None:
    try:
        return await run_pipeline(job_id, from_step)
    finally:
        await redis_client.async_client().aclose()


def run_job(job_id: str, from_step: int = 1) -> None:
    """RQ entry point (a forked work-horse): the job's own event loop, HTTP and SSH
    connections and Redis client."""
    redis_client.async_client.cache_clear()
    try:
        status = asyncio.run(_run_and_close(job_id, from_step))
    finally:
        redis_client.async_client.cache_clear()
    log.info("job %s from step %s: %s", job_id, from_step, status or "not run")
