"""One run of a provisioning job: the step names, the limits, `StepFailed` and `_Run`.

`_Run` holds what the steps share: the job, the request, the Proxmox client, the SSH pool
and target, the progress writer; it follows Proxmox tasks, runs commands in the container
and audits. `pipeline` re-exports `STEP_NAMES`, `STEP_COUNT`, `StepFailed`, `step_name`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

import redis.exceptions
from sqlalchemy.exc import SQLAlchemyError

from lxc_manager.db.models import ProvisioningJob
from lxc_manager.nodes import NodeSecretError, NodeView, ssh_target_on
from lxc_manager.proxmox import ProxmoxClient, ProxmoxError, Upid
from lxc_manager.proxmox.errors import MSG_UNEXPECTED, failure_message, short_message
from lxc_manager.proxmox.tasks import wait_for_task
from lxc_manager.security import audit
from lxc_manager.ssh import SshError, SshPool, SshTarget

from .progress import ProgressWriter
from .request import CreateRequest
from .semaphore import SemaphoreTimeout

# Logged under the name these messages have always had.
log = logging.getLogger("lxc_manager.provisioning.pipeline")

STEP_NAMES: Final[tuple[str, ...]] = (
    "Create",
    "Start",
    "Wait until ready",
    "Push files",
    "Install packages",
    "Run scripts",
    "Discover services",
    "Done",
)
STEP_COUNT: Final = len(STEP_NAMES)


CREATE_TIMEOUT = 900.0
START_TIMEOUT = 300.0
READY_TIMEOUT = 120.0
EXEC_READY_TIMEOUT = 60.0
COMMAND_TIMEOUT = 60.0
INSTALL_TIMEOUT = 1800.0
SCRIPT_TIMEOUT = 1800.0
TASK_LOG_LINES = 200
CONTAINER_USER = "root"
# Proxmox tasks: poll often at first (short tasks end sooner), slowly after a while.
TASK_POLL, TASK_MAX_POLL, TASK_BACKOFF = 0.02, 2.0, 1.04
# `pct exec` runs with PATH=/sbin:/bin:/usr/sbin:/usr/bin and the node's locale (often one
# the container lacks): commands of ours get a complete PATH and C.UTF-8, as the scripts'
# helper library sets them (templates/runtime/helpers.sh).
CONTAINER_ENV = (
    "env",
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG=C.UTF-8",
    "LC_ALL=C.UTF-8",
)
APT_ENV = (*CONTAINER_ENV, "DEBIAN_FRONTEND=noninteractive", "NEEDRESTART_MODE=a")
APT_OPTIONS = ("-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold")


def step_name(step: int) -> str:
    return STEP_NAMES[step - 1] if 1 <= step <= STEP_COUNT else f"Step {step}"


class StepFailed(Exception):
    """A step failed; `message` is for the user (short, no secrets), `detail` for the log."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(detail or message)
        self.message = message


class _JobLost(Exception):
    """The job is no longer this run's (declared stale or destroyed meanwhile)."""


@dataclass
class _Run:
    job: ProvisioningJob
    attempt: int
    req: CreateRequest
    node: NodeView
    client: ProxmoxClient
    target: SshTarget | None
    pool: SshPool
    writer: ProgressWriter
    ip: str | None = None
    step: int = 0
    _exec_ready: bool = field(default=False, repr=False)
    _on_node: SshTarget | None = field(default=None, repr=False)

    @property
    def vmid(self) -> int:
        return self.job.vmid

    @property
    def pve_node(self) -> str:
        return self.job.pve_node

    @property
    def audit_target(self) -> str:
        return f"ct:{self.node.name}/{self.vmid}"

    def ssh(self) -> SshTarget:
        if self.target is None:
            raise StepFailed("This step needs SSH credentials on the node")
        return self.target

    async def node_target(self) -> SshTarget:
        """Where `pct` runs for this container: its PVE node itself, reached directly with
        the node's credentials and that member's pinned host key (`nodes.members`)."""
        if self._on_node is None:
            self.ssh()  # StepFailed without SSH credentials
            target = await ssh_target_on(self.job.user_id, self.node.id, self.pve_node, self.client)
            if target is None:
                raise StepFailed("This step needs SSH credentials on the node")
            self._on_node = target
        return self._on_node

    # -- output --------------------------------------------------------------------------

    async def line(self, text: str, stream: str = "stdout") -> None:
        await self.writer.line(stream, text, step=self.step)

    async def state(self, state: str, message: str = "", **extra: object) -> None:
        await self.writer.entry(
            "step", step=self.step, name=step_name(self.step), state=state, message=message, **extra
        )

    async def audit(self, action: str, ok: bool, detail: str) -> None:
        outcome = audit.Outcome.OK if ok else audit.Outcome.FAILED
        try:
            await asyncio.to_thread(
                audit.record,
                action,
                user_id=self.job.user_id,
                target=self.audit_target,
                outcome=outcome,
                detail=detail,
            )
        except SQLAlchemyError:  # what happened must not be hidden by a failed audit write
            log.exception("audit of %s on %s failed", action, self.audit_target)

    # -- Proxmox -------------------------------------------------------------------------

    async def follow(
        self,
        upid: str,
        timeout: float,  # noqa: ASYNC109
        what: str,
        *,
        alongside: Sequence[Callable[[], Awaitable[object]]] = (),
    ) -> None:
        """Wait for the task; its log lines go to the stream (while `alongside` runs,
        whatever the outcome); StepFailed when it failed."""
        try:
            node = Upid.parse(upid).node
        except ValueError:
            node = self.pve_node
        error: ProxmoxError | None = None
        try:
            await wait_for_task(
                lambda: self.client.task_status(node, upid),
                upid,
                timeout=timeout,
                poll=TASK_POLL,
                max_poll=TASK_MAX_POLL,
                backoff=TASK_BACKOFF,
            )
        except ProxmoxError as exc:
            error = exc
        lines, _ = await asyncio.gather(
            self.task_log(node, upid), asyncio.gather(*(call() for call in alongside))
        )
        if error is not None:
            raise StepFailed(f"{what}: {failure_message(error, lines)}", repr(error)) from error

    async def task_log(self, node: str, upid: str) -> list[str]:
        """The task's log lines, each written to the stream too ([] when unreadable)."""
        try:
            data = await self.client.task_log(node, upid, limit=TASK_LOG_LINES)
        except ProxmoxError as exc:
            log.info("task log of %s not available: %r", upid, exc)
            return []
        lines = [str(e.get("t", "")) for e in data if isinstance(e, dict)]
        for line in lines:
            await self.writer.line("task", line, step=self.step)
        return lines

    # -- commands in the container -------------------------------------------------------

    async def exec(self, argv: Sequence[str], timeout: float = COMMAND_TIMEOUT) -> tuple[int, str]:  # noqa: ASYNC109
        target = await self.node_target()
        result = await self.pool.pct_exec(target, self.vmid, argv, timeout=timeout)
        return result.exit_status, (result.stderr or result.stdout).strip()

    async def exec_on_host(self, argv: Sequence[str]) -> tuple[int, str]:
        """A command on the container's PVE node itself (e.g. `pct set`)."""
        target = await self.node_target()
        result = await self.pool.run(target, argv, timeout=COMMAND_TIMEOUT)
        return result.exit_status, (result.stderr or result.stdout).strip()

    async def streamed(
        self,
        argv: Sequence[str],
        *,
        stdin: str | None = None,
        timeout: float = INSTALL_TIMEOUT,  # noqa: ASYNC109
    ) -> int:
        """Run in the container, every output line to the stream; the exit status."""
        target = await self.node_target()
        stream = self.pool.pct_exec_stream(target, self.vmid, argv, stdin=stdin, timeout=timeout)
        async with stream:
            async for output in stream:
                await self.writer.line(output.stream, output.text, step=self.step)
        await self.writer.flush()
        return stream.exit_status if stream.exit_status is not None else 255

    async def wait_exec_ready(self) -> None:
        """Until `pct exec` works and the root filesystem answers (bounded)."""
        if self._exec_ready:
            return
        deadline = time.monotonic() + EXEC_READY_TIMEOUT
        delay = 0.1
        while True:
            status, message = await self.exec(["test", "-d", "/etc"], timeout=15)
            if status == 0:
                self._exec_ready = True
                return
            if time.monotonic() >= deadline:
                raise StepFailed(
                    f"The container did not take commands within {EXEC_READY_TIMEOUT:.0f} s",
                    message,
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)


def _user_message(exc: BaseException) -> str:
    if isinstance(exc, StepFailed):
        return exc.message
    if isinstance(exc, ProxmoxError):
        return short_message(exc)
    if isinstance(exc, SshError):
        return exc.user_message.rstrip(".")
    if isinstance(exc, NodeSecretError):
        return exc.user_message
    if isinstance(exc, SemaphoreTimeout):
        return "No SSH session to the Proxmox node became free in time"
    if isinstance(exc, redis.exceptions.RedisError):
        return "Redis failed while the step ran; see the server log"
    return MSG_UNEXPECTED
