"""What the job tables of provisioning (`ProvisioningJob`) and operations (`OperationJob`)
share: the rows (sync, short transactions), the run's ownership rule, its heartbeat and
stale marking.

A run owns its job while `status == "running"` and `attempts` is the number it claimed:
every write of the run is conditional on both (`update_owned`), so a run that was declared
stale (or whose job was destroyed meanwhile) can no longer change the row.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import redis
from sqlalchemy import CursorResult, update
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from lxc_manager.db.engine import session_scope
from lxc_manager.db.models import OperationJob, ProvisioningJob, utcnow

from . import progress

__all__ = [
    "aware",
    "claim_queued",
    "delete_row",
    "insert_row",
    "keep_alive",
    "load_row",
    "owned",
    "rowcount",
    "stale_candidates",
    "stale_progress",
    "update_owned",
]

JobRow = TypeVar("JobRow", ProvisioningJob, OperationJob)


def aware(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes: every stored time is UTC."""
    if moment is None:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def rowcount(result: Any) -> int:
    return int(result.rowcount) if isinstance(result, CursorResult) else 0


def insert_row(job: ProvisioningJob | OperationJob) -> None:
    with session_scope() as db:
        db.add(job)


def delete_row(model: type[JobRow], job_id: str) -> None:
    with session_scope() as db:
        job = db.get(model, job_id)
        if job is not None:
            db.delete(job)


def load_row(model: type[JobRow], job_id: str) -> JobRow | None:
    with session_scope() as db:
        return db.get(model, job_id)


def claim_queued(
    db: Session, model: type[JobRow], job_id: str, now: datetime, **values: Any
) -> JobRow | None:
    """queued -> running for a new run (attempts + 1, the heartbeat now, plus `values`), in
    `db`; the row as claimed, or None when the job is not queued."""
    result = db.exec(
        update(model)
        .where(col(model.id) == job_id, col(model.status) == "queued")
        .values(
            status="running",
            attempts=model.attempts + 1,
            heartbeat_at=now,
            error="",
            finished_at=None,
            **values,
        )
    )
    if rowcount(result) != 1:
        return None
    job = db.get(model, job_id)
    assert job is not None
    return job


def owned(model: type[JobRow], job_id: str, attempt: int) -> Any:
    """The conditions under which run `attempt` still owns the job."""
    return (
        col(model.id) == job_id,
        col(model.status) == "running",
        col(model.attempts) == attempt,
    )


def update_owned(
    model: type[JobRow], job_id: str, attempt: int, *, db: Session | None = None, **values: Any
) -> bool:
    """Write `values` when run `attempt` still owns the job (in `db`, or a transaction of
    its own); False when it no longer does."""
    statement = update(model).where(*owned(model, job_id, attempt)).values(**values)
    if db is not None:
        return rowcount(db.exec(statement)) == 1
    with session_scope() as own:
        return rowcount(own.exec(statement)) == 1


def stale_candidates(
    model: type[JobRow], cutoff: datetime, job_ids: list[str] | None
) -> list[JobRow]:
    """Running jobs whose heartbeat is older than `cutoff` (only `job_ids` when given)."""
    with session_scope() as db:
        query = select(model).where(
            col(model.status) == "running",
            col(model.heartbeat_at) < cutoff,
        )
        if job_ids is not None:
            query = query.where(col(model.id).in_(job_ids))
        return list(db.exec(query))


def fail_stale(db: Session, job: JobRow, cutoff: datetime, **values: Any) -> bool:
    """running -> failed for a stale job, unless its run beat (or lost it) meanwhile."""
    model = type(job)
    result = db.exec(
        update(model)
        .where(*owned(model, job.id, job.attempts), col(model.heartbeat_at) < cutoff)
        .values(status="failed", finished_at=utcnow(), **values)
    )
    return rowcount(result) == 1


def stale_progress(client: redis.Redis, job: ProvisioningJob | OperationJob, name: str) -> None:
    """The progress stream of a job marked stale gets its result and status."""
    progress.append_sync(
        job.id, "result", client=client, outcome="failed", error=job.error,
        vmid=job.vmid, step=job.step, name=name,
    )  # fmt: skip
    progress.append_sync(
        job.id, "status", client=client, status="failed", step=job.step, message=job.error
    )


async def keep_alive(
    beat: Callable[[str, int], bool],
    job_id: str,
    attempt: int,
    main: asyncio.Task[object],
    lost: asyncio.Event,
    *,
    every: float,
    what: str,
    log: logging.Logger,
) -> None:
    """Beat every `every` seconds; when the job is no longer this run's, set `lost` and
    cancel `main` (a failed beat is logged and tried again). `what` names the job in logs."""
    while True:
        await asyncio.sleep(every)
        try:
            alive = await asyncio.to_thread(beat, job_id, attempt)
        except SQLAlchemyError:
            log.warning("heartbeat of %s %s failed", what, job_id, exc_info=True)
            continue
        if not alive:
            log.warning("%s %s is no longer this run's: stopping", what, job_id)
            lost.set()
            main.cancel()
            return
