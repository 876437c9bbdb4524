"""The rows of operations: `OperationJob` (sync, short transactions; async callers use
`asyncio.to_thread`).

A run owns its job while `status == "running"` and `attempts` is the number it claimed:
every write of the run is conditional on both, so a run that was declared stale can no
longer change the row (the same rule as `provisioning.store`).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlmodel import col, select

from lxc_manager.db.engine import session_scope
from lxc_manager.db.models import OperationJob, utcnow
from lxc_manager.provisioning import job_rows
from lxc_manager.provisioning.job_rows import aware

__all__ = [
    "StepRecord",
    "aware",
    "claim",
    "delete_job",
    "finish",
    "heartbeat",
    "insert_job",
    "jobs_of",
    "load_job",
    "mark_stale",
    "step_ended",
    "step_started",
    "steps_of",
]

MESSAGE_MAX = 4000
StepRecord = dict[str, Any]


def steps_of(job: OperationJob) -> list[StepRecord]:
    try:
        data = json.loads(job.steps or "[]")
    except ValueError:
        return []
    return [s for s in data if isinstance(s, dict)] if isinstance(data, list) else []


def result_of(job: OperationJob) -> dict[str, Any]:
    try:
        data = json.loads(job.result or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def insert_job(job: OperationJob) -> None:
    job_rows.insert_row(job)


def delete_job(job_id: str) -> None:
    job_rows.delete_row(OperationJob, job_id)


def load_job(job_id: str) -> OperationJob | None:
    return job_rows.load_row(OperationJob, job_id)


def jobs_of(
    user_id: str,
    *,
    statuses: tuple[str, ...] | None = None,
    node_id: int | None = None,
    vmid: int | None = None,
    limit: int = 50,
) -> list[OperationJob]:
    """The user's operations, newest first."""
    with session_scope() as db:
        query = select(OperationJob).where(OperationJob.user_id == user_id)
        if statuses is not None:
            query = query.where(col(OperationJob.status).in_(statuses))
        if node_id is not None:
            query = query.where(OperationJob.node_id == node_id)
        if vmid is not None:
            query = query.where(OperationJob.vmid == vmid)
        query = query.order_by(col(OperationJob.created_at).desc(), col(OperationJob.id))
        return list(db.exec(query.limit(limit)))


def claim(job_id: str) -> OperationJob | None:
    """queued -> running for a new run; the row as claimed, or None when not queued."""
    now = utcnow()
    with session_scope() as db:
        job = job_rows.claim_queued(db, OperationJob, job_id, now, started_at=now)
        if job is None:
            return None
        db.flush()
        return job


def heartbeat(job_id: str, attempt: int) -> bool:
    """The run is alive; False when the job is no longer this run's (declared stale)."""
    return job_rows.update_owned(OperationJob, job_id, attempt, heartbeat_at=utcnow())


def _change_step(
    job_id: str, attempt: int, number: int, changes: StepRecord, result: dict[str, Any] | None
) -> bool:
    with session_scope() as db:
        job = db.get(OperationJob, job_id)
        if job is None or job.status != "running" or job.attempts != attempt:
            return False
        steps = steps_of(job)
        if not 1 <= number <= len(steps):
            return False
        steps[number - 1] = {**steps[number - 1], **changes}
        values: dict[str, Any] = {
            "steps": json.dumps(steps),
            "step": number,
            "heartbeat_at": utcnow(),
        }
        if result:
            values["result"] = json.dumps({**result_of(job), **result})
        return job_rows.update_owned(OperationJob, job_id, attempt, db=db, **values)


def step_started(job_id: str, attempt: int, number: int) -> bool:
    changes = {"state": "running", "message": "", "started_at": utcnow().isoformat()}
    return _change_step(job_id, attempt, number, changes, None)


def step_ended(
    job_id: str,
    attempt: int,
    number: int,
    state: str,
    message: str = "",
    result: dict[str, Any] | None = None,
) -> bool:
    """The step ended (`state` ok|failed|skipped); `result` is merged into the job's."""
    changes = {"state": state, "message": message[:MESSAGE_MAX], "ended_at": utcnow().isoformat()}
    return _change_step(job_id, attempt, number, changes, result)


def finish(job_id: str, attempt: int, status: str, step: int, error: str = "") -> bool:
    """running -> succeeded / failed for this run; False when it no longer owns the job."""
    values: dict[str, Any] = {
        "status": status,
        "step": step,
        "error": error[:MESSAGE_MAX],
        "finished_at": utcnow(),
    }
    return job_rows.update_owned(OperationJob, job_id, attempt, **values)


def mark_stale(cutoff: datetime, job_ids: list[str] | None = None) -> list[OperationJob]:
    """Running operations whose heartbeat is older than `cutoff` become failed."""
    marked: list[OperationJob] = []
    for job in job_rows.stale_candidates(OperationJob, cutoff, job_ids):
        error = (
            f"The worker stopped while running step {job.step}; "
            "check the container in Proxmox before trying again"
        )
        steps = steps_of(job)
        if 1 <= job.step <= len(steps) and steps[job.step - 1].get("state") == "running":
            steps[job.step - 1] = {
                **steps[job.step - 1],
                "state": "failed",
                "message": error,
                "ended_at": utcnow().isoformat(),
            }
        with session_scope() as db:
            if not job_rows.fail_stale(db, job, cutoff, error=error, steps=json.dumps(steps)):
                continue
        job.status, job.error = "failed", error
        marked.append(job)
    return marked
