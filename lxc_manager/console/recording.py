"""Console recordings (LXCM_CONSOLE_RECORDING=on): what the browser was sent and what it
typed, sealed with the app's keyring, kept LXCM_CONSOLE_RECORDING_DAYS.

A recording is a `ConsoleRecording` row (who, which container, which path, bytes, no
content) and `ConsoleRecordingChunk` rows: each a JSON list of events
`[seconds_since_start, "o"|"i", base64(bytes)]`, AES-256-GCM with associated data
`console_recording:{id}:{user_id}:{seq}`, written every few seconds or every
`CHUNK_BYTES`. A recording keeps at most `MAX_RECORDED_BYTES`; past that it is marked
truncated and the rest is not kept.

Replay (`replay`) turns the bytes back into text for the terminal: UTF-8 decoded across
event boundaries, bytes that are not UTF-8 as U+DC80..U+DCFF (Python's
"surrogateescape"), so `"".join(texts).encode("utf-8", "surrogateescape")` gives back
exactly the bytes that were recorded. Only the recording's user and administrators get
it; anyone else gets None (the route answers 404).

Purge: `purge_expired` deletes recordings past their `expires_at`. It runs every
`PURGE_EVERY` seconds as a scheduled task of `serve` (`PURGE_TASK`), and when a console
opens and when recordings are listed (`maybe_purge`), at most once per `PURGE_EVERY`
seconds across all processes and replicas: both take the same Redis claim (`scheduled`).
"""

from __future__ import annotations

import asyncio
import base64
import codecs
import json
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from sqlmodel import col, delete, select

from lxc_manager import scheduled
from lxc_manager.db.engine import session_scope
from lxc_manager.db.models import ConsoleRecording, ConsoleRecordingChunk, utcnow
from lxc_manager.security.crypto import DecryptionError, Keyring, load_keyring
from lxc_manager.settings import get_settings

__all__ = [
    "CHUNK_BYTES",
    "MAX_RECORDED_BYTES",
    "RecordingView",
    "SessionRecorder",
    "list_recordings",
    "maybe_purge",
    "purge_expired",
    "replay",
    "rotate_keys",
]

log = logging.getLogger(__name__)

CHUNK_BYTES = 256 * 1024
MAX_RECORDED_BYTES = 64 * 1024 * 1024
PURGE_EVERY = 600
PURGE_TASK = "console-recordings-purge"
PURGE_KEY = scheduled.KEY_PREFIX + PURGE_TASK  # the scheduled task's claim


def associated_data(recording_id: str, user_id: str, seq: int) -> str:
    return f"console_recording:{recording_id}:{user_id}:{seq}"


def _keyring() -> Keyring:
    return load_keyring(get_settings())


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# -- writing -------------------------------------------------------------------------------


def _create(recording: ConsoleRecording) -> None:
    with session_scope() as db:
        db.add(recording)


def _store_chunk(recording_id: str, user_id: str, seq: int, events: list[Any]) -> None:
    sealed = _keyring().encrypt(
        json.dumps(events, separators=(",", ":")), associated_data(recording_id, user_id, seq)
    )
    with session_scope() as db:
        db.add(ConsoleRecordingChunk(recording_id=recording_id, seq=seq, sealed=sealed))


def _finish(recording_id: str, duration: float, bytes_in: int, bytes_out: int, cut: bool) -> None:
    with session_scope() as db:
        row = db.get(ConsoleRecording, recording_id)
        if row is not None:
            row.duration = round(duration, 3)
            row.bytes_in, row.bytes_out, row.truncated = bytes_in, bytes_out, cut
            db.add(row)


class SessionRecorder:
    """Collects one console's events in memory (at most about `CHUNK_BYTES`) and writes
    them as sealed chunks from a thread: `output`/`input` never block the loop."""

    def __init__(self, user_id: str, node_id: int, vmid: int, path: str) -> None:
        self.id = secrets.token_hex(16)
        self.user_id, self.node_id, self.vmid, self.path = user_id, node_id, vmid, path
        self._started = time.monotonic()
        self._events: list[list[Any]] = []
        self._pending = 0
        self._seq = 0
        self._recorded = 0
        self.bytes_in = 0
        self.bytes_out = 0
        self.truncated = False
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        days = get_settings().console_recording_days
        now = utcnow()
        row = ConsoleRecording(
            id=self.id,
            user_id=self.user_id,
            node_id=self.node_id,
            vmid=self.vmid,
            path=self.path,
            started_at=now,
            expires_at=now + timedelta(days=days),
        )
        await asyncio.to_thread(_create, row)

    def _add(self, kind: str, data: bytes) -> None:
        if kind == "o":
            self.bytes_out += len(data)
        else:
            self.bytes_in += len(data)
        if self._recorded + len(data) > MAX_RECORDED_BYTES:
            self.truncated = True
            return
        self._recorded += len(data)
        offset = round(time.monotonic() - self._started, 4)
        if self._events and self._events[-1][1] == kind and self._events[-1][0] == offset:
            self._events[-1][2] += data
        else:
            self._events.append([offset, kind, data])
        self._pending += len(data)

    def output(self, data: bytes) -> None:
        self._add("o", data)

    def input(self, data: bytes) -> None:
        self._add("i", data)

    @property
    def full(self) -> bool:
        return self._pending >= CHUNK_BYTES

    async def flush(self) -> None:
        async with self._lock:
            if not self._events:
                return
            events = [[t, k, base64.b64encode(d).decode()] for t, k, d in self._events]
            self._events, self._pending = [], 0
            seq, self._seq = self._seq, self._seq + 1
            await asyncio.to_thread(_store_chunk, self.id, self.user_id, seq, events)

    async def finish(self) -> None:
        await self.flush()
        await asyncio.to_thread(
            _finish,
            self.id,
            time.monotonic() - self._started,
            self.bytes_in,
            self.bytes_out,
            self.truncated,
        )


# -- reading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordingView:
    id: str
    node_id: int
    vmid: int
    path: str
    started: str  # ISO 8601, UTC
    duration: float
    bytes_in: int
    bytes_out: int
    truncated: bool
    user_id: str

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "node_id": self.node_id,
            "vmid": self.vmid,
            "path": self.path,
            "started": self.started,
            "duration": self.duration,
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "truncated": self.truncated,
            "user": self.user_id,
        }


def _view(row: ConsoleRecording) -> RecordingView:
    return RecordingView(
        id=row.id,
        node_id=row.node_id,
        vmid=row.vmid,
        path=row.path,
        started=_aware(row.started_at).isoformat(),
        duration=row.duration,
        bytes_in=row.bytes_in,
        bytes_out=row.bytes_out,
        truncated=row.truncated,
        user_id=row.user_id,
    )


def list_recordings(
    user_id: str,
    is_admin: bool,
    node_id: int | None = None,
    vmid: int | None = None,
    limit: int = 200,
) -> list[RecordingView]:
    """The user's recordings (an administrator's: everyone's), newest first; expired ones
    are never listed, purged or not."""
    with session_scope() as db:
        query = select(ConsoleRecording).where(ConsoleRecording.expires_at > utcnow())
        if not is_admin:
            query = query.where(ConsoleRecording.user_id == user_id)
        if node_id is not None:
            query = query.where(ConsoleRecording.node_id == node_id)
        if vmid is not None:
            query = query.where(ConsoleRecording.vmid == vmid)
        query = query.order_by(col(ConsoleRecording.started_at).desc()).limit(limit)
        return [_view(row) for row in db.exec(query)]


def _texts(events: list[tuple[float, str, bytes]]) -> list[list[Any]]:
    decoders = {
        kind: codecs.getincrementaldecoder("utf-8")(errors="surrogateescape") for kind in "oi"
    }
    out: list[list[Any]] = []
    for offset, kind, data in events:
        text = decoders[kind].decode(data)
        if text:
            out.append([offset, kind, text])
    last = events[-1][0] if events else 0.0
    for kind, decoder in decoders.items():
        rest = decoder.decode(b"", final=True)
        if rest:
            out.append([last, kind, rest])
    return out


def replay(recording_id: str, user_id: str, is_admin: bool) -> dict[str, Any] | None:
    """The recording as the browser replays it, or None: not found, expired, or neither
    the viewer's own nor viewed by an administrator (one answer for all three)."""
    with session_scope() as db:
        row = db.get(ConsoleRecording, recording_id)
        if row is None or _aware(row.expires_at) <= utcnow():
            return None
        if row.user_id != user_id and not is_admin:
            return None
        view = _view(row)
        chunks = list(
            db.exec(
                select(ConsoleRecordingChunk)
                .where(ConsoleRecordingChunk.recording_id == recording_id)
                .order_by(col(ConsoleRecordingChunk.seq))
            )
        )
    ring = _keyring()
    events: list[tuple[float, str, bytes]] = []
    for chunk in chunks:
        try:
            plain = ring.decrypt(
                chunk.sealed, associated_data(recording_id, view.user_id, chunk.seq)
            )
        except DecryptionError:
            log.warning("recording %s chunk %s does not decrypt", recording_id, chunk.seq)
            continue
        for offset, kind, data in json.loads(plain):
            events.append((float(offset), str(kind), base64.b64decode(data)))
    body = view.as_json()
    body["events"] = _texts(events)
    return body


# -- keeping -------------------------------------------------------------------------------


def purge_expired() -> int:
    """Delete every recording past its `expires_at` (chunks first); returns how many."""
    now = utcnow()
    with session_scope() as db:
        expired = list(
            db.exec(select(ConsoleRecording.id).where(ConsoleRecording.expires_at <= now))
        )
        if not expired:
            return 0
        db.exec(
            delete(ConsoleRecordingChunk).where(
                col(ConsoleRecordingChunk.recording_id).in_(expired)
            )
        )
        db.exec(delete(ConsoleRecording).where(col(ConsoleRecording.id).in_(expired)))
    log.info("purged %s expired console recording(s)", len(expired))
    return len(expired)


async def maybe_purge(redis: Redis) -> None:
    """`purge_expired`, at most once per PURGE_EVERY seconds across all processes."""
    try:
        if not await redis.set(PURGE_KEY, "1", nx=True, ex=PURGE_EVERY):
            return
        await asyncio.to_thread(purge_expired)
    except Exception:
        log.exception("purging console recordings failed")


def rotate_keys(ring: Keyring | None = None) -> int:
    """Re-seal every chunk not sealed with the active key; returns how many changed.
    Raises DecryptionError (nothing changed) when one does not decrypt."""
    ring = ring or _keyring()
    changed = 0
    with session_scope() as db:
        rows = db.exec(
            select(ConsoleRecordingChunk, ConsoleRecording.user_id).join(
                ConsoleRecording,
                col(ConsoleRecording.id) == col(ConsoleRecordingChunk.recording_id),
            )
        )
        for chunk, user_id in rows:
            if ring.needs_rotation(chunk.sealed):
                ad = associated_data(chunk.recording_id, user_id, chunk.seq)
                chunk.sealed = ring.encrypt(ring.decrypt(chunk.sealed, ad), ad)
                db.add(chunk)
                changed += 1
    return changed
