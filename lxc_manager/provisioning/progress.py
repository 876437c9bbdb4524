"""The progress of a job as a Redis Stream `progress:{job_id}`: replay and live in one.

Every step change, every output line and the final result is one stream entry. The page
reads from "0-0" after a reload and then blocks for newer entries; another tab does the
same. The stream is capped (`MAXLEN ~ 5000`) and expires 48 h after its last entry.

Entry kinds (all field values are strings):
- `status`  status=queued|running|failed|succeeded|destroyed, attempt, message
- `step`    step (1-8), name, state=running|ok|failed|skipped, message;
            script steps also index, total, script (the script's name)
- `line`    stream=stdout|stderr (a command in the container) or task (a Proxmox task's
            log), text (ANSI escapes stripped, at most LINE_MAX characters), step
- `result`  outcome=succeeded|failed, error, vmid, ip, step, name (of the step)

    await append(job_id, "line", stream="stdout", text="Setting up nginx ...", step=5)
    entries = await read(job_id, after=last_id, block_ms=15000)
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import redis

from lxc_manager import redis_client
from lxc_manager.redis_client import RedisDb

__all__ = [
    "KINDS",
    "LINE_MAX",
    "STREAM_MAXLEN",
    "STREAM_TTL_SECONDS",
    "ProgressEntry",
    "ProgressWriter",
    "append",
    "append_many",
    "append_sync",
    "last_lines",
    "read",
    "stream_key",
    "strip_ansi",
]

log = logging.getLogger(__name__)

STREAM_MAXLEN = 5000
STREAM_TTL_SECONDS = 48 * 3600
APPEND_CHUNK = 200  # entries per pipeline round trip (see append_many)
LINE_MAX = 4000
KINDS = ("status", "step", "line", "result")
READ_COUNT = 1000

# CSI (colours, cursor moves), OSC (titles, links; BEL or ST terminated), DCS/PM/APC
# strings, nF escapes and the other 2-byte escapes.
_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"
    r"|\x1b[ -/]+[0-~]"  # nF: charset designations such as ESC ( B
    r"|\x1b[@-Z\\-_]"
    r"|\x9b[0-?]*[ -/]*[@-~]"
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def strip_ansi(text: str) -> str:
    """The text a terminal would leave visible on one line: escape sequences removed, a
    carriage-return progress bar reduced to its last state, other control bytes dropped."""
    text = _ANSI.sub("", text)
    if "\r" in text:
        parts = [part for part in text.split("\r") if part]
        text = parts[-1] if parts else ""
    return _CONTROL.sub("", text.replace("\x1b", ""))


def stream_key(job_id: str) -> str:
    return f"progress:{job_id}"


@dataclass(frozen=True)
class ProgressEntry:
    """One stream entry: its id (`1714560000000-0`, usable as `after`), kind and fields."""

    id: str
    kind: str
    fields: dict[str, str]

    @property
    def at(self) -> float:
        """When it was written (seconds since the epoch, from the entry id)."""
        return int(self.id.split("-", 1)[0]) / 1000.0


def _encode(kind: str, fields: Mapping[str, Any]) -> dict[str, str]:
    if kind not in KINDS:
        raise ValueError(f"unknown progress kind {kind!r}")
    encoded = {"kind": kind}
    for name, value in fields.items():
        if value is None:
            continue
        text = str(int(value)) if isinstance(value, bool) else str(value)
        if len(text) > LINE_MAX:
            text = text[: LINE_MAX - 1] + "…"
        encoded[name] = text
    return encoded


def _decode(raw_id: bytes | str, raw: Mapping[bytes | str, bytes | str]) -> ProgressEntry:
    def text(value: bytes | str) -> str:
        return value.decode("utf-8", "replace") if isinstance(value, bytes) else value

    fields = {text(k): text(v) for k, v in raw.items()}
    kind = fields.pop("kind", "")
    return ProgressEntry(text(raw_id), kind, fields)


async def append_many(job_id: str, entries: Sequence[tuple[str, Mapping[str, Any]]]) -> list[str]:
    """Append entries in order, one round trip per `APPEND_CHUNK` entries (encoding a
    pipeline is CPU work on the event loop: a chunk keeps each step short); returns
    their ids."""
    ids: list[str] = []
    for start in range(0, len(entries), APPEND_CHUNK):
        ids += await _append_chunk(job_id, entries[start : start + APPEND_CHUNK])
    return ids


async def _append_chunk(job_id: str, entries: Sequence[tuple[str, Mapping[str, Any]]]) -> list[str]:
    key = stream_key(job_id)
    async with redis_client.async_client(RedisDb.APP).pipeline(transaction=False) as pipe:
        for kind, fields in entries:
            pipe.xadd(key, _encode(kind, fields), maxlen=STREAM_MAXLEN, approximate=True)  # type: ignore[arg-type]
        pipe.expire(key, STREAM_TTL_SECONDS)
        results = await pipe.execute()
    return [_text(value) for value in results[:-1]]


async def append(job_id: str, kind: str, **fields: Any) -> str:
    """Append one entry (XADD MAXLEN ~ 5000, EXPIRE 48 h); returns its id."""
    return (await append_many(job_id, [(kind, fields)]))[0]


def append_sync(job_id: str, kind: str, *, client: redis.Redis | None = None, **fields: Any) -> str:
    """`append` for synchronous code (stale detection); `client` defaults to the app's."""
    key = stream_key(job_id)
    pipe = (client or redis_client.sync_client(RedisDb.APP)).pipeline(transaction=False)
    pipe.xadd(key, _encode(kind, fields), maxlen=STREAM_MAXLEN, approximate=True)  # type: ignore[arg-type]
    pipe.expire(key, STREAM_TTL_SECONDS)
    results = pipe.execute()
    return _text(results[0])


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def read(
    job_id: str, after: str = "0-0", count: int = READ_COUNT, block_ms: int | None = None
) -> list[ProgressEntry]:
    """Entries newer than `after` (oldest first, at most `count`). With `block_ms` (> 0),
    waits that long for the first new entry when there is none yet (empty list on timeout);
    None or 0 answers at once (Redis would take 0 as "wait forever")."""
    if block_ms is not None and block_ms <= 0:
        block_ms = None
    client = redis_client.async_client(RedisDb.APP)
    answer = await client.xread({stream_key(job_id): after}, count=count, block=block_ms)
    entries: list[ProgressEntry] = []
    for _stream, items in answer or []:
        entries.extend(_decode(entry_id, raw) for entry_id, raw in items)
    return entries


async def last_lines(job_id: str, count: int = 50) -> list[str]:
    """The last `count` output lines of the job (for a failure summary), oldest first."""
    client = redis_client.async_client(RedisDb.APP)
    lines: list[str] = []
    cursor = "+"
    while len(lines) < count:
        batch = await client.xrevrange(stream_key(job_id), max=cursor, min="-", count=200)
        if not batch:
            break
        for entry_id, raw in batch:
            entry = _decode(entry_id, raw)
            if entry.kind == "line":
                lines.append(entry.fields.get("text", ""))
                if len(lines) >= count:
                    break
        last = _text(batch[-1][0])
        cursor = "(" + last
        if len(batch) < 200:
            break
    return list(reversed(lines))


class ProgressWriter:
    """Output lines of one job, batched: lines are buffered and written at most
    `flush_interval` seconds later (or at once when `batch` lines wait) in one round trip;
    any other entry flushes the buffered lines first, so the stream keeps the order things
    happened in. Use `async with ProgressWriter(job_id) as writer:`."""

    def __init__(self, job_id: str, *, flush_interval: float = 0.1, batch: int = 200) -> None:
        self.job_id = job_id
        self.flush_interval = flush_interval
        self.batch = batch
        self._pending: list[tuple[str, Mapping[str, Any]]] = []
        self._lock = asyncio.Lock()
        self._timer: asyncio.Task[None] | None = None

    async def __aenter__(self) -> ProgressWriter:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def line(self, stream: str, text: str, **fields: Any) -> None:
        for part in text.split("\n"):
            self._pending.append(("line", {"stream": stream, "text": strip_ansi(part), **fields}))
        if len(self._pending) >= self.batch:
            await self.flush()
        elif self._timer is None or self._timer.done():
            self._timer = asyncio.create_task(self._flush_later())

    async def entry(self, kind: str, **fields: Any) -> None:
        self._pending.append((kind, fields))
        await self.flush()

    async def _flush_later(self) -> None:
        await asyncio.sleep(self.flush_interval)
        try:
            await self.flush()
        except redis.exceptions.RedisError:  # the next flush tries again with what is left
            log.warning("progress of job %s: Redis failed", self.job_id, exc_info=True)

    async def flush(self) -> None:
        async with self._lock:
            pending, self._pending = self._pending, []
            if pending:
                await append_many(self.job_id, pending)

    async def aclose(self) -> None:
        """Write what is buffered and stop the timer."""
        timer, self._timer = self._timer, None
        if timer is not None and not timer.done() and timer is not asyncio.current_task():
            timer.cancel()
            await asyncio.gather(timer, return_exceptions=True)
        await self.flush()
