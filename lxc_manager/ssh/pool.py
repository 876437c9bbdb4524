"""`SshPool`: reused connections, a per-host session limit, commands and file pushes.

One pool belongs to one event loop (an RQ job runs its own `asyncio.run` and so its own
pool). Connections are keyed by the whole target (host, port, user, pinned key and a keyed
digest of the credentials); the session limit is keyed by host:port.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from types import TracebackType
from typing import Protocol, TypeVar

import asyncssh

from lxc_manager.settings import get_settings

from .commands import (
    command_line,
    describe,
    pct_exec_argv,
    pct_push_argv,
    validate_argv,
)
from .connect import DEFAULT_CONNECT_TIMEOUT, Connection, open_connection
from .errors import (
    FilePushFailed,
    SshConnectionLost,
    SshError,
    SshOutputTooLarge,
    SshTimeout,
    SshUnreachable,
)
from .results import (
    READ_CHUNK,
    ExecResult,
    ExecStream,
    close_process,
    decode_output,
    exit_status_of,
)
from .retry import RetryPolicy, with_retries
from .target import SshTarget

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_SESSIONS_PER_HOST = 4
DEFAULT_COMMAND_TIMEOUT = 60.0
TEMP_DIR = "/tmp"  # noqa: S108 (on the Proxmox host; the name is random, O_EXCL, 0600)
_CLEANUP_TIMEOUT = 10.0
_PoolKey = tuple[str, int, str, str | None, bytes]


class SessionLimiter(Protocol):
    """Caps concurrent SSH sessions (channels) per host. The in-process default is
    `LocalSessionLimiter`; a limit shared between processes (DESIGN §4b: RQ workers) can
    be plugged in with the same shape."""

    def slot(self, host: str, port: int) -> AbstractAsyncContextManager[None]: ...


class LocalSessionLimiter:
    """An asyncio semaphore per host:port."""

    def __init__(self, per_host: int = DEFAULT_SESSIONS_PER_HOST) -> None:
        if per_host < 1:
            raise ValueError("per_host must be at least 1")
        self.per_host = per_host
        self._semaphores: dict[tuple[str, int], asyncio.Semaphore] = {}
        self._in_use: dict[tuple[str, int], int] = {}
        self._peak: dict[tuple[str, int], int] = {}

    @asynccontextmanager
    async def slot(self, host: str, port: int) -> AsyncIterator[None]:
        key = (host.lower(), port)
        semaphore = self._semaphores.setdefault(key, asyncio.Semaphore(self.per_host))
        async with semaphore:
            self._in_use[key] = self._in_use.get(key, 0) + 1
            self._peak[key] = max(self._peak.get(key, 0), self._in_use[key])
            try:
                yield
            finally:
                self._in_use[key] -= 1

    def in_use(self, host: str, port: int) -> int:
        return self._in_use.get((host.lower(), port), 0)

    def peak(self, host: str, port: int) -> int:
        """The most sessions that were open at once to host:port."""
        return self._peak.get((host.lower(), port), 0)


class SshPool:
    """Runs commands on Proxmox hosts over reused, pinned SSH connections.

    `timeout` arguments are seconds for the command itself (after the connection and a
    session slot are obtained); connecting has its own `connect_timeout` and `retry` policy.
    Use `async with SshPool() as pool:` or call `await pool.close()`.
    """

    def __init__(
        self,
        *,
        max_sessions_per_host: int = DEFAULT_SESSIONS_PER_HOST,
        limiter: SessionLimiter | None = None,
        retry: RetryPolicy | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        command_timeout: float = DEFAULT_COMMAND_TIMEOUT,
        max_output_bytes: int | None = None,
    ) -> None:
        """`max_output_bytes` caps what `run` / `pct_exec` collect (stdout and stderr
        together); it defaults to LXCM_MAX_SSH_OUTPUT_BYTES."""
        self.max_output_bytes = (
            max_output_bytes
            if max_output_bytes is not None
            else get_settings().max_ssh_output_bytes
        )
        self.limiter: SessionLimiter = limiter or LocalSessionLimiter(max_sessions_per_host)
        self.retry = retry or RetryPolicy()
        self.connect_timeout = connect_timeout
        self.command_timeout = command_timeout
        self._connections: dict[_PoolKey, Connection] = {}
        self._locks: dict[_PoolKey, asyncio.Lock] = {}
        self._salt = secrets.token_bytes(32)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    async def __aenter__(self) -> SshPool:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close every pooled connection."""
        self._closed = True
        connections = list(self._connections.values())
        self._connections.clear()
        for connection in connections:
            connection.close()
        for connection in connections:
            with contextlib.suppress(TimeoutError, asyncssh.Error, OSError):
                async with asyncio.timeout(2.0):
                    await connection.conn.wait_closed()

    # -- public operations ---------------------------------------------------------------

    async def verify(self, target: SshTarget) -> None:
        """Connect (or reuse the connection) and return: proves the host key and the
        credentials. Raises HostKeyMismatch / HostKeyNotPinned / SshAuthFailed / SshUnreachable."""
        await self._connection(target)

    async def run(
        self,
        target: SshTarget,
        argv: Sequence[str],
        *,
        stdin: bytes | str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (closes the channel, see docstring)
        max_output: int | None = None,
    ) -> ExecResult:
        """Run a command on the host itself (e.g. `["pct", "list"]`) and collect its output.
        A non-zero exit status is returned, not raised. `timeout` defaults to the pool's
        `command_timeout`; when it runs out the channel is closed and SshTimeout raised.
        More than `max_output` bytes of output (default: the pool's `max_output_bytes`)
        closes the channel too and raises SshOutputTooLarge."""
        args = validate_argv(argv)
        limit = self.command_timeout if timeout is None else timeout
        cap = min(self.max_output_bytes, max_output or self.max_output_bytes)
        label = f"{target.address}: {describe(args)}"
        data = _stdin_bytes(stdin)
        log.debug("SSH exec on %s", label)
        async with self._process(target, args) as process:
            try:
                async with asyncio.timeout(limit):
                    if data:
                        process.stdin.write(data)
                    process.stdin.write_eof()
                    stdout, stderr = await _collect(process, cap, label)
                    await process.wait_closed()
            except TimeoutError:
                raise SshTimeout(f"{label}: no exit within {limit} s") from None
            except (asyncssh.Error, OSError) as exc:
                raise SshConnectionLost(
                    f"{label}: the connection broke during the command"
                ) from exc
            status = exit_status_of(process)
        if status is None:
            raise SshConnectionLost(f"{label}: the command ended without an exit status")
        return ExecResult(status, decode_output(stdout), decode_output(stderr))

    async def pct_exec(
        self,
        target: SshTarget,
        vmid: int,
        argv: Sequence[str],
        *,
        stdin: bytes | str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (closes the channel, see docstring)
        max_output: int | None = None,
    ) -> ExecResult:
        """`pct exec VMID -- ARGV...` on the host: the exit status is the command's (or
        pct's, e.g. for a stopped container, with pct's message on stderr)."""
        return await self.run(
            target, pct_exec_argv(vmid, argv), stdin=stdin, timeout=timeout, max_output=max_output
        )

    def run_stream(
        self,
        target: SshTarget,
        argv: Sequence[str],
        *,
        stdin: bytes | str | None = None,
        timeout: float | None = None,
    ) -> ExecStream:
        """Like `run`, but yields `OutputLine`s as they arrive; see `ExecStream`.
        `timeout` (None = no limit) bounds the whole command."""
        args = validate_argv(argv)
        label = f"{target.address}: {describe(args)}"
        return ExecStream(lambda: self._process(target, args), _stdin_bytes(stdin), timeout, label)

    def pct_exec_stream(
        self,
        target: SshTarget,
        vmid: int,
        argv: Sequence[str],
        *,
        stdin: bytes | str | None = None,
        timeout: float | None = None,
    ) -> ExecStream:
        """`pct exec` with streamed output; `stream.exit_status` once the iteration ends."""
        return self.run_stream(target, pct_exec_argv(vmid, argv), stdin=stdin, timeout=timeout)

    async def push_file(
        self,
        target: SshTarget,
        vmid: int,
        dest: str,
        content: bytes,
        mode: int = 0o644,
        owner: str | None = None,
        group: str | None = None,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 (closes the channels, see docstring)
    ) -> ExecResult:
        """Write `content` to `dest` inside container `vmid`: SFTP to a random 0600 file
        under /tmp on the host, then `pct push`, then remove the temporary file whatever
        happened. Raises FilePushFailed (with pct's exit status and message) when pct
        refuses, SshTimeout / SshConnectionLost / connection errors otherwise. Returns pct's
        result: pct exits 0 even when its worker failed to write the file (the error is only
        printed), so check the file (`provisioning.push.push_verified`)."""
        if not isinstance(content, bytes | bytearray | memoryview):
            raise ValueError("content must be bytes")
        temp_path = f"{TEMP_DIR}/lxcm-push-{secrets.token_hex(16)}"
        argv = pct_push_argv(vmid, temp_path, dest, mode, owner, group)
        limit = self.command_timeout if timeout is None else timeout
        try:
            await self._upload(target, temp_path, bytes(content), limit)
            result = await self.run(target, argv, timeout=limit)
        finally:
            await self._remove_quietly(target, temp_path)
        if not result.ok:
            message = (result.stderr or result.stdout).strip()
            raise FilePushFailed(
                f"{target.address}: pct push to CT {vmid} failed with status "
                f"{result.exit_status}: {message}",
                result.exit_status,
                result.stderr,
            )
        return result

    # -- connections ---------------------------------------------------------------------

    def _key(self, target: SshTarget) -> _PoolKey:
        return (
            target.host.lower(),
            target.port,
            target.username,
            target.host_key_fingerprint,
            target.credential_digest(self._salt),
        )

    def _check_loop(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif self._loop is not loop:
            raise RuntimeError("an SshPool is bound to the event loop it was first used in")
        if self._closed:
            raise RuntimeError("this SshPool is closed")

    async def _connection(self, target: SshTarget) -> Connection:
        """A usable pooled connection; a closed or broken one is dropped and re-opened."""
        self._check_loop()
        key = self._key(target)
        connection = self._connections.get(key)
        if connection is not None and connection.usable:
            return connection
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            connection = self._connections.get(key)
            if connection is not None and connection.usable:
                return connection
            if connection is not None:
                log.info("SSH connection to %s is closed; reconnecting", target.address)
                self._discard(key, connection)
            connection = await with_retries(
                lambda: open_connection(target, connect_timeout=self.connect_timeout),
                self.retry,
                what=f"SSH connect to {target.address}",
            )
            self._connections[key] = connection
            return connection

    def _discard(self, key: _PoolKey, connection: Connection) -> None:
        if self._connections.get(key) is connection:
            del self._connections[key]
        connection.close()

    async def _open_channel(
        self,
        target: SshTarget,
        opener: Callable[[asyncssh.SSHClientConnection], Awaitable[T]],
    ) -> T:
        """Open a channel; a connection found broken at that moment is re-opened once (the
        command has not started, so this is safe to repeat)."""
        for attempt in (1, 2):
            connection = await self._connection(target)
            try:
                return await opener(connection.conn)
            except (asyncssh.Error, OSError) as exc:
                broken = not connection.usable or isinstance(
                    exc, asyncssh.ConnectionLost | BrokenPipeError | ConnectionError
                )
                if broken:
                    self._discard(self._key(target), connection)
                if broken and attempt == 1:
                    continue
                reason = getattr(exc, "reason", None) or type(exc).__name__
                raise SshUnreachable(
                    f"{target.address}: could not open a session: {reason}"
                ) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    @asynccontextmanager
    async def _process(
        self, target: SshTarget, argv: list[str]
    ) -> AsyncIterator[asyncssh.SSHClientProcess[bytes]]:
        """A session slot plus an exec channel for the quoted argv, closed on exit."""
        command = command_line(argv)
        async with self.limiter.slot(target.host, target.port):
            process: asyncssh.SSHClientProcess[bytes] = await self._open_channel(
                target, lambda conn: conn.create_process(command, encoding=None)
            )
            try:
                yield process
            finally:
                await close_process(process)

    # -- file push helpers ---------------------------------------------------------------

    async def _upload(self, target: SshTarget, path: str, content: bytes, limit: float) -> None:
        label = f"{target.address}: upload to {path}"
        async with self.limiter.slot(target.host, target.port):
            sftp = await self._open_channel(target, lambda conn: conn.start_sftp_client())
            try:
                async with asyncio.timeout(limit):
                    attrs = asyncssh.SFTPAttrs(permissions=0o600)
                    async with sftp.open(path, "xb", attrs=attrs) as remote:
                        await remote.write(content)
            except TimeoutError:
                raise SshTimeout(f"{label}: not done within {limit} s") from None
            except asyncssh.SFTPError as exc:
                raise SshError(f"{label} failed: {exc.reason}") from exc
            except (asyncssh.Error, OSError) as exc:
                raise SshConnectionLost(f"{label}: the connection broke") from exc
            finally:
                await _close_sftp(sftp)

    async def _remove_quietly(self, target: SshTarget, path: str) -> None:
        """Remove the temporary file; a failure is logged, never raised (the push's own
        outcome matters more), and a file that was never created is fine."""
        try:
            async with (
                asyncio.timeout(_CLEANUP_TIMEOUT),
                self.limiter.slot(target.host, target.port),
            ):
                sftp = await self._open_channel(target, lambda conn: conn.start_sftp_client())
                try:
                    with contextlib.suppress(asyncssh.SFTPNoSuchFile):
                        await sftp.remove(path)
                finally:
                    await _close_sftp(sftp)
        except (SshError, asyncssh.Error, OSError) as exc:
            log.warning(
                "could not remove the temporary file %s on %s: %s", path, target.address, exc
            )


async def _collect(
    process: asyncssh.SSHClientProcess[bytes], cap: int, label: str
) -> tuple[bytes, bytes]:
    """stdout and stderr, read side by side (a full stderr must not stall stdout), at most
    `cap` bytes together: past that, SshOutputTooLarge (the caller closes the channel)."""
    total = 0

    async def drain(reader: asyncssh.SSHReader[bytes]) -> bytes:
        nonlocal total
        parts: list[bytes] = []
        while data := await reader.read(READ_CHUNK):
            total += len(data)
            if total > cap:
                log.warning("SSH exec on %s: more than %s bytes of output; stopped", label, cap)
                raise SshOutputTooLarge(f"{label}: more than {cap} bytes of output", cap)
            parts.append(data)
        return b"".join(parts)

    readers = [
        asyncio.ensure_future(drain(process.stdout)),
        asyncio.ensure_future(drain(process.stderr)),
    ]
    try:
        stdout, stderr = await asyncio.gather(*readers)
    finally:
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
    return stdout, stderr


async def _close_sftp(sftp: asyncssh.SFTPClient) -> None:
    sftp.exit()
    with contextlib.suppress(TimeoutError, asyncssh.Error, OSError):
        async with asyncio.timeout(1.0):
            await sftp.wait_closed()


def _stdin_bytes(stdin: bytes | str | None) -> bytes | None:
    if stdin is None or isinstance(stdin, bytes):
        return stdin
    if isinstance(stdin, str):
        return stdin.encode()
    raise ValueError("stdin must be bytes, str or None")


__all__ = ["LocalSessionLimiter", "SessionLimiter", "SshPool"]
