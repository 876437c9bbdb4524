"""Recordings past LXCM_CONSOLE_RECORDING_DAYS are purged (rows and sealed chunks), never
listed or replayed before that; the purge runs at most once per PURGE_EVERY across
processes (a Redis key)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from sqlmodel import select

from lxc_manager import scheduled
from lxc_manager.console import recording
from lxc_manager.db.engine import session_scope
from lxc_manager.db.migrate import upgrade_head
from lxc_manager.db.models import ConsoleRecording, ConsoleRecordingChunk, utcnow
from lxc_manager.redis_client import RedisDb, async_client, sync_client


async def _record(user: str, expired: bool) -> str:
    recorder = recording.SessionRecorder(user, 1, 101, "ssh")
    await recorder.start()
    recorder.output(b"secret output")
    await recorder.finish()
    if expired:
        with session_scope() as db:
            row = db.get(ConsoleRecording, recorder.id)
            assert row is not None
            row.expires_at = utcnow() - timedelta(seconds=1)
            db.add(row)
    return recorder.id


async def test_expired_recordings_are_purged(app_settings: Path) -> None:
    await asyncio.to_thread(upgrade_head)
    old = await _record("u@pam@e1", expired=True)
    kept = await _record("u@pam@e1", expired=False)
    listed = await asyncio.to_thread(recording.list_recordings, "u@pam@e1", False)
    assert [r.id for r in listed] == [kept]
    assert await asyncio.to_thread(recording.replay, old, "u@pam@e1", True) is None
    redis = async_client(RedisDb.APP)
    await redis.delete(recording.PURGE_KEY)
    await recording.maybe_purge(redis)
    with session_scope() as db:
        rows = {r.id for r in db.exec(select(ConsoleRecording))}
        chunks = {c.recording_id for c in db.exec(select(ConsoleRecordingChunk))}
    assert rows == {kept} and chunks == {kept}
    replay = await asyncio.to_thread(recording.replay, kept, "u@pam@e1", False)
    assert replay is not None and replay["events"][0][2] == "secret output"
    assert await redis.ttl(recording.PURGE_KEY) > 0  # the next one waits
    # serve's scheduled purge takes the same claim: no replica purges again this period
    ran: list[bool] = []
    assert not scheduled.tick(
        sync_client(RedisDb.APP),
        recording.PURGE_TASK,
        recording.PURGE_EVERY,
        lambda: ran.append(True),
        "another-replica",
    )
    assert ran == []
