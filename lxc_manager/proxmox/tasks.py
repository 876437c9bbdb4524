"""Proxmox tasks: UPIDs and waiting for a task to stop."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from .errors import REASON_LINES, ProxmoxTimeout, TaskFailed, failure_reason
from .models import TaskStatus

__all__ = ["REASON_LINES", "Upid", "failure_reason", "wait_for_task"]


# As PVE::Tools::upid_decode: hex PID, PSTART, STARTTIME; ID may be empty; USER may be a
# token (`root@pam!ci`).
_UPID = re.compile(
    r"^UPID:(?P<node>[a-zA-Z0-9](?:[a-zA-Z0-9\-]*[a-zA-Z0-9])?)"
    r":(?P<pid>[0-9A-Fa-f]{8}):(?P<pstart>[0-9A-Fa-f]{8,9}):(?P<starttime>[0-9A-Fa-f]{8})"
    r":(?P<type>[^:\s]+):(?P<id>[^:\s]*):(?P<user>[^:\s]+):$"
)


@dataclass(frozen=True)
class Upid:
    """`UPID:node:PID:PSTART:STARTTIME:TYPE:ID:USER:` decoded."""

    node: str
    pid: int
    pstart: int
    starttime: int
    type: str
    id: str
    user: str
    text: str

    @classmethod
    def parse(cls, text: str) -> Upid:
        match = _UPID.match(text.strip())
        if match is None:
            raise ValueError(f"not a Proxmox UPID: {text!r}")
        return cls(
            node=match["node"],
            pid=int(match["pid"], 16),
            pstart=int(match["pstart"], 16),
            starttime=int(match["starttime"], 16),
            type=match["type"],
            id=match["id"],
            user=match["user"],
            text=text.strip(),
        )

    def __str__(self) -> str:
        return self.text


async def wait_for_task(
    fetch_status: Callable[[], Awaitable[TaskStatus]],
    upid: str,
    *,
    timeout: float,  # noqa: ASYNC109 (overall deadline, see docstring)
    poll: float = 0.2,
    max_poll: float = 2.0,
    backoff: float = 1.5,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> TaskStatus:
    """Poll `fetch_status` until the task stops; the interval grows from `poll` to `max_poll`.

    Returns the final status when it succeeded, raises `TaskFailed` when its exit status
    is an error and `ProxmoxTimeout` when it still runs after `timeout` seconds.
    `clock`/`sleep` are injectable for tests.
    """
    deadline = clock() + timeout
    delay = poll
    while True:
        status = await fetch_status()
        if not status.running:
            if not status.succeeded:
                raise TaskFailed(upid, status.exitstatus or "unknown", status)
            return status
        remaining = deadline - clock()
        if remaining <= 0:
            raise ProxmoxTimeout(upid, timeout)
        await sleep(min(delay, remaining))
        delay = min(delay * backoff, max_poll)
