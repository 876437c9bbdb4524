"""What the pages see of provisioning jobs: `JobView` and `StepView`, `get_job`, `list_jobs`.

A job's steps are rebuilt from its events; only the user's own jobs are found. `jobs`
re-exports all of it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from lxc_manager.db.models import ProvisioningEvent, ProvisioningJob, utcnow
from lxc_manager.nodes import list_nodes_sync

from . import store
from .jobs_stale import _mark_stale
from .pipeline_run import STEP_COUNT, step_name

ACTIVE = ("queued", "running")


@dataclass(frozen=True)
class StepView:
    number: int
    name: str
    state: str  # pending | running | ok | failed | skipped
    started_at: datetime | None
    ended_at: datetime | None
    message: str

    @property
    def seconds(self) -> float | None:
        """How long the step took (so far, when it runs)."""
        if self.started_at is None:
            return None
        end = self.ended_at or (utcnow() if self.state == "running" else None)
        return None if end is None else max(0.0, (end - self.started_at).total_seconds())


@dataclass(frozen=True)
class JobView:
    """One job as a page may show it (no secrets: the request never holds any)."""

    id: str
    status: str  # queued | running | failed | succeeded | destroyed
    step: int  # the current or failed step, 0 before the first run
    steps: tuple[StepView, ...]
    vmid: int
    hostname: str
    node_id: int | None
    node_name: str
    pve_node: str
    template_id: int | None
    template_name: str
    content_digest: str  # SHA-256 of the scripts, files and packages the job runs
    error: str
    attempts: int
    kept: bool
    percent: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None
    destroyed_note: str = ""  # how a destroyed job's container went ("... after a backup to X")

    @property
    def step_name(self) -> str:
        return step_name(self.step) if self.step else ""

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def retryable(self) -> bool:
        return self.status == "failed"

    @property
    def can_destroy(self) -> bool:
        return self.status == "failed"


@dataclass
class _StepState:
    state: str = "pending"
    started_at: datetime | None = None
    ended_at: datetime | None = None
    message: str = ""


def _steps(events: list[ProvisioningEvent]) -> tuple[StepView, ...]:
    states = {n: _StepState() for n in range(1, STEP_COUNT + 1)}
    for event in events:
        number = event.step
        if number not in states:
            continue
        at = store.aware(event.at)
        if event.kind == "attempt":  # a run starts here: what follows is to be done again
            for later in range(number, STEP_COUNT + 1):
                states[later] = _StepState()
        elif event.kind == "start":
            states[number] = _StepState("running", at)
        elif event.kind == "end":
            state = states[number]
            states[number] = _StepState(event.outcome or "ok", state.started_at, at, event.message)
    return tuple(
        StepView(n, step_name(n), s.state, s.started_at, s.ended_at, s.message)
        for n, s in states.items()
    )


def _percent(status: str, steps: tuple[StepView, ...]) -> int:
    if status == "succeeded":
        return 100
    done = sum(1 for s in steps if s.state in ("ok", "skipped"))
    return int(done * 100 / STEP_COUNT)


def _view(
    job: ProvisioningJob, events: list[ProvisioningEvent], node_names: dict[int, str]
) -> JobView:
    steps = _steps(events)
    last_run = max((i for i, e in enumerate(events) if e.kind == "attempt"), default=-1)
    kept = job.status == "failed" and any(e.kind == "kept" for e in events[last_run + 1 :])
    destroyed = [e.message for e in events if e.kind == "destroyed"]
    created = store.aware(job.created_at)
    assert created is not None
    return JobView(
        id=job.id,
        status=job.status,
        step=job.step,
        steps=steps,
        vmid=job.vmid,
        hostname=job.hostname,
        node_id=job.node_id,
        node_name=node_names.get(job.node_id or 0, ""),
        pve_node=job.pve_node,
        template_id=job.template_id,
        template_name=job.template_name,
        content_digest=job.content_digest,
        error=job.error,
        attempts=job.attempts,
        kept=kept,
        percent=_percent(job.status, steps),
        created_at=created,
        started_at=store.aware(job.started_at),
        finished_at=store.aware(job.finished_at),
        heartbeat_at=store.aware(job.heartbeat_at),
        destroyed_note=destroyed[-1] if job.status == "destroyed" and destroyed else "",
    )


def _node_names(user_id: str) -> dict[int, str]:
    return {node.id: node.name for node in list_nodes_sync(user_id)}


def _user_job(user_id: str, job_id: str) -> ProvisioningJob | None:
    if not isinstance(job_id, str) or not job_id.isalnum() or len(job_id) > 32:
        return None
    job = store.load_job(job_id)
    return job if job is not None and job.user_id == user_id else None


def user_job(user_id: str, job_id: str) -> ProvisioningJob | None:
    """The user's job row (sync), or None (not theirs, or no such job)."""
    return _user_job(user_id, job_id)


def _get_view(user_id: str, job_id: str) -> JobView | None:
    job = _user_job(user_id, job_id)
    if job is None:
        return None
    if job.status == "running" and _mark_stale([job.id]):
        job = store.load_job(job_id)
        assert job is not None
    events = store.events_of([job.id])[job.id]
    return _view(job, events, _node_names(user_id))


async def get_job(user_id: str, job_id: str) -> JobView | None:
    """The user's job, or None (another user's job is "not found" too)."""
    return await asyncio.to_thread(_get_view, user_id, job_id)


def _list_views(
    user_id: str, active_or_failed_only: bool, failed_since: datetime | None
) -> list[JobView]:
    statuses = ("queued", "running", "failed") if active_or_failed_only else None
    jobs = store.jobs_of(user_id, statuses, failed_since)
    running = [job.id for job in jobs if job.status == "running"]
    if running and _mark_stale(running):
        jobs = store.jobs_of(user_id, statuses, failed_since)
    events = store.events_of([job.id for job in jobs])
    names = _node_names(user_id)
    return [_view(job, events[job.id], names) for job in jobs]


async def list_jobs(
    user_id: str, *, active_or_failed_only: bool = False, failed_since: datetime | None = None
) -> list[JobView]:
    """The user's jobs, newest first; optionally only queued, running and failed ones
    (what the dashboard shows as containers being created or failed), failed ones only
    when they ended after `failed_since` (the dashboard asks on every refresh: the old
    failures are never read)."""
    return await asyncio.to_thread(_list_views, user_id, active_or_failed_only, failed_since)
