"""One browser console: an upstream terminal (termproxy or SSH), the browser, and the
pumps between them, with flow control, limits, audit and recording.

    upstream = await open_upstream(...)                  # see `connect.py`
    session = ConsoleSession(upstream, browser, checks, recorder)
    reason = await session.run()                         # -> CloseReason (code, message)

Flow control: output read from the upstream goes into an `OutputBuffer` of at most
`HIGH_WATER` bytes (+ one read). While it is full the upstream is not read, so the
terminal on the Proxmox side is stopped by the transport's own flow control (the SSH
channel window, TCP for termproxy). The browser side takes everything buffered, up to
`MAX_FRAME` bytes, as one binary frame: chunks that arrive while a frame is being sent are
coalesced into the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

log = logging.getLogger(__name__)

__all__ = [
    "CHECK_SECONDS",
    "HIGH_WATER",
    "MAX_FRAME",
    "Browser",
    "CloseReason",
    "ConsoleSession",
    "Counters",
    "OutputBuffer",
    "Upstream",
]

HIGH_WATER = 256 * 1024  # bytes of output held for a browser that is behind
MAX_FRAME = 64 * 1024  # largest binary frame sent to the browser
MAX_INPUT = 64 * 1024  # largest input message accepted from the browser
CHECK_SECONDS = 3.0  # how often the session, the idle timer and the slot are checked

# Close codes of the browser protocol (see docs/console.md)
CLOSE_EXITED = 1000
CLOSE_NO_SESSION = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_IDLE = 4408
CLOSE_TOO_MANY = 4429
CLOSE_NO_WAY_IN = 4502


@dataclass(frozen=True)
class CloseReason:
    code: int
    message: str  # "Closed: ..." as the status line shows it


class Upstream(Protocol):
    """A terminal on the Proxmox side. `read` returns b"" once it ended."""

    path: str  # "termproxy" | "ssh"

    async def read(self) -> bytes: ...

    async def write(self, data: bytes) -> None: ...

    async def resize(self, cols: int, rows: int) -> None: ...

    async def keepalive(self) -> None: ...

    async def close(self) -> None: ...


class Browser(Protocol):
    """The browser's end of the console (the route's WebSocket)."""

    async def send_output(self, data: bytes) -> None: ...

    async def send_status(self, state: str, path: str, message: str) -> None: ...

    async def receive(self) -> dict[str, object] | None: ...


class Recorder(Protocol):
    def output(self, data: bytes) -> None: ...

    def input(self, data: bytes) -> None: ...

    @property
    def full(self) -> bool: ...

    async def flush(self) -> None: ...


@dataclass
class Counters:
    """Bytes each way and the most output ever held for the browser."""

    started: float = field(default_factory=time.monotonic)
    bytes_in: int = 0
    bytes_out: int = 0
    peak_buffered: int = 0

    @property
    def duration(self) -> float:
        return time.monotonic() - self.started


class OutputBuffer:
    """Bounded output between the upstream reader and the browser sender."""

    def __init__(self, high_water: int = HIGH_WATER) -> None:
        self.high_water = high_water
        self._data = bytearray()
        self._readable = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()
        self._ended = False
        self.peak = 0

    def __len__(self) -> int:
        return len(self._data)

    async def put(self, chunk: bytes) -> None:
        """Add output; waits (does not read further upstream) while the buffer is full."""
        while len(self._data) >= self.high_water and not self._ended:
            self._writable.clear()
            await self._writable.wait()
        self._data += chunk
        self.peak = max(self.peak, len(self._data))
        self._readable.set()

    def end(self) -> None:
        """No more output will come (the upstream ended); `take` returns b"" when empty."""
        self._ended = True
        self._readable.set()
        self._writable.set()

    async def take(self, limit: int = MAX_FRAME) -> bytes:
        """Everything buffered (up to `limit` bytes) as one piece; b"" at the end."""
        while not self._data:
            if self._ended:
                return b""
            self._readable.clear()
            await self._readable.wait()
        piece = bytes(self._data[:limit])
        del self._data[:limit]
        if len(self._data) < self.high_water:
            self._writable.set()
        return piece


def _size(value: object, default: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    return max(1, min(int(value), 1000))


SessionCheck = Callable[[bool], Awaitable[bool]]
"""Called every CHECK_SECONDS with "was there input since the last call"; False = the
user's session ended (or the console's slot is gone): the console closes."""


class ConsoleSession:
    """Runs one console until the shell exits, the browser leaves, the session ends or
    nobody typed for `idle_seconds`; returns why it closed."""

    def __init__(
        self,
        upstream: Upstream,
        browser: Browser,
        *,
        session_check: SessionCheck,
        idle_seconds: float,
        recorder: Recorder | None = None,
        high_water: int = HIGH_WATER,
        check_seconds: float = CHECK_SECONDS,
        keepalive_seconds: float = 30.0,
    ) -> None:
        self.upstream = upstream
        self.browser = browser
        self.session_check = session_check
        self.idle_seconds = idle_seconds
        self.recorder = recorder
        self.buffer = OutputBuffer(high_water)
        self.counters = Counters()
        self.check_seconds = check_seconds
        self.keepalive_seconds = keepalive_seconds
        self._last_input = time.monotonic()
        self._typed = False
        # The browser's terminal asks for a pause while it renders a backlog (xterm.js
        # write callbacks past a high-water mark), and resumes below a low one; while
        # paused nothing is sent and the bounded buffer stops the upstream reader.
        self._resumed = asyncio.Event()
        self._resumed.set()

    async def run(self) -> CloseReason:
        pumps = {
            asyncio.create_task(self._read_upstream(), name="console-upstream"): "upstream",
            asyncio.create_task(self._send_output(), name="console-output"): "output",
            asyncio.create_task(self._read_browser(), name="console-browser"): "browser",
            asyncio.create_task(self._watch(), name="console-watch"): "watch",
        }
        reason: CloseReason | None = None
        try:
            while reason is None:
                done, _ = await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    name = pumps.pop(task)
                    if task.cancelled():
                        continue
                    error = task.exception()
                    if error is not None:
                        log.warning("console %s pump failed: %r", name, error)
                        reason = reason or CloseReason(CLOSE_EXITED, "Closed: the connection broke")
                    elif name == "upstream":
                        continue  # the sender drains what is left, then ends
                    else:
                        reason = reason or task.result()
                if not pumps and reason is None:
                    reason = CloseReason(CLOSE_EXITED, "Closed: the shell exited")
        finally:
            for task in pumps:
                task.cancel()
            for task in pumps:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            self.counters.peak_buffered = self.buffer.peak
        return reason

    async def _read_upstream(self) -> None:
        try:
            while True:
                chunk = await self.upstream.read()
                if not chunk:
                    return
                await self.buffer.put(chunk)
        finally:
            self.buffer.end()

    async def _send_output(self) -> CloseReason:
        while True:
            await self._resumed.wait()
            piece = await self.buffer.take(MAX_FRAME)
            if not piece:
                return CloseReason(CLOSE_EXITED, "Closed: the shell exited")
            await self.browser.send_output(piece)
            self.counters.bytes_out += len(piece)
            if self.recorder is not None:
                self.recorder.output(piece)
                if self.recorder.full:
                    await self.recorder.flush()

    async def _read_browser(self) -> CloseReason:
        while True:
            message = await self.browser.receive()
            if message is None:
                return CloseReason(CLOSE_EXITED, "Closed: the browser left")
            kind = message.get("t")
            if kind == "i":
                text = message.get("d")
                if not isinstance(text, str) or not text:
                    continue
                data = text.encode("utf-8", "surrogateescape")[:MAX_INPUT]
                self._last_input = time.monotonic()
                self._typed = True
                self.counters.bytes_in += len(data)
                if self.recorder is not None:
                    self.recorder.input(data)
                await self.upstream.write(data)
            elif kind == "r":
                await self.upstream.resize(_size(message.get("c"), 80), _size(message.get("r"), 24))
            elif kind == "pause":
                self._resumed.clear()
            elif kind == "resume":
                self._resumed.set()
            # "p" (keepalive) and anything unknown: nothing to do

    async def _watch(self) -> CloseReason:
        next_keepalive = time.monotonic() + self.keepalive_seconds
        while True:
            idle_left = self._last_input + self.idle_seconds - time.monotonic()
            await asyncio.sleep(max(0.05, min(self.check_seconds, idle_left)))
            if time.monotonic() - self._last_input >= self.idle_seconds:
                minutes = self.idle_seconds / 60
                return CloseReason(CLOSE_IDLE, f"Closed: idle for {minutes:g} minutes")
            typed, self._typed = self._typed, False
            if not await self.session_check(typed):
                return CloseReason(CLOSE_NO_SESSION, "Closed: session ended")
            if self.recorder is not None:
                await self.recorder.flush()
            if time.monotonic() >= next_keepalive:
                next_keepalive = time.monotonic() + self.keepalive_seconds
                await self.upstream.keepalive()
