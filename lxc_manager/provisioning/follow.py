"""Follow a job's progress stream until the job ends: replay, then live (what the job
page does, for the HTTP API's Server-Sent Events).

`follow_job` yields the stream's entries from `after` on (replay), then waits for newer
ones (live); when nothing came for `idle_seconds` it yields an `Idle` (the HTTP layer turns
it into a keep-alive comment and may re-check the caller's key). It stops with an `Ended`
once the job is finished (succeeded, failed or destroyed) and everything it wrote has been
yielded: the pipeline records the outcome in the database before it writes the final
`status` entry, so "finished in the database and nothing newer in the stream after a
terminal `status` entry, or after a wait" is the end. A retry starts a new follow.
Every read is a Redis call on the event loop or a database read in a thread.

    async for item in follow_job(user_id, job_id, after="0-0"):
        ProgressEntry -> an event; Idle -> a keep-alive; Ended -> the last event
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol

import redis.exceptions

from . import progress
from .display import FINISHED
from .jobs_views import get_job
from .progress import ProgressEntry

__all__ = ["IDLE_SECONDS", "Ended", "Idle", "Lookup", "follow_job", "valid_after"]

IDLE_SECONDS: Final = 15.0
READ_BLOCK_MS: Final = 2000  # how often a quiet job's status is looked at
_ENTRY_ID = re.compile(r"^\d{1,20}-\d{1,20}$")


class _HasStatus(Protocol):
    @property
    def status(self) -> str: ...


# how a job is read for its user: `get_job` (creations) or `get_operation` (operations);
# None when it is not the user's (or gone)
Lookup = Callable[[str, str], Awaitable[Any]]


@dataclass(frozen=True)
class Idle:
    """Nothing happened for a while (a keep-alive is due)."""


@dataclass(frozen=True)
class Ended:
    """The job is finished; `job` is how it ended (what the lookup answered: a `JobView`
    for a creation; None: it vanished meanwhile)."""

    job: Any


def valid_after(text: str | None) -> str | None:
    """A stream entry id to resume after (`Last-Event-ID`), "0-0" when none is given,
    None when `text` is not one."""
    if not text:
        return "0-0"
    return text if _ENTRY_ID.match(text) else None


def _terminal(entry: ProgressEntry) -> bool:
    return entry.kind == "status" and entry.fields.get("status") in FINISHED


async def follow_job(
    user_id: str,
    job_id: str,
    after: str = "0-0",
    *,
    idle_seconds: float = IDLE_SECONDS,
    block_ms: int = READ_BLOCK_MS,
    lookup: Lookup = get_job,
) -> AsyncIterator[ProgressEntry | Idle | Ended]:
    """The job's entries after `after`, live until it ends. The caller has checked that
    the job is the user's; it is read again for the user only (with `lookup`: any job
    that writes provisioning's progress stream and ends in a FINISHED status, such as an
    operation, can be followed)."""
    quiet_since = time.monotonic()
    block_ms = max(1, min(block_ms, int(idle_seconds * 1000)))  # an Idle is never late
    while True:
        try:
            entries = await progress.read(job_id, after=after, block_ms=block_ms)
        except redis.exceptions.RedisError:
            await asyncio.sleep(1)  # the job's row still says when it ends
            entries = []
        for entry in entries:
            yield entry
        if entries:
            after, quiet_since = entries[-1].id, time.monotonic()
            if not _terminal(entries[-1]):
                continue
        view: _HasStatus | None = await lookup(user_id, job_id)
        if view is None or view.status in FINISHED:
            try:  # what was written between the read and the look at the job
                rest = await progress.read(job_id, after=after)
            except redis.exceptions.RedisError:
                rest = []
            for entry in rest:
                yield entry
            if not rest:
                yield Ended(view)
                return
            after, quiet_since = rest[-1].id, time.monotonic()
            continue
        if time.monotonic() - quiet_since >= idle_seconds:
            quiet_since = time.monotonic()
            yield Idle()
