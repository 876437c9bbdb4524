"""What a command gives back: `ExecResult`, `OutputLine`, and the streaming `ExecStream`."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass
from types import TracebackType
from typing import Literal

import asyncssh

from .errors import SshConnectionLost, SshTimeout, size_text

StreamName = Literal["stdout", "stderr"]
ProcessOpener = Callable[[], AbstractAsyncContextManager["asyncssh.SSHClientProcess[bytes]"]]
_QUEUE_LINES = 256  # lines buffered ahead of a slow consumer before the channel is throttled
MAX_LINE_BYTES = 64 * 1024  # a streamed line longer than this is cut (and marked)
READ_CHUNK = 64 * 1024


@dataclass(frozen=True)
class ExecResult:
    """A finished command. `exit_status` is the command's own exit code (non-zero is not an
    error of the SSH layer); a command killed by a signal reports 128 + the signal number,
    as a shell does."""

    exit_status: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_status == 0


@dataclass(frozen=True)
class OutputLine:
    """One line of output, without its line break (the last line may have had none)."""

    stream: StreamName
    text: str


def decode_output(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


class LineSplitter:
    """Bytes in, lines out, each at most `max_line` bytes: the rest of a longer line is
    dropped (the line ends with " … [line cut at N KiB]"), so one endless line never fills
    the memory."""

    def __init__(self, max_line: int = MAX_LINE_BYTES) -> None:
        self.max_line = max_line
        self.mark = f" … [line cut at {size_text(max_line)}]"
        self._buffer = bytearray()
        self._cutting = False  # inside a line already cut: drop until its end

    def feed(self, data: bytes) -> list[str]:
        lines: list[str] = []
        start = 0
        while start < len(data):
            end = data.find(b"\n", start)
            piece = data[start:] if end < 0 else data[start : end + 1]
            start += len(piece)
            self._take(piece, piece.endswith(b"\n"), lines)
        return lines

    def flush(self) -> list[str]:
        """The last line when the output did not end with a line break."""
        rest, self._buffer = bytes(self._buffer), bytearray()
        return [decode_line(rest)] if rest and not self._cutting else []

    def _take(self, piece: bytes, ends_line: bool, lines: list[str]) -> None:
        if self._cutting:
            self._cutting = not ends_line
            return
        self._buffer += piece
        if len(self._buffer) - ends_line > self.max_line:
            lines.append(decode_output(bytes(self._buffer[: self.max_line])) + self.mark)
            self._buffer.clear()
            self._cutting = not ends_line
        elif ends_line:
            lines.append(decode_line(bytes(self._buffer)))
            self._buffer.clear()


def decode_line(raw: bytes) -> str:
    text = decode_output(raw)
    if text.endswith("\n"):
        text = text[:-1]
        if text.endswith("\r"):
            text = text[:-1]
    return text


def exit_status_of(process: asyncssh.SSHClientProcess[bytes]) -> int | None:
    """The exit status, 128 + signal for a killed command, None when the channel closed
    without either (the connection broke)."""
    status = process.exit_status
    if status == -1 and process.exit_signal is not None:
        name = process.exit_signal[0]
        try:
            return 128 + int(signal.Signals["SIG" + name])
        except KeyError:
            return 128
    return status


@dataclass(frozen=True)
class _Done:
    error: BaseException | None = None


class ExecStream:
    """Output lines of a running command as they arrive, stdout and stderr interleaved in
    arrival order. After the iteration ends, `exit_status` holds the command's exit status
    (it is None before). Recommended use::

        async with pool.pct_exec_stream(target, 101, ["apt-get", "update"]) as stream:
            async for line in stream:
                print(line.stream, line.text)
        status = stream.exit_status

    Plain `async for` works as well; the `async with` guarantees that stopping early closes
    the channel and frees the session slot at once. The output is not limited in total (a
    long install prints a lot), but each line is: past MAX_LINE_BYTES it is cut and marked. The command starts on the first
    iteration. Errors: `SshTimeout` when `timeout` (seconds for the whole command) runs out,
    `SshConnectionLost` when the connection breaks before an exit status arrives, and the
    connection errors of the pool (`SshUnreachable`, `SshAuthFailed`, `HostKeyMismatch`, ...).
    """

    def __init__(
        self, opener: ProcessOpener, stdin: bytes | None, timeout: float | None, label: str
    ) -> None:
        self._opener = opener
        self._stdin = stdin
        self._timeout = timeout
        self._label = label
        self._stack: AsyncExitStack | None = None
        self._process: asyncssh.SSHClientProcess[bytes] | None = None
        self._queue: asyncio.Queue[OutputLine | _Done] = asyncio.Queue(_QUEUE_LINES)
        self._pumps: list[asyncio.Task[None]] = []
        self._deadline: float | None = None
        self._open_streams = 2
        self._finished = False
        self.exit_status: int | None = None

    def __aiter__(self) -> ExecStream:
        return self

    async def __aenter__(self) -> ExecStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def __anext__(self) -> OutputLine:
        if self._finished:
            raise StopAsyncIteration
        try:
            if self._process is None:
                await self._start()
            while self._open_streams:
                item = await self._next_item()
                if isinstance(item, OutputLine):
                    return item
                self._open_streams -= 1
                if item.error is not None:
                    raise SshConnectionLost(
                        f"{self._label}: the connection broke during the command"
                    ) from item.error
            self.exit_status = await self._wait_exit()
        except BaseException:
            await self.aclose()
            raise
        await self.aclose()
        raise StopAsyncIteration

    async def aclose(self) -> None:
        """Stop reading, close the channel and free the session slot (idempotent)."""
        self._finished = True
        for pump in self._pumps:
            pump.cancel()
        if self._pumps:
            await asyncio.gather(*self._pumps, return_exceptions=True)
            self._pumps = []
        if self._stack is not None:
            stack, self._stack = self._stack, None
            await stack.aclose()

    async def _start(self) -> None:
        stack = AsyncExitStack()
        try:
            process = await stack.enter_async_context(self._opener())
        except BaseException:
            await stack.aclose()
            raise
        self._stack, self._process = stack, process
        if self._timeout is not None:
            self._deadline = asyncio.get_running_loop().time() + self._timeout
        if self._stdin:
            process.stdin.write(self._stdin)
        process.stdin.write_eof()
        self._pumps = [
            asyncio.create_task(self._pump(process.stdout, "stdout")),
            asyncio.create_task(self._pump(process.stderr, "stderr")),
        ]

    async def _pump(self, reader: asyncssh.SSHReader[bytes], name: StreamName) -> None:
        error: BaseException | None = None
        splitter = LineSplitter()
        try:
            while data := await reader.read(READ_CHUNK):
                for text in splitter.feed(data):
                    await self._queue.put(OutputLine(name, text))
            for text in splitter.flush():
                await self._queue.put(OutputLine(name, text))
        except asyncio.CancelledError:
            raise
        except (asyncssh.Error, OSError) as exc:
            error = exc
        await self._queue.put(_Done(error))

    async def _next_item(self) -> OutputLine | _Done:
        try:
            async with asyncio.timeout_at(self._deadline):
                return await self._queue.get()
        except TimeoutError:
            raise SshTimeout(f"{self._label}: no exit within {self._timeout} s") from None

    async def _wait_exit(self) -> int:
        assert self._process is not None
        try:
            async with asyncio.timeout_at(self._deadline):
                await self._process.wait_closed()
        except TimeoutError:
            raise SshTimeout(f"{self._label}: no exit within {self._timeout} s") from None
        status = exit_status_of(self._process)
        if status is None:
            raise SshConnectionLost(f"{self._label}: the command ended without an exit status")
        return status


async def close_process(process: asyncssh.SSHClientProcess[bytes]) -> None:
    """Close the channel and give the peer a moment to confirm (never hangs)."""
    process.close()
    with contextlib.suppress(TimeoutError, asyncssh.Error, OSError):
        async with asyncio.timeout(1.0):
            await process.wait_closed()
