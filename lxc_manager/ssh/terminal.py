"""An interactive terminal on a Proxmox host: a PTY session running one command.

    async with await open_terminal(target, ["pct", "enter", "101"], cols=80, rows=24) as tty:
        tty.write(b"hostname\\r")
        chunk = await tty.read()            # b"" once the command has exited
        tty.resize(120, 40)

The connection is the terminal's own (not the pool's: a console lives for minutes to hours
and must not hold a provisioning session slot), with the target's pinned host key checked
during the key exchange like every other connection (`connect.open_connection`). The
channel's receive window is small: while nobody reads, the host is told to stop sending, so
a command printing without end holds at most `WINDOW` bytes here.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from types import TracebackType

import asyncssh

from .commands import command_line
from .connect import DEFAULT_CONNECT_TIMEOUT, Connection, open_connection
from .errors import SshUnreachable
from .target import SshTarget

__all__ = ["TERM_TYPE", "WINDOW", "Terminal", "open_terminal"]

TERM_TYPE = "xterm-256color"
WINDOW = 128 * 1024  # bytes the host may send before we read them (SSH channel window)
PACKET = 32 * 1024
READ_CHUNK = 64 * 1024


def _size(cols: int, rows: int) -> tuple[int, int]:
    return max(1, min(int(cols), 1000)), max(1, min(int(rows), 1000))


class Terminal:
    """One PTY session; `read` returns output bytes, b"" after the command exited."""

    def __init__(self, connection: Connection, process: asyncssh.SSHClientProcess[bytes]) -> None:
        self._connection = connection
        self._process = process

    async def read(self) -> bytes:
        try:
            return await self._process.stdout.read(READ_CHUNK)
        except (asyncssh.Error, OSError, asyncio.IncompleteReadError):
            return b""

    def write(self, data: bytes) -> None:
        if not self._process.stdin.is_closing():
            self._process.stdin.write(data)

    async def drain(self) -> None:
        with contextlib.suppress(asyncssh.Error, OSError, ConnectionError):
            await self._process.stdin.drain()

    def resize(self, cols: int, rows: int) -> None:
        width, height = _size(cols, rows)
        with contextlib.suppress(asyncssh.Error, OSError):
            self._process.change_terminal_size(width, height)

    @property
    def exit_status(self) -> int | None:
        return self._process.exit_status

    async def close(self) -> None:
        with contextlib.suppress(asyncssh.Error, OSError):
            self._process.close()
            async with asyncio.timeout(5):
                await self._process.wait_closed()
        self._connection.close()
        with contextlib.suppress(asyncssh.Error, OSError, TimeoutError):
            async with asyncio.timeout(5):
                await self._connection.conn.wait_closed()

    async def __aenter__(self) -> Terminal:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()


async def open_terminal(
    target: SshTarget,
    argv: Sequence[str],
    *,
    cols: int = 80,
    rows: int = 24,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
) -> Terminal:
    """Connect (pinned host key), request a PTY of `cols` x `rows` and run `argv` in it.
    Raises the SSH layer's typed errors (`SshError` subclasses)."""
    command = command_line(argv)
    connection = await open_connection(target, connect_timeout=connect_timeout)
    width, height = _size(cols, rows)
    try:
        process: asyncssh.SSHClientProcess[bytes] = await connection.conn.create_process(
            command,
            encoding=None,
            term_type=TERM_TYPE,
            term_size=(width, height),
            request_pty="force",
            window=WINDOW,
            max_pktsize=PACKET,
        )
    except (asyncssh.Error, OSError) as exc:
        connection.close()
        reason = getattr(exc, "reason", None) or type(exc).__name__
        raise SshUnreachable(f"{target.address}: could not open a terminal: {reason}") from None
    return Terminal(connection, process)
