"""The rows of provisioning: `ProvisioningJob` and its `ProvisioningEvent`s (sync, short
transactions; async callers use `asyncio.to_thread`).

A run of the pipeline owns its job while `status == "running"` and `attempts` is the
number it claimed: every write of the run is conditional on both, so a run that was
declared stale (or whose job was destroyed meanwhile) can no longer change the row.

Event kinds: `attempt` (a run starts at `step`), `start` / `end` (a step, `outcome`
ok|failed|skipped), `script` (one script of step 6, outcome ok|failed, message
"INDEX:NAME"), `stale`, `kept`, `destroyed`, `note`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, update
from sqlmodel import col, or_, select

from lxc_manager.db.engine import session_scope
from lxc_manager.db.models import OperationJob, ProvisioningEvent, ProvisioningJob, utcnow

from . import job_rows
from .job_rows import aware, rowcount

__all__ = [
    "add_event",
    "aware",
    "claim",
    "delete_job",
    "events_of",
    "finish",
    "heartbeat",
    "insert_job",
    "jobs_of",
    "load_job",
    "mark_stale",
    "set_status",
    "step_started",
]

MESSAGE_MAX = 4000


def insert_job(job: ProvisioningJob) -> None:
    job_rows.insert_row(job)


def delete_job(job_id: str) -> None:
    """Remove a job that never got queued (its events go with it)."""
    job_rows.delete_row(ProvisioningJob, job_id)


def load_job(job_id: str) -> ProvisioningJob | None:
    return job_rows.load_row(ProvisioningJob, job_id)


def jobs_of(
    user_id: str,
    statuses: tuple[str, ...] | None = None,
    failed_since: datetime | None = None,
) -> list[ProvisioningJob]:
    """The user's jobs, newest first (optionally only some statuses, and failed ones only
    when they ended after `failed_since`)."""
    with session_scope() as db:
        query = select(ProvisioningJob).where(ProvisioningJob.user_id == user_id)
        if statuses is not None:
            query = query.where(col(ProvisioningJob.status).in_(statuses))
        if failed_since is not None:
            ended = func.coalesce(ProvisioningJob.finished_at, ProvisioningJob.created_at)
            query = query.where(or_(col(ProvisioningJob.status) != "failed", ended >= failed_since))
        query = query.order_by(col(ProvisioningJob.created_at).desc(), col(ProvisioningJob.id))
        return list(db.exec(query))


def events_of(job_ids: list[str]) -> dict[str, list[ProvisioningEvent]]:
    """The events of the jobs, oldest first, by job id."""
    found: dict[str, list[ProvisioningEvent]] = {job_id: [] for job_id in job_ids}
    if not job_ids:
        return found
    with session_scope() as db:
        rows = db.exec(
            select(ProvisioningEvent)
            .where(col(ProvisioningEvent.job_id).in_(job_ids))
            .order_by(col(ProvisioningEvent.id))
        )
        for event in rows:
            found[event.job_id].append(event)
    return found


def add_event(job_id: str, step: int, kind: str, outcome: str = "", message: str = "") -> None:
    with session_scope() as db:
        db.add(
            ProvisioningEvent(
                job_id=job_id,
                step=step,
                kind=kind,
                outcome=outcome,
                message=message[:MESSAGE_MAX],
            )
        )


def claim(job_id: str, from_step: int) -> ProvisioningJob | None:
    """queued -> running for a new run starting at `from_step`; the row as claimed, or None
    when the job is not queued (another run has it, it was destroyed, it does not exist)."""
    now = utcnow()
    with session_scope() as db:
        job = job_rows.claim_queued(db, ProvisioningJob, job_id, now, step=from_step)
        if job is None:
            return None
        if job.started_at is None:
            job.started_at = now
            db.add(job)
        db.add(
            ProvisioningEvent(
                job_id=job_id, step=from_step, kind="attempt", message=str(job.attempts)
            )
        )
        db.flush()
        return job


def heartbeat(job_id: str, attempt: int) -> bool:
    """The run is alive; False when the job is no longer this run's (stale, destroyed)."""
    return job_rows.update_owned(ProvisioningJob, job_id, attempt, heartbeat_at=utcnow())


def step_started(
    job_id: str, attempt: int, step: int, ended: tuple[str, str] | None = None
) -> bool:
    """The run is at `step` now (a start event); with `ended` (outcome, message) the step
    ends at once too, in the same transaction. False when the run lost the job."""
    with session_scope() as db:
        if not job_rows.update_owned(
            ProvisioningJob, job_id, attempt, db=db, step=step, heartbeat_at=utcnow()
        ):
            return False
        db.add(ProvisioningEvent(job_id=job_id, step=step, kind="start"))
        if ended is not None:
            outcome, message = ended
            db.add(
                ProvisioningEvent(
                    job_id=job_id,
                    step=step,
                    kind="end",
                    outcome=outcome,
                    message=message[:MESSAGE_MAX],
                )
            )
        return True


def finish(job_id: str, attempt: int, status: str, step: int, error: str = "") -> bool:
    """running -> succeeded / failed for this run; False when it no longer owns the job."""
    values: dict[str, Any] = {
        "status": status,
        "step": step,
        "error": error,
        "finished_at": utcnow(),
    }
    return job_rows.update_owned(ProvisioningJob, job_id, attempt, **values)


def set_status(
    job_id: str,
    user_id: str,
    *,
    expected: tuple[str, ...],
    status: str,
    error: str | None = None,
    event: tuple[int, str, str] | None = None,
) -> bool:
    """Change a job of the user from one of `expected` to `status` (and the error when
    given), adding `event` (step, kind, message); False when the job was not in `expected`."""
    values: dict[str, Any] = {"status": status}
    if error is not None:
        values["error"] = error
    if status in ("destroyed", "failed"):
        values["finished_at"] = utcnow()
    with session_scope() as db:
        result = db.exec(
            update(ProvisioningJob)
            .where(
                col(ProvisioningJob.id) == job_id,
                col(ProvisioningJob.user_id) == user_id,
                col(ProvisioningJob.status).in_(expected),
            )
            .values(**values)
        )
        if rowcount(result) != 1:
            return False
        if event is not None:
            step, kind, message = event
            db.add(ProvisioningEvent(job_id=job_id, step=step, kind=kind, message=message))
        return True


def mark_stale(cutoff: datetime, job_ids: list[str] | None = None) -> list[ProvisioningJob]:
    """Running jobs whose heartbeat is older than `cutoff` become failed; returns them."""
    marked: list[ProvisioningJob] = []
    for job in job_rows.stale_candidates(ProvisioningJob, cutoff, job_ids):
        error = f"The worker stopped while running step {job.step}; you can retry from there"
        with session_scope() as db:
            if not job_rows.fail_stale(db, job, cutoff, error=error):
                continue
            db.add(
                ProvisioningEvent(
                    job_id=job.id, step=job.step, kind="stale", outcome="failed", message=error
                )
            )
            db.add(
                ProvisioningEvent(
                    job_id=job.id, step=job.step, kind="end", outcome="failed", message=error
                )
            )
        job.status, job.error = "failed", error
        marked.append(job)
    return marked


def operation_active(user_id: str, node_id: int, vmid: int) -> bool:
    """Is one of the user's operations (`operation_job`: e.g. "back up first, then
    destroy") queued or running on that container? (Read from the table: `operations`
    imports this package, not the other way round.)"""
    with session_scope() as db:
        query = (
            select(OperationJob.id)
            .where(OperationJob.user_id == user_id)
            .where(OperationJob.node_id == node_id)
            .where(OperationJob.vmid == vmid)
            .where(col(OperationJob.status).in_(("queued", "running")))
        )
        return db.exec(query.limit(1)).first() is not None
