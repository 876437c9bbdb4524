"""The steps of a provisioning job, run by an RQ work-horse (`jobs.run_job`).

1 Create      final `GET /cluster/nextid?vmid=N`, POST lxc, follow the task; keyctl/fuse
              with `pct set` over SSH (only root@pam may set them)
2 Start       start the container, follow the task
3 Wait        running, network up, address known (`/interfaces`, else `ip -j addr`)
4 Files       wait for the container to take commands, then each file by its policy
              (replace / default = only if absent / backup = keep FILE.bak), `pct push --perms`
5 Packages    apt-get update once + install (non-interactive), npm -g, pip, custom commands
6 Scripts     the enabled scripts in order through `bash -s` with the helper preamble
7 Discover    running services, their ports and web links (`containers.detail`)
8 Done

Without SSH credentials steps 4-7 are skipped (a request that needs them is refused on
submit). Every step writes a start and an end event (`store`) and its state to the progress
stream; output lines go to the stream as they come. A heartbeat keeps the job row fresh; a
run that loses its job (declared stale, destroyed) stops at once without writing.

This module runs the steps (heartbeat, deadline, failures, the final status); the steps
themselves are in `pipeline_steps`, and what they share (`_Run`, `StepFailed`, the step
names and limits) in `pipeline_run`.
"""

from __future__ import annotations

import asyncio
import logging

import redis.exceptions
from sqlalchemy.exc import SQLAlchemyError

from lxc_manager.db.models import ProvisioningJob
from lxc_manager.nodes import (
    NodeNotFound,
    NodeSecretError,
    NodeView,
    client_for,
    get_node_sync,
    ssh_target_for,
)
from lxc_manager.proxmox import ProxmoxClient, ProxmoxError
from lxc_manager.proxmox.errors import MSG_UNEXPECTED
from lxc_manager.ssh import SshError, SshPool, SshTarget

from . import job_rows, progress, store, vmids
from .pipeline_run import (
    COMMAND_TIMEOUT,
    STEP_COUNT,
    STEP_NAMES,
    StepFailed,
    _JobLost,
    _Run,
    _user_message,
    step_name,
)
from .pipeline_steps import _SSH_STEPS, _STEPS
from .progress import ProgressWriter
from .request import request_digest, request_from_json
from .semaphore import node_limiter

__all__ = [
    "HEARTBEAT_SECONDS",
    "JOB_DEADLINE_SECONDS",
    "STEP_COUNT",
    "STEP_NAMES",
    "StepFailed",
    "run_pipeline",
    "step_name",
]

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 3.0
JOB_DEADLINE_SECONDS = 3300.0  # below the RQ job timeout (3600 s): the run ends cleanly first


# -- running the steps ------------------------------------------------------------------------


async def _run_step(run: _Run, number: int) -> None:
    run.step = number
    if number in _SSH_STEPS and run.target is None:
        ended = ("skipped", "the node has no SSH credentials")
        if not await asyncio.to_thread(store.step_started, run.job.id, run.attempt, number, ended):
            raise _JobLost()
        await run.state(*ended)
        return
    if not await asyncio.to_thread(store.step_started, run.job.id, run.attempt, number):
        raise _JobLost()
    await run.state("running")
    try:
        result = await _STEPS[number](run)
    except (asyncio.CancelledError, _JobLost):
        raise
    except Exception as exc:
        message = _user_message(exc)
        if not isinstance(exc, StepFailed | ProxmoxError | SshError):
            log.exception("job %s step %s failed unexpectedly", run.job.id, number)
        else:
            log.info("job %s step %s failed: %r", run.job.id, number, exc)
        if number == 1:
            await run.audit("container.create", False, message)
        await asyncio.to_thread(store.add_event, run.job.id, number, "end", "failed", message)
        await run.state("failed", message)
        raise StepFailed(message) from exc
    outcome, message = ("ok", result) if result is not None else ("skipped", "nothing to do")
    await asyncio.to_thread(store.add_event, run.job.id, number, "end", outcome, message)
    await run.state(outcome, message)


async def _finish(run: _Run, status: str, error: str = "") -> None:
    step = STEP_COUNT if status == "succeeded" else run.step
    if not await asyncio.to_thread(store.finish, run.job.id, run.attempt, status, step, error):
        raise _JobLost()
    await run.writer.entry(
        "result",
        outcome=status,
        error=error,
        vmid=run.vmid,
        ip=run.ip or "",
        step=step,
        name=step_name(step),
    )
    await run.writer.entry("status", status=status, step=step, message=error)


def _connections(user_id: str, node_id: int) -> tuple[NodeView, ProxmoxClient, SshTarget | None]:
    """The job's node, an API client and the SSH target (one thread hop)."""
    return (
        get_node_sync(user_id, node_id),
        client_for(user_id, node_id),
        ssh_target_for(user_id, node_id),
    )


async def _fail_early(job: ProvisioningJob, message: str) -> None:
    """The run cannot even begin (node gone, unreadable request): fail the job."""
    await asyncio.to_thread(store.add_event, job.id, job.step, "end", "failed", message)
    if await asyncio.to_thread(store.finish, job.id, job.attempts, "failed", job.step, message):
        async with ProgressWriter(job.id) as writer:
            await writer.entry(
                "result", outcome="failed", error=message, vmid=job.vmid, step=job.step
            )
            await writer.entry("status", status="failed", step=job.step, message=message)
    await vmids.release(job.user_id, job.cluster_key, job.vmid, job.id)


async def _fail_unexpectedly(job: ProvisioningJob) -> str | None:
    """Fail the job at the step it reached, as far as the database and Redis allow."""
    try:
        current = await asyncio.to_thread(store.load_job, job.id)
        step = current.step if current is not None else job.step
        error = f"Step {step} ({step_name(step)}): {MSG_UNEXPECTED}"
        if not await asyncio.to_thread(store.finish, job.id, job.attempts, "failed", step, error):
            return None
        await asyncio.to_thread(store.add_event, job.id, step, "end", "failed", error)
        await progress.append(
            job.id, "result", outcome="failed", error=error, vmid=job.vmid, step=step
        )
        await progress.append(job.id, "status", status="failed", step=step, message=error)
    except (SQLAlchemyError, redis.exceptions.RedisError):
        log.exception("job %s: could not record the failure (stale detection will)", job.id)
    return "failed"


async def run_pipeline(job_id: str, from_step: int = 1) -> str | None:
    """Claim the queued job and run its steps from `from_step`; the final status, or None
    when the job was not queued (nothing was done) or was taken away while running."""
    job = await asyncio.to_thread(store.claim, job_id, from_step)
    if job is None:
        log.info("job %s is not queued: nothing to do", job_id)
        return None
    try:
        # Only the job's own row says what to run (frozen at submit, DESIGN §3.3): never
        # the template or its buckets, which may have changed since.
        req = request_from_json(job.request)
        if job.content_digest and request_digest(req) != job.content_digest:
            raise ValueError("the stored request does not match its content digest")
        node, client, target = await asyncio.to_thread(_connections, job.user_id, job.node_id or 0)
    except (ValueError, NodeNotFound, NodeSecretError) as exc:
        message = (
            "The node of this job no longer exists"
            if isinstance(exc, NodeNotFound)
            else exc.user_message
            if isinstance(exc, NodeSecretError)
            else "The stored request cannot be read"
        )
        log.warning("job %s cannot start: %r", job_id, exc)
        await _fail_early(job, message)
        return "failed"
    main = asyncio.current_task()
    assert main is not None
    lost = asyncio.Event()
    beat = asyncio.create_task(
        job_rows.keep_alive(
            store.heartbeat, job_id, job.attempts, main, lost,
            every=HEARTBEAT_SECONDS, what="job", log=log,
        )
    )  # fmt: skip
    limiter = node_limiter(job.user_id, job.cluster_key, job.pve_node)
    try:
        async with (
            ProgressWriter(job_id) as writer,
            client,
            SshPool(limiter=limiter, command_timeout=COMMAND_TIMEOUT) as pool,
        ):
            run = _Run(job, job.attempts, req, node, client, target, pool, writer)
            await writer.entry("status", status="running", step=from_step, attempt=job.attempts)
            return await _run_steps(run, from_step)
    except _JobLost:
        log.warning("job %s: run %s stopped (the job is no longer its)", job_id, job.attempts)
        return None
    except asyncio.CancelledError:
        if not lost.is_set():
            raise
        main.uncancel()
        log.warning("job %s: run %s stopped (the job is no longer its)", job_id, job.attempts)
        return None
    except Exception:  # e.g. Redis or the database failed between steps
        log.exception("job %s failed unexpectedly", job_id)
        return await _fail_unexpectedly(job)
    finally:
        beat.cancel()
        await asyncio.gather(beat, return_exceptions=True)
        await vmids.release(job.user_id, job.cluster_key, job.vmid, job.id)


async def _run_steps(run: _Run, from_step: int) -> str:
    try:
        async with asyncio.timeout(JOB_DEADLINE_SECONDS):
            for number in range(from_step, STEP_COUNT + 1):
                await _run_step(run, number)
    except StepFailed as failure:
        error = f"Step {run.step} ({step_name(run.step)}): {failure.message}"
        await _finish(run, "failed", error)
        return "failed"
    except TimeoutError:
        error = f"Step {run.step} ({step_name(run.step)}): the job ran out of time"
        await asyncio.to_thread(store.add_event, run.job.id, run.step, "end", "failed", error)
        await _finish(run, "failed", error)
        return "failed"
    await _finish(run, "succeeded")
    return "succeeded"
