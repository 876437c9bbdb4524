""" "Back up first" on the destroy of a failed creation (the job page's destroy dialog).

    started = await destroy_after_backup(user_id, job_id)
    if started.job_id: go to routes.job(started.job_id)      else: show started.message

One operation job with two steps: `backup` (vzdump of the half-built container to the
first backup storage its PVE node can use, shared ones first) and `destroy-failed-job`
(the job page's destroy: the container is stopped and purged, only when it still is the
job's own, i.e. carries the job's host name). The provisioning job's status follows the
outcome:

- the delete step succeeds: the provisioning job becomes "destroyed" (its event says which
  backup was made) and its VMID is released;
- the backup fails (or the delete does): the provisioning job stays "failed", retryable
  and destroyable, with its container untouched by the failed step. Nothing is lost.

While the operation is queued or running, the provisioning job's retry and destroy wait
(`jobs.MSG_OPERATION_RUNNING`). Privileges are checked before anything starts
(`VM.Backup` on the CT, `Datastore.AllocateSpace` on the storage, `VM.Allocate` for the
delete); the request, each step and every refusal are audited.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from lxc_manager.db.models import ProvisioningJob
from lxc_manager.nodes import NodeNotFound, NodeSecretError, client_for
from lxc_manager.operations.jobs import Step, submit
from lxc_manager.operations.registry import register
from lxc_manager.operations.run import StepContext, StepFailed
from lxc_manager.provisioning import jobs
from lxc_manager.provisioning.jobs_views import user_job
from lxc_manager.proxmox import NotFound, ProxmoxError
from lxc_manager.proxmox.backup_api import acl_vm
from lxc_manager.proxmox.errors import short_message
from lxc_manager.security import audit

from .actions import BackupOptions, backup_step, check_backup_first
from .privileges import Need
from .steps import delete_ct_step

__all__ = ["KIND", "STEP_KIND", "Started", "destroy_after_backup"]

log = logging.getLogger(__name__)

KIND = "destroy"  # the operation's kind (the job page links to the dashboard when done)
STEP_KIND = "destroy-failed-job"
ACTION = "container.provision"
MSG_NOTHING_TO_BACK_UP = "There is no container of this job to back up: destroy it without a backup"
MSG_NOT_OURS = "CT {vmid} is not the container this job created: it was left alone"


@dataclass(frozen=True)
class Started:
    job_id: str | None  # the operation job, when it was queued
    message: str


async def _audit(user_id: str, target: str, ok: bool, detail: str) -> None:
    try:
        await asyncio.to_thread(
            audit.record,
            ACTION,
            user_id=user_id,
            target=target,
            outcome=audit.Outcome.OK if ok else audit.Outcome.FAILED,
            detail=detail,
        )
    except SQLAlchemyError:
        log.exception("audit of %s on %s failed", ACTION, target)


async def _refused(user_id: str, job_id: str, message: str) -> Started:
    await _audit(user_id, f"job:{job_id}", False, f"back up first, then destroy: {message}")
    return Started(None, message)


async def _check(user_id: str, job: ProvisioningJob) -> tuple[BackupOptions, str | None]:
    """The backup options and why nothing may start (None: go). Raises NodeNotFound,
    NodeSecretError, ProxmoxError."""
    options = BackupOptions(
        storage="", notes=f"{job.hostname}: before destroying a failed creation"
    )
    client = await asyncio.to_thread(client_for, user_id, job.node_id or 0)
    async with client:
        try:
            config = await client.lxc_config(job.pve_node, job.vmid)
        except NotFound:
            return options, MSG_NOTHING_TO_BACK_UP
        if config.hostname != job.hostname:
            return options, MSG_NOT_OURS.format(vmid=job.vmid)
        return await check_backup_first(
            client, job.pve_node, job.vmid, options, [Need(acl_vm(job.vmid), "VM.Allocate")]
        )


async def destroy_after_backup(user_id: str, job_id: str) -> Started:
    """Queue "back up the failed job's container, then destroy it" (see the module)."""
    job = await asyncio.to_thread(user_job, user_id, job_id)
    if job is None:
        return Started(None, jobs.MSG_NOT_FOUND)
    if job.status != "failed":
        return await _refused(
            user_id, job_id, "Only a failed job's container can be destroyed here"
        )
    if job.node_id is None:
        return await _refused(user_id, job_id, MSG_NOTHING_TO_BACK_UP)
    if await asyncio.to_thread(jobs.operation_running, job):
        return await _refused(user_id, job_id, jobs.MSG_OPERATION_RUNNING)
    try:
        options, problem = await _check(user_id, job)
    except NodeNotFound:
        problem = "Node not found"
    except NodeSecretError as exc:
        problem = exc.user_message
    except ProxmoxError as exc:
        problem = short_message(exc)
    if problem is not None:
        return await _refused(user_id, job_id, problem)
    title = f"Back up CT {job.vmid} ({job.hostname}) to {options.storage}, then destroy it"
    steps = [backup_step(options), Step(STEP_KIND, {"job_id": job.id})]
    submitted = await submit(
        user_id, job.node_id, job.pve_node, job.vmid, kind=KIND, title=title, steps=steps
    )
    if submitted.job_id is None:
        return await _refused(user_id, job_id, submitted.error)
    await _audit(user_id, f"job:{job_id}", True, f"operation {submitted.job_id}: {title}")
    return Started(submitted.job_id, "Started")


async def destroy_failed_job_step(ctx: StepContext, args: dict[str, Any]) -> str:
    """The job page's destroy, as the step after the backup: only while the creation job is
    still failed and the container still its own; then the job is marked destroyed."""
    job_id = str(args.get("job_id") or "")
    job = await asyncio.to_thread(user_job, ctx.user_id, job_id)
    if job is None:
        raise StepFailed("The creation job no longer exists: nothing was deleted")
    if job.status != "failed":
        raise StepFailed("The creation job is no longer failed: nothing was deleted")
    if (job.node_id, job.pve_node, job.vmid) != (ctx.job.node_id, ctx.pve_node, ctx.vmid):
        raise StepFailed("This step belongs to another container: nothing was deleted")
    try:
        hostname = (await ctx.client.lxc_config(ctx.pve_node, ctx.vmid)).hostname
    except NotFound:
        hostname = None
    if hostname is not None and hostname != job.hostname:
        raise StepFailed(MSG_NOT_OURS.format(vmid=ctx.vmid))
    if hostname is None:
        deleted = f"CT {ctx.vmid} was already gone"
    else:
        deleted = await delete_ct_step(ctx, {"stop_first": True})
    volid = ctx.result.get("volid")
    message = f"{deleted}, after a backup to {volid}" if volid else deleted
    if problem := await jobs.mark_destroyed(job, message):
        raise StepFailed(f"{deleted}, but the creation job could not be updated: {problem}")
    ctx.result["provisioning_job"] = job.id
    await ctx.audit(ACTION, True, f"destroyed: {message}", f"job:{job.id}")
    return f"{deleted}; the creation job is marked destroyed"


register(STEP_KIND, "Destroy the half-built container", destroy_failed_job_step)
