"""One run of an operation job in an RQ work-horse: claim, heartbeat, the steps in order,
the final status; `StepContext` is what a step handler gets.

Progress goes to `progress:{job}` with provisioning's entry kinds (`status`, `step`,
`line`, `result`), so the job page replays and follows it. A Proxmox task is followed to
its end with its log lines streamed while it runs (`StepContext.follow`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import redis.exceptions
from sqlalchemy.exc import SQLAlchemyError

from lxc_manager.db.models import OperationJob
from lxc_manager.nodes import NodeNotFound, NodeSecretError, NodeView, client_for, get_node_sync
from lxc_manager.provisioning import job_rows
from lxc_manager.provisioning.progress import ProgressWriter
from lxc_manager.proxmox import ProxmoxClient, ProxmoxError, TaskFailed, Upid
from lxc_manager.proxmox.backup_api import task_log_from
from lxc_manager.proxmox.errors import MSG_UNEXPECTED, failure_message, short_message
from lxc_manager.security import audit

from . import registry, store

__all__ = ["HEARTBEAT_SECONDS", "StepContext", "StepFailed", "run_operation"]

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 3.0
JOB_DEADLINE_SECONDS = 3300.0  # below the RQ job timeout (3600 s)
TASK_POLL, TASK_MAX_POLL = 0.1, 2.0


class StepFailed(Exception):
    """A step failed; `message` is for the user (short, no secrets)."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(detail or message)
        self.message = message


class _JobLost(Exception):
    """The job is no longer this run's (declared stale meanwhile)."""


@dataclass
class StepContext:
    """What a step handler works with. `vmid`/`pve_node` are the job's container."""

    job: OperationJob
    attempt: int
    node: NodeView
    client: ProxmoxClient
    writer: ProgressWriter
    step: int = 0
    result: dict[str, Any] = field(default_factory=dict)

    @property
    def user_id(self) -> str:
        return self.job.user_id

    @property
    def vmid(self) -> int:
        return self.job.vmid

    @property
    def pve_node(self) -> str:
        return self.job.pve_node

    def target(self, vmid: int | None = None, suffix: str = "") -> str:
        """An audit target: `ct:{node name}/{vmid}{suffix}`."""
        return f"ct:{self.node.name}/{vmid if vmid is not None else self.vmid}{suffix}"

    async def line(self, text: str, stream: str = "stdout") -> None:
        await self.writer.line(stream, text, step=self.step)

    async def audit(self, action: str, ok: bool, detail: str, target: str | None = None) -> None:
        try:
            await asyncio.to_thread(
                audit.record,
                action,
                user_id=self.job.user_id,
                target=target or self.target(),
                outcome=audit.Outcome.OK if ok else audit.Outcome.FAILED,
                detail=f"job {self.job.id}: {detail}",
            )
        except SQLAlchemyError:
            log.exception("audit of %s failed", action)

    async def follow(self, upid: str, what: str, timeout: float = 3000.0) -> list[str]:  # noqa: ASYNC109
        """Follow the task to its end, each log line to the stream as it comes; its log
        lines. StepFailed (with the reason the log gives) when it failed or ran too long."""
        try:
            node = Upid.parse(upid).node
        except ValueError:
            node = self.pve_node
        lines: list[str] = []
        deadline = time.monotonic() + timeout
        delay = TASK_POLL
        while True:
            status = await self.client.task_status(node, upid)
            lines += await self._new_lines(node, upid, len(lines))
            if not status.running:
                break
            if time.monotonic() > deadline:
                raise StepFailed(f"{what}: Proxmox did not finish in time")
            await asyncio.sleep(delay)
            delay = min(delay * 1.3, TASK_MAX_POLL)
        await self.writer.flush()
        if not status.succeeded:
            error = TaskFailed(upid, status.exitstatus or "unknown", status)
            raise StepFailed(f"{what}: {failure_message(error, lines)}", repr(error))
        return lines

    async def _new_lines(self, node: str, upid: str, seen: int) -> list[str]:
        new: list[str] = []
        while True:
            try:
                batch = await task_log_from(self.client, node, upid, seen + len(new))
            except ProxmoxError as exc:
                log.info("task log of %s not available: %r", upid, exc)
                return new
            for text in batch:
                await self.writer.line("task", text, step=self.step)
            new += batch
            if len(batch) < 500:
                return new


def _user_message(exc: BaseException) -> str:
    if isinstance(exc, StepFailed):
        return exc.message
    if isinstance(exc, ProxmoxError):
        return short_message(exc)
    if isinstance(exc, NodeSecretError):
        return exc.user_message
    if isinstance(exc, redis.exceptions.RedisError):
        return "Redis failed while the step ran; see the server log"
    return MSG_UNEXPECTED


async def _state(ctx: StepContext, name: str, state: str, message: str = "") -> None:
    await ctx.writer.entry("step", step=ctx.step, name=name, state=state, message=message)


async def _run_step(ctx: StepContext, number: int, record: store.StepRecord) -> None:
    ctx.step = number
    kind = registry.kind_of(str(record.get("kind", "")))
    name = kind.name if kind is not None else str(record.get("kind", ""))
    if not await asyncio.to_thread(store.step_started, ctx.job.id, ctx.attempt, number):
        raise _JobLost()
    await _state(ctx, name, "running")
    try:
        if kind is None:
            raise StepFailed(f"Unknown step {record.get('kind')!r}")
        args = record.get("args")
        async with asyncio.timeout(kind.timeout):
            message = await kind.handler(ctx, dict(args) if isinstance(args, dict) else {})
    except (asyncio.CancelledError, _JobLost):
        raise
    except Exception as exc:
        text = _user_message(exc)
        if isinstance(exc, TimeoutError):
            text = "the step ran out of time"
        if not isinstance(exc, StepFailed | ProxmoxError):
            log.exception("operation %s step %s failed unexpectedly", ctx.job.id, number)
        await asyncio.to_thread(
            store.step_ended, ctx.job.id, ctx.attempt, number, "failed", text, ctx.result
        )
        await _state(ctx, name, "failed", text)
        raise StepFailed(f"{name}: {text}") from exc
    state, text = ("ok", message) if message is not None else ("skipped", "nothing to do")
    if not await asyncio.to_thread(
        store.step_ended, ctx.job.id, ctx.attempt, number, state, text, ctx.result
    ):
        raise _JobLost()
    await _state(ctx, name, state, text)


async def _finish(ctx: StepContext, status: str, error: str = "") -> None:
    if not await asyncio.to_thread(store.finish, ctx.job.id, ctx.attempt, status, ctx.step, error):
        raise _JobLost()
    await ctx.writer.entry(
        "result", outcome=status, error=error, vmid=ctx.result.get("vmid", ctx.vmid),
        step=ctx.step, name=ctx.job.title,
    )  # fmt: skip
    await ctx.writer.entry("status", status=status, step=ctx.step, message=error)


async def _fail_early(job: OperationJob, message: str) -> None:
    if await asyncio.to_thread(store.finish, job.id, job.attempts, "failed", job.step, message):
        async with ProgressWriter(job.id) as writer:
            await writer.entry("result", outcome="failed", error=message, vmid=job.vmid, step=0)
            await writer.entry("status", status="failed", step=0, message=message)


async def run_operation(job_id: str) -> str | None:
    """Claim the queued job and run its steps; the final status, or None when the job was
    not queued or was taken away while running."""
    registry.load_handlers()
    job = await asyncio.to_thread(store.claim, job_id)
    if job is None:
        log.info("operation %s is not queued: nothing to do", job_id)
        return None
    try:
        node = await asyncio.to_thread(get_node_sync, job.user_id, job.node_id or 0)
        client = await asyncio.to_thread(client_for, job.user_id, job.node_id or 0)
    except (NodeNotFound, NodeSecretError) as exc:
        message = (
            "The node of this job no longer exists"
            if isinstance(exc, NodeNotFound)
            else exc.user_message
        )
        await _fail_early(job, message)
        return "failed"
    main = asyncio.current_task()
    assert main is not None
    lost = asyncio.Event()
    beat = asyncio.create_task(
        job_rows.keep_alive(
            store.heartbeat, job_id, job.attempts, main, lost,
            every=HEARTBEAT_SECONDS, what="operation", log=log,
        )
    )  # fmt: skip
    try:
        async with ProgressWriter(job_id) as writer, client:
            ctx = StepContext(job, job.attempts, node, client, writer)
            await writer.entry("status", status="running", step=1, attempt=job.attempts)
            return await _run_steps(ctx)
    except _JobLost:
        log.warning("operation %s: run %s stopped (no longer its)", job_id, job.attempts)
        return None
    except asyncio.CancelledError:
        if not lost.is_set():
            raise
        main.uncancel()
        log.warning("operation %s: run %s stopped (no longer its)", job_id, job.attempts)
        return None
    except Exception:
        log.exception("operation %s failed unexpectedly", job_id)
        try:
            if await asyncio.to_thread(
                store.finish, job.id, job.attempts, "failed", job.step, MSG_UNEXPECTED
            ):
                async with ProgressWriter(job.id) as failed_writer:
                    await failed_writer.entry(
                        "status", status="failed", step=job.step, message=MSG_UNEXPECTED
                    )
        except (SQLAlchemyError, redis.exceptions.RedisError):
            log.exception("operation %s: could not record the failure", job_id)
        return "failed"
    finally:
        beat.cancel()
        await asyncio.gather(beat, return_exceptions=True)


async def _run_steps(ctx: StepContext) -> str:
    steps = store.steps_of(ctx.job)
    try:
        async with asyncio.timeout(JOB_DEADLINE_SECONDS):
            for number, record in enumerate(steps, start=1):
                await _run_step(ctx, number, record)
    except StepFailed as failure:
        await _finish(ctx, "failed", failure.message)
        return "failed"
    except TimeoutError:
        await _finish(ctx, "failed", f"Step {ctx.step}: the job ran out of time")
        return "failed"
    await _finish(ctx, "succeeded")
    return "succeeded"
