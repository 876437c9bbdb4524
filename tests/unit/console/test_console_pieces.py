"""Pure pieces of the console: the bounded output buffer, termproxy's framing, the
replay's byte-exact text, the per-user limit's arguments."""

from __future__ import annotations

import asyncio
import os

from lxc_manager.console.recording import _texts
from lxc_manager.console.session import ConsoleSession, OutputBuffer
from lxc_manager.console.termproxy import data_message, resize_message


async def test_the_buffer_stops_the_producer_when_full_and_coalesces() -> None:
    buffer = OutputBuffer(high_water=1000)
    produced = 0

    async def producer() -> None:
        nonlocal produced
        while True:
            await buffer.put(b"x" * 300)
            produced += 300

    task = asyncio.create_task(producer())
    await asyncio.sleep(0.05)
    assert len(buffer) == 1200 and produced == 1200  # stopped: nobody takes
    piece = await buffer.take(limit=10_000)
    assert piece == b"x" * 1200  # four writes, one frame
    await asyncio.sleep(0.05)
    assert len(buffer) <= 1200 and buffer.peak <= 1000 + 300
    task.cancel()
    buffer.end()
    while await buffer.take():
        pass
    assert await buffer.take() == b""


def test_termproxy_framing_counts_bytes_not_characters() -> None:
    """pve-xtermjs main.js: "0:" + byte length + ":" + data; "1:COLS:ROWS:"."""
    assert data_message("é✓".encode()) == b"0:5:\xc3\xa9\xe2\x9c\x93"
    assert data_message(b"ls\r") == b"0:3:ls\r"
    assert resize_message(120, 40) == b"1:120:40:"


def test_replay_text_gives_back_exactly_the_recorded_bytes() -> None:
    recorded = [b"ok ", b"\xe2\x9c", b"\x93 \xff\xfe", os.urandom(4096), b"\xc3"]
    events = [(i * 0.1, "o", data) for i, data in enumerate(recorded)]
    events.insert(2, (0.15, "i", "é".encode()[:1]))
    events.append((1.0, "i", "é".encode()[1:]))
    texts = _texts(events)
    output = "".join(t for _, k, t in texts if k == "o").encode("utf-8", "surrogateescape")
    typed = "".join(t for _, k, t in texts if k == "i").encode("utf-8", "surrogateescape")
    assert output == b"".join(recorded)
    assert typed == "é".encode()
    assert "✓" in "".join(t for _, k, t in texts if k == "o")  # a split character joined


class _Producer:
    """An upstream that produces output as fast as it is read (`cat /dev/urandom`)."""

    path = "ssh"

    def __init__(self) -> None:
        self.produced = 0

    async def read(self) -> bytes:
        await asyncio.sleep(0)
        self.produced += 4096
        return b"y" * 4096

    async def write(self, data: bytes) -> None:
        return None

    async def resize(self, cols: int, rows: int) -> None:
        return None

    async def keepalive(self) -> None:
        return None

    async def close(self) -> None:
        return None


class _Tab:
    """The browser end: records what it was sent; its messages come from a queue."""

    def __init__(self) -> None:
        self.sent = 0
        self.messages: asyncio.Queue[dict[str, object] | None] = asyncio.Queue()

    async def send_output(self, data: bytes) -> None:
        self.sent += len(data)
        await asyncio.sleep(0)

    async def send_status(self, state: str, path: str, message: str) -> None:
        return None

    async def receive(self) -> dict[str, object] | None:
        return await self.messages.get()


async def test_a_paused_terminal_gets_nothing_and_the_upstream_stops_at_the_buffer() -> None:
    """xterm.js asks for a pause when its write backlog is past a high-water mark: nothing
    is sent while paused, the upstream is read only until the bounded buffer is full, and
    output flows again after "resume"."""

    async def alive(_typed: bool) -> bool:
        return True

    upstream, tab = _Producer(), _Tab()
    session = ConsoleSession(
        upstream, tab, session_check=alive, idle_seconds=60, high_water=64 * 1024
    )
    running = asyncio.create_task(session.run())
    await asyncio.sleep(0.05)
    assert tab.sent > 0
    await tab.messages.put({"t": "pause"})
    await asyncio.sleep(0.05)
    sent, produced = tab.sent, upstream.produced
    await asyncio.sleep(0.1)
    assert tab.sent - sent <= 64 * 1024  # at most one frame already taken
    assert upstream.produced - produced <= 64 * 1024 + 4096  # stopped at the buffer
    assert len(session.buffer) <= 64 * 1024 + 4096
    await tab.messages.put({"t": "resume"})
    await asyncio.sleep(0.05)
    assert tab.sent > sent + 64 * 1024
    await tab.messages.put(None)  # the browser leaves
    reason = await asyncio.wait_for(running, 5)
    assert reason.message == "Closed: the browser left"
