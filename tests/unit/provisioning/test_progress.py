"""`strip_ansi` (pure) and the progress stream on a real Redis: order, replay, live reads,
bounds and expiry."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from lxc_manager import redis_client
from lxc_manager.provisioning import progress
from lxc_manager.provisioning.progress import ProgressWriter, strip_ansi


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain text", "plain text"),
        ("\x1b[1;32mgreen\x1b[0m and \x1b[31mred\x1b[m", "green and red"),
        ("\x1b[2K\x1b[1Gcleared", "cleared"),
        ("\x1b]0;window title\x07after", "after"),
        ("\x1b]8;;https://example.org\x1b\\link\x1b]8;;\x1b\\", "link"),
        ("10%\r50%\r100%", "100%"),
        ("done\r", "done"),
        ("tab\tstays, bell\x07 goes", "tab\tstays, bell goes"),
        ("\x1b(Bcharset", "charset"),
        ("\x1b[?25lhidden cursor\x1b[?25h", "hidden cursor"),
        ("trailing escape \x1b", "trailing escape "),
        ("ünïcödé ✓", "ünïcödé ✓"),
    ],
)
def test_strip_ansi(raw: str, shown: str) -> None:
    assert strip_ansi(raw) == shown


def _job() -> str:
    return uuid.uuid4().hex


async def test_append_and_replay_in_order(app_settings: Path) -> None:
    job = _job()
    first = await progress.append(job, "status", status="queued", step=1)
    await progress.append_many(
        job,
        [("step", {"step": 1, "name": "Create", "state": "running"})]
        + [("line", {"stream": "stdout", "text": f"line {i}", "skip": None}) for i in range(5)],
    )
    entries = await progress.read(job)
    assert entries[0].id == first and entries[0].kind == "status"
    assert entries[0].fields == {"status": "queued", "step": "1"}
    assert [e.fields.get("text") for e in entries[2:]] == [f"line {i}" for i in range(5)]
    assert "skip" not in entries[2].fields
    later = await progress.read(job, after=entries[3].id)
    assert [e.fields["text"] for e in later] == ["line 2", "line 3", "line 4"]
    assert abs(entries[0].at - entries[-1].at) < 5
    ttl = await redis_client.async_client().ttl(progress.stream_key(job))
    assert progress.STREAM_TTL_SECONDS - 5 < ttl <= progress.STREAM_TTL_SECONDS
    assert await progress.last_lines(job, 2) == ["line 3", "line 4"]
    with pytest.raises(ValueError):
        await progress.append(job, "bogus")


async def test_live_read_blocks_until_an_entry_comes(app_settings: Path) -> None:
    job = _job()
    start = await progress.append(job, "status", status="running")
    assert await progress.read(job, after=start, block_ms=50) == []

    async def later() -> None:
        await asyncio.sleep(0.1)
        await progress.append(job, "result", outcome="succeeded")

    task = asyncio.create_task(later())
    entries = await progress.read(job, after=start, block_ms=5000)
    await task
    assert [(e.kind, e.fields["outcome"]) for e in entries] == [("result", "succeeded")]


async def test_the_stream_is_bounded(app_settings: Path) -> None:
    job = _job()
    batch = [("line", {"stream": "stdout", "text": str(i)}) for i in range(1000)]
    for _ in range(7):
        await progress.append_many(job, batch)
    length = await redis_client.async_client().xlen(progress.stream_key(job))
    assert progress.STREAM_MAXLEN <= length < 7000  # MAXLEN ~ trims whole nodes
    lines = await progress.last_lines(job, 3)
    assert lines == ["997", "998", "999"]
    long_text = "x" * (progress.LINE_MAX + 100)
    await progress.append(job, "line", stream="stdout", text=long_text)
    assert len((await progress.last_lines(job, 1))[0]) == progress.LINE_MAX


async def test_the_writer_batches_but_keeps_order_and_flushes_by_itself(app_settings: Path) -> None:
    job = _job()
    async with ProgressWriter(job, flush_interval=0.05) as writer:
        await writer.line("stdout", "\x1b[32mone\x1b[0m\ntwo")
        assert await progress.read(job) == []  # buffered
        await asyncio.sleep(0.2)
        assert [e.fields["text"] for e in await progress.read(job)] == ["one", "two"]
        await writer.line("stderr", "three", step=6)
        await writer.entry("step", step=6, state="failed")
        await writer.line("stdout", "four")
    entries = await progress.read(job)
    assert [(e.kind, e.fields.get("text")) for e in entries] == [
        ("line", "one"),
        ("line", "two"),
        ("line", "three"),
        ("step", None),
        ("line", "four"),
    ]
    assert entries[2].fields == {"stream": "stderr", "text": "three", "step": "6"}


def test_sync_append(app_settings: Path) -> None:
    job = _job()
    entry_id = progress.append_sync(job, "result", outcome="failed", error="boom")
    raw = redis_client.sync_client().xrange(progress.stream_key(job))
    assert raw[0][0].decode() == entry_id
    assert raw[0][1] == {b"kind": b"result", b"outcome": b"failed", b"error": b"boom"}
