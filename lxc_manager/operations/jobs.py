"""Submit, look at and run operations (`run_job` is the RQ entry point).

    job = await submit(user_id, node_id, pve_node, vmid, kind="restore-over",
                       title="Back up, then restore CT 105",
                       steps=[Step("backup", {...}), Step("restore", {...})])
    if job.error: show it          else: go to routes.job(job.job_id)

Everything is scoped to the user: another user's job is "not found". `hold_vmids` are
reserved for the job (the wizard's `vmid-hold:` keys, so a restore to a new VMID and a
creation cannot take the same id) and released when the run ends or is declared stale.
Steps are not blindly repeatable, so RQ never retries a job by itself.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import redis.exceptions
from rq import Queue
from sqlalchemy.exc import SQLAlchemyError

from lxc_manager import redis_client
from lxc_manager.db.models import OperationJob, utcnow
from lxc_manager.nodes import NodeNotFound, NodeSecretError, cluster_key_of, get_node_sync
from lxc_manager.provisioning import progress, vmids
from lxc_manager.proxmox import ProxmoxError
from lxc_manager.redis_client import RedisDb

from . import registry, store
from .stale import STALE_AFTER_SECONDS, mark_stale_operations

__all__ = [
    "QUEUE",
    "OperationView",
    "Step",
    "StepView",
    "Submitted",
    "get_operation",
    "operations_for",
    "run_job",
    "submit",
]

log = logging.getLogger(__name__)

QUEUE = "default"
RQ_JOB_TIMEOUT = 3600
HOLD_SECONDS = RQ_JOB_TIMEOUT + 900
ACTIVE = ("queued", "running")
MSG_NODE_NOT_FOUND = "Node not found"
MSG_QUEUE_FAILED = "The job could not be queued (internal error); try again"
MSG_VMID_RACE = "VMID {vmid} was just taken by another request"


@dataclass(frozen=True)
class Step:
    """One step to run: a registered kind and its arguments (ids and choices, no secret)."""

    kind: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Submitted:
    job_id: str | None
    error: str = ""
    field: str = "form"  # which form field `error` belongs to


@dataclass(frozen=True)
class StepView:
    number: int
    kind: str
    name: str
    state: str  # pending | running | ok | failed | skipped
    message: str
    started_at: datetime | None
    ended_at: datetime | None


@dataclass(frozen=True)
class OperationView:
    id: str
    kind: str
    title: str
    status: str
    step: int
    steps: tuple[StepView, ...]
    vmid: int
    node_id: int | None
    node_name: str  # the user's node (endpoint) the job runs through ("" when gone)
    pve_node: str
    error: str
    result: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def percent(self) -> int:
        if self.status == "succeeded":
            return 100
        done = sum(1 for s in self.steps if s.state in ("ok", "skipped"))
        return int(done * 100 / max(1, len(self.steps)))


def _time(text: object) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return store.aware(datetime.fromisoformat(text))
    except ValueError:
        return None


def _node_name(job: OperationJob) -> str:
    try:
        return get_node_sync(job.user_id, job.node_id).name if job.node_id else ""
    except NodeNotFound:
        return ""


def _view(job: OperationJob, node_name: str = "") -> OperationView:
    steps = tuple(
        StepView(
            number,
            str(record.get("kind", "")),
            registry.step_name(str(record.get("kind", ""))),
            str(record.get("state", "pending")),
            str(record.get("message", "")),
            _time(record.get("started_at")),
            _time(record.get("ended_at")),
        )
        for number, record in enumerate(store.steps_of(job), start=1)
    )
    result = {k: v for k, v in store.result_of(job).items() if k != "holds"}
    return OperationView(
        id=job.id,
        kind=job.kind,
        title=job.title,
        status=job.status,
        step=job.step,
        steps=steps,
        vmid=job.vmid,
        node_id=job.node_id,
        node_name=node_name,
        pve_node=job.pve_node,
        error=job.error,
        result=result,
        created_at=store.aware(job.created_at) or job.created_at,
        started_at=store.aware(job.started_at),
        finished_at=store.aware(job.finished_at),
    )


def _user_job(user_id: str, job_id: str) -> OperationJob | None:
    job = store.load_job(job_id)
    return job if job is not None and job.user_id == user_id else None


def _fresh_user_job(user_id: str, job_id: str) -> tuple[OperationJob, str] | None:
    job = _user_job(user_id, job_id)
    if (
        job is not None
        and job.status == "running"
        and mark_stale_operations(stale_after=STALE_AFTER_SECONDS, job_ids=[job.id])
    ):
        job = store.load_job(job_id)
    return (job, _node_name(job)) if job is not None else None


async def get_operation(user_id: str, job_id: str) -> OperationView | None:
    """The user's operation (a running one whose heartbeat stopped is marked failed
    first), or None."""
    if not job_id or len(job_id) > 32:
        return None
    found = await asyncio.to_thread(_fresh_user_job, user_id, job_id)
    return _view(*found) if found is not None else None


async def operations_for(
    user_id: str, node_id: int | None = None, vmid: int | None = None, limit: int = 20
) -> list[OperationView]:
    """The user's operations (on one container when given), newest first."""
    rows = await asyncio.to_thread(store.jobs_of, user_id, node_id=node_id, vmid=vmid, limit=limit)
    return [_view(job) for job in rows]


def _enqueue(job_id: str, rq_job_id: str) -> None:
    Queue(QUEUE, connection=redis_client.sync_client(RedisDb.RQ)).enqueue(
        run_job,
        job_id,
        job_id=rq_job_id,
        job_timeout=RQ_JOB_TIMEOUT,
        result_ttl=3600,
        failure_ttl=7 * 86400,
        description=f"operation {job_id}",
    )


async def _hold(user_id: str, node_id: int, cluster_key: str, vmid: int, job_id: str) -> str:
    """Reserve `vmid` for the job as the wizard does; an error message, or ""."""
    try:
        found = await vmids.lookup_or_fill(user_id, node_id, cluster_key, vmid)
    except (ProxmoxError, NodeSecretError) as exc:
        log.info("operation: VMID cache of %s not available: %r", cluster_key, exc)
        found = await vmids.lookup(user_id, cluster_key, vmid)
    if found.held_by is not None:
        return MSG_VMID_RACE.format(vmid=vmid)
    if found.taken:
        return vmids.taken_message(vmid, found) or f"VMID {vmid} is taken"
    if not await vmids.reserve(user_id, cluster_key, vmid, job_id, HOLD_SECONDS):
        return MSG_VMID_RACE.format(vmid=vmid)
    return ""


async def submit(
    user_id: str,
    node_id: int,
    pve_node: str,
    vmid: int,
    *,
    kind: str,
    title: str,
    steps: Sequence[Step],
    hold_vmids: Sequence[int] = (),
) -> Submitted:
    """Save and queue the operation. Nothing is saved, held or queued when `error` is set.
    The caller has validated the arguments and checked the privileges."""
    for step in steps:
        if registry.kind_of(step.kind) is None:
            raise ValueError(f"unknown step kind {step.kind!r}")
    try:
        node = await asyncio.to_thread(get_node_sync, user_id, node_id)
    except NodeNotFound:
        return Submitted(None, MSG_NODE_NOT_FOUND)
    cluster_key = cluster_key_of(node)
    job_id = uuid.uuid4().hex
    held: list[int] = []
    try:
        for number in hold_vmids:
            if problem := await _hold(user_id, node.id, cluster_key, number, job_id):
                for done in held:
                    await vmids.release(user_id, cluster_key, done, job_id)
                return Submitted(None, problem, "vmid")
            held.append(number)
    except redis.exceptions.RedisError:
        log.exception("operation submit: Redis failed")
        return Submitted(None, MSG_QUEUE_FAILED)
    job = OperationJob(
        id=job_id,
        user_id=user_id,
        node_id=node.id,
        cluster_key=cluster_key,
        pve_node=pve_node,
        vmid=vmid,
        kind=kind,
        title=title[:255],
        steps=json.dumps(
            [{"kind": s.kind, "args": s.args, "state": "pending", "message": ""} for s in steps]
        ),
        result=json.dumps({"holds": held} if held else {}),
        status="queued",
        rq_job_id=f"op-{job_id}",
    )
    try:
        await asyncio.to_thread(store.insert_job, job)
        await progress.append(job_id, "status", status="queued", step=1)
        await asyncio.to_thread(_enqueue, job_id, job.rq_job_id)
    except (SQLAlchemyError, redis.exceptions.RedisError):
        log.exception("submit of operation %s failed", job_id)
        for number in held:
            await vmids.release(user_id, cluster_key, number, job_id)
        try:
            await asyncio.to_thread(store.delete_job, job_id)
        except SQLAlchemyError:
            log.exception("could not remove operation %s", job_id)
        return Submitted(None, MSG_QUEUE_FAILED)
    return Submitted(job_id)


async def release_holds(job_id: str) -> None:
    job = await asyncio.to_thread(store.load_job, job_id)
    if job is None:
        return
    for number in store.result_of(job).get("holds", []):
        if isinstance(number, int):
            await vmids.release(job.user_id, job.cluster_key, number, job.id)


async def _run_and_close(job_id: str) -> str | None:
    from .run import run_operation

    try:
        status = await run_operation(job_id)
        try:
            await release_holds(job_id)
        except (redis.exceptions.RedisError, SQLAlchemyError):
            log.warning("operation %s: VMID holds not released", job_id, exc_info=True)
        return status
    finally:
        await redis_client.async_client().aclose()


def run_job(job_id: str) -> None:
    """RQ entry point (a forked work-horse): the job's own event loop and connections."""
    redis_client.async_client.cache_clear()
    try:
        status = asyncio.run(_run_and_close(job_id))
    finally:
        redis_client.async_client.cache_clear()
    log.info("operation %s: %s (finished %s)", job_id, status or "not run", utcnow())
