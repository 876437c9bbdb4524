"""The job page's State: replays the job's progress stream from its start and then
follows it, so the page works after a reload and from any tab. A job is a provisioning
job or an operation (`lxc_manager.operations`: backup, restore, ...); both write the
same stream. It keeps the last LOG_KEEP
lines (the whole stream stays in Redis) and stops following once the page is gone (its
heartbeat ticks stop) or the session ended.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import reflex as rx
from redis.exceptions import RedisError
from reflex.event import EventSpec

from lxc_manager import routes
from lxc_manager.backups.destroy_first import destroy_after_backup
from lxc_manager.operations import jobs as operations
from lxc_manager.operations.jobs import OperationView
from lxc_manager.provisioning import jobs, progress
from lxc_manager.provisioning.display import FINISHED, elapsed_text, keep_last, log_lines
from lxc_manager.provisioning.jobs import JobView
from lxc_manager.state.guard import (
    GuardedState,
    require_session,
    require_session_on_load,
    require_session_quiet,
)

from .rows import LogLine, StepRow, log_line, operation_step_row, step_row

LOG_KEEP = 500
FOLLOW_BLOCK_MS = 2000
PAGE_GONE_AFTER = 10.0
JOB_ID_MAX = 32

JobCall = Callable[[str, str], Awaitable[str | None]]
AnyView = JobView | OperationView


async def _read_view(user_id: str, job_id: str, operation: bool) -> AnyView | None:
    if operation:
        return await operations.get_operation(user_id, job_id)
    return await jobs.get_job(user_id, job_id)


class JobState(GuardedState, rx.State):
    job_id: str = ""  # the job this tab shows and follows
    found: bool = True
    loaded: bool = False
    status: str = ""
    step: int = 0
    percent: int = 0
    steps: list[StepRow] = []
    vmid: int = 0
    hostname: str = ""
    node_id: int = 0
    node_name: str = ""
    pve_node: str = ""
    template_name: str = ""
    error: str = ""
    attempts: int = 0
    kept: bool = False
    elapsed: str = ""
    log: list[LogLine] = []
    log_truncated: bool = False
    following: bool = False
    busy: str = ""
    operation: bool = False  # an operation (backup, restore...), not a creation
    title: str = ""  # an operation's title
    container_gone: bool = False  # the operation deleted its container
    destroyed_note: str = ""  # a destroyed creation: how ("CT 105 deleted, after a backup to X")
    _last_id: str = "0-0"
    _seen: float = 0.0
    _generation: int = 0  # a reload (same tab state) starts a new follow loop; old ones stop

    def _route_job_id(self) -> str:
        # `job_id` above shadows, on this class, the route var Reflex defines on the root
        # state for the page's `[job_id]` segment: the segment is read from the root.
        root = self.parent_state
        if not isinstance(root, rx.State):
            return ""
        return routes.route_arg(root, routes.JOB_ID)[:JOB_ID_MAX]

    def _apply(self, view: AnyView) -> None:
        """Show `view`, assigning only what changed (each assignment goes to the browser)."""
        shown = (
            self._operation_fields(view)
            if isinstance(view, OperationView)
            else {
                "operation": False,
                "status": view.status,
                "step": view.step,
                "percent": view.percent,
                "steps": [step_row(s) for s in view.steps],
                "vmid": view.vmid,
                "hostname": view.hostname,
                "node_id": view.node_id or 0,
                "node_name": view.node_name,
                "pve_node": view.pve_node,
                "template_name": view.template_name,
                "error": view.error,
                "attempts": view.attempts,
                "kept": view.kept,
                "destroyed_note": view.destroyed_note,
                "elapsed": elapsed_text(view.started_at or view.created_at, view.finished_at),
            }
        )
        for name, value in shown.items():
            if getattr(self, name) != value:
                setattr(self, name, value)

    @staticmethod
    def _operation_fields(view: OperationView) -> dict[str, Any]:
        vmid = view.result.get("vmid", view.vmid)
        return {
            "operation": True,
            "title": view.title,
            "container_gone": view.kind in ("delete", "destroy"),
            "status": view.status,
            "step": view.step,
            "percent": view.percent,
            "steps": [operation_step_row(s) for s in view.steps],
            "vmid": vmid if isinstance(vmid, int) else view.vmid,
            "hostname": view.title,
            "node_id": view.node_id or 0,
            "node_name": view.node_name,
            "pve_node": str(view.result.get("pve_node", view.pve_node)),
            "template_name": "",
            "error": view.error,
            "attempts": 0,
            "kept": False,
            "destroyed_note": "",
            "elapsed": elapsed_text(view.started_at or view.created_at, view.finished_at),
        }

    def _add_entries(self, entries: list[progress.ProgressEntry]) -> bool:
        """Append output lines; True when a step, status or result changed."""
        if entries:
            self._last_id = entries[-1].id
        lines, changed = log_lines(entries)
        if lines:
            self.log, dropped = keep_last([*self.log, *map(log_line, lines)], LOG_KEEP)
            if dropped:
                self.log_truncated = True
        return changed

    @rx.event
    @require_session_on_load
    async def load(self) -> EventSpec | None:
        self.job_id = self._route_job_id()
        self._generation += 1
        self.log, self.log_truncated, self._last_id = [], False, "0-0"
        self.busy, self.following = "", False
        view: AnyView | None = None
        if self.job_id:
            view = await jobs.get_job(self._user_id, self.job_id)
            if view is None:
                view = await operations.get_operation(self._user_id, self.job_id)
        self.loaded = True
        self.found = view is not None
        if view is None:
            return None
        self._apply(view)
        return JobState.follow

    @rx.event
    @require_session_quiet
    def heartbeat(self, _now: str = "") -> None:
        self._seen = time.monotonic()

    @rx.event(background=True)
    @require_session_quiet
    async def follow(self) -> EventSpec | None:
        """Replay the stream, then follow it until the page is gone or the session ends
        (checked at every tick, without extending it). Redis and database reads happen
        outside `async with self`, so the tab's state is locked only to apply them."""
        async with self:
            if self.following or not self.found:
                return None
            self.following, self._seen = True, time.monotonic()
            user_id, job_id, after = self._user_id, self.job_id, self._last_id
            generation, operation = self._generation, self.operation
        try:
            while True:
                try:
                    entries = await progress.read(job_id, after=after, block_ms=FOLLOW_BLOCK_MS)
                except RedisError:
                    await asyncio.sleep(1)
                    entries = []
                async with self:
                    if self._generation != generation:
                        return None  # the page was loaded again: a newer loop follows
                    if (ended := await self._login_if_ended()) is not None:
                        return ended
                    if time.monotonic() - self._seen > PAGE_GONE_AFTER or self.job_id != job_id:
                        return None
                    changed = self._add_entries(entries)
                    after = self._last_id
                view = (
                    await _read_view(user_id, job_id, operation) if changed or not entries else None
                )
                async with self:
                    if view is not None and self._generation == generation:
                        self._apply(view)
                        if not entries and view.status in FINISHED:
                            return None  # a retry starts following again
        finally:
            async with self:
                if self._generation == generation:
                    self.following = False

    async def _act(self, what: str, call: JobCall, done: str) -> AsyncIterator[Any]:
        if self.busy or self.operation:  # an operation has no retry / destroy / keep
            return
        self.busy = what
        yield None
        try:
            message = await call(self._user_id, self.job_id)
        finally:
            self.busy = ""
        view = await jobs.get_job(self._user_id, self.job_id)
        if view is not None:
            self._apply(view)
        if message:
            yield rx.toast.error(message, id="job-action")
            return
        yield rx.toast.success(done, id="job-action")
        if not self.following:
            yield JobState.follow

    @rx.event
    @require_session
    async def retry(self) -> AsyncIterator[Any]:
        async for update in self._act("retry", jobs.retry, "Retrying from the failed step"):
            yield update

    @rx.event
    @require_session
    async def destroy(self) -> AsyncIterator[Any]:
        async for update in self._act(
            "destroy", jobs.destroy, "The half-built container was destroyed"
        ):
            yield update

    @rx.event
    @require_session
    async def keep(self) -> AsyncIterator[Any]:
        async for update in self._act("keep", jobs.keep, "The container is kept for debugging"):
            yield update

    @rx.event
    @require_session
    async def destroy_backup_first(self) -> AsyncIterator[Any]:
        """ "Back up first": one operation job (vzdump, then this destroy), followed on its
        own job page; this job becomes "destroyed" when it succeeds."""
        if self.busy or self.operation or self.status != "failed":
            return
        self.busy = "destroy"
        yield None
        try:
            started = await destroy_after_backup(self._user_id, self.job_id)
        finally:
            self.busy = ""
        if started.job_id is None:
            yield rx.toast.error(started.message, id="job-action")
            return
        yield rx.redirect(routes.job(started.job_id))
