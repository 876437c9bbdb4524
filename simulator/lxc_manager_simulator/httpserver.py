"""A small, fast HTTP/1.1 server on asyncio streams (keep-alive, optional TLS).

It carries only what the simulator needs: Content-Length and chunked request bodies,
keep-alive, the hand-over of a connection to a WebSocket (`Response.upgrade`), and the two endpoint-level faults: `hang` (the connection is accepted and the
TLS handshake done, but no request is ever answered) and `refuse` (listener closed, so
connections are refused).
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import functools
import http
import logging
import math
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("lxc_manager_simulator.http")

MAX_HEAD = 64 * 1024
MAX_BODY = 4 * 1024 * 1024
IDLE_TIMEOUT = 120.0


@dataclass
class Request:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    peer: str
    local_port: int


@dataclass
class Response:
    status: int
    body: bytes = b""
    reason: str = ""
    content_type: str = "application/json;charset=UTF-8"
    headers: list[tuple[str, str]] = field(default_factory=list)
    close: bool = False
    upgrade: Upgrade | None = None


Handler = Callable[[Request], Awaitable[Response]]
# Takes over the connection after a request (a WebSocket upgrade): it writes the 101 answer
# itself, or nothing when the upgrade fails late (pveproxy connects to the proxied port
# before it answers 101), and the connection closes when it returns.
Upgrade = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class _HttpError(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class _DateHeader:
    """The Date/Expires header value, formatted once per second."""

    def __init__(self) -> None:
        self._second = -1
        self._value = b""

    def get(self) -> bytes:
        now = int(time.time())
        if now != self._second:
            self._second = now
            self._value = email.utils.formatdate(now, usegmt=True).encode()
        return self._value


_DATE = _DateHeader()


@functools.lru_cache(maxsize=1024)
def status_line(status: int, reason: str) -> bytes:
    text = reason or _standard_reason(status)
    text = text.replace("\r", " ").replace("\n", " ").strip()
    return f"HTTP/1.1 {status} {text}".encode("latin-1", "replace")


def _standard_reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def encode_response(response: Response, keep_alive: bool) -> bytes:
    date = _DATE.get()
    head = [
        status_line(response.status, response.reason),
        b"Cache-Control: max-age=0",
        b"Connection: Keep-Alive" if keep_alive else b"Connection: close",
        b"Date: " + date,
        b"Pragma: no-cache",
        b"Server: pve-api-daemon/3.0",
        b"Content-Length: " + str(len(response.body)).encode(),
        b"Content-Type: " + response.content_type.encode(),
        b"Expires: " + date,
    ]
    head.extend(f"{name}: {value}".encode("latin-1") for name, value in response.headers)
    return b"\r\n".join(head) + b"\r\n\r\n" + response.body


class HttpServer:
    """Serves `handler` on one port; `mode()` says normal / hang / refuse at any moment."""

    def __init__(
        self,
        handler: Handler,
        *,
        host: str,
        port: int,
        ssl_context: ssl.SSLContext | None,
        mode: Callable[[], str],
    ) -> None:
        self.handler = handler
        self.host = host
        self.port = port
        self.ssl_context = ssl_context
        self.mode = mode
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.StreamWriter, float] = {}  # -> last activity
        self._closing = False
        self._mode_event = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._sweeper: asyncio.TimerHandle | None = None

    async def start(self) -> int:
        tls: dict[str, Any] = (
            {"ssl": self.ssl_context, "ssl_handshake_timeout": 10.0} if self.ssl_context else {}
        )
        self._server = await asyncio.start_server(
            self._serve, self.host, self.port, reuse_address=True, limit=MAX_HEAD, **tls
        )
        self.port = self._server.sockets[0].getsockname()[1]
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().call_later(
                IDLE_TIMEOUT / 4, self._close_idle
            )
        return self.port

    def _close_idle(self) -> None:
        """Close keep-alive connections that stayed silent for IDLE_TIMEOUT seconds."""
        limit = time.monotonic() - IDLE_TIMEOUT
        for writer, last in list(self._connections.items()):
            if last < limit:
                writer.close()
        self._sweeper = asyncio.get_running_loop().call_later(IDLE_TIMEOUT / 4, self._close_idle)

    @property
    def listening(self) -> bool:
        return self._server is not None

    async def sync_mode(self) -> None:
        """Close the listener in `refuse` mode, reopen it otherwise."""
        if self._closing:
            return
        self._notify_mode()
        refusing = self.mode() == "refuse"
        if refusing and self._server is not None:
            server, self._server = self._server, None
            server.close()
            for writer in list(self._connections):
                writer.close()
            await server.wait_closed()
        elif not refusing and self._server is None:
            await self.start()

    async def close(self) -> None:
        self._closing = True
        self._notify_mode()
        if self._sweeper is not None:
            self._sweeper.cancel()
        if self._server is not None:
            self._server.close()
        for writer in list(self._connections):
            writer.close()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=1.0)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections[writer] = time.monotonic()
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        try:
            if await self._hang_while_hanging(reader):
                return
            await self._request_loop(reader, writer)
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError, ssl.SSLError, OSError):
            pass
        finally:
            self._connections.pop(writer, None)
            writer.close()

    async def _hang_while_hanging(self, reader: asyncio.StreamReader) -> bool:
        """In `hang` mode hold the connection without a byte of answer; True if it hung.

        Returns when the mode changes, the client gives up, or the server closes.
        """
        if self.mode() != "hang":
            return False
        while self.mode() == "hang" and not self._closing:
            read = asyncio.ensure_future(reader.read(65536))
            changed = asyncio.ensure_future(self._mode_event.wait())
            done, pending = await asyncio.wait({read, changed}, return_when=asyncio.FIRST_COMPLETED)
            for future in pending:
                future.cancel()
            if read in done and not read.result():
                break
        return True

    def _notify_mode(self) -> None:
        self._mode_event.set()
        self._mode_event = asyncio.Event()

    async def _request_loop(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        peer = writer.get_extra_info("peername")
        peer_host = str(peer[0]) if peer else ""
        while not self._closing:
            self._connections[writer] = time.monotonic()
            try:
                request, keep_alive = await self._read_request(reader, peer_host)
            except _HttpError as exc:
                writer.write(encode_response(Response(exc.status), False))
                await writer.drain()
                return
            if request is None:
                return
            if await self._hang_while_hanging(reader):
                return
            response = await self._handle(request)
            if response.upgrade is not None:
                self._connections[writer] = math.inf  # a console is not an idle keep-alive
                await response.upgrade(reader, writer)
                return
            keep_alive = keep_alive and not response.close
            writer.write(encode_response(response, keep_alive))
            await writer.drain()
            if not keep_alive:
                return

    async def _handle(self, request: Request) -> Response:
        try:
            return await self.handler(request)
        except Exception:
            log.exception("unhandled error in %s %s", request.method, request.path)
            return Response(500, b'{"data":null,"message":"internal simulator error\\n"}')

    async def _read_request(
        self, reader: asyncio.StreamReader, peer: str
    ) -> tuple[Request | None, bool]:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return None, False
        except asyncio.LimitOverrunError as exc:
            raise _HttpError(431) from exc
        lines = head[:-4].decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise _HttpError(400)
        method, target, version = parts
        headers = _parse_headers(lines[1:])
        body = await _read_body(reader, headers)
        path, _, query = target.partition("?")
        connection = headers.get("connection", "").lower()
        keep_alive = (
            "close" not in connection if version == "HTTP/1.1" else "keep-alive" in connection
        )
        return Request(method, path, query, headers, body, peer, self.port), keep_alive


def _parse_headers(lines: list[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in lines:
        name, sep, value = line.partition(":")
        if not sep:
            raise _HttpError(400)
        key = name.strip().lower()
        headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    return headers


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return await _read_chunked(reader)
    length_text = headers.get("content-length")
    if not length_text:
        return b""
    if not length_text.isdigit():
        raise _HttpError(400)
    length = int(length_text)
    if length > MAX_BODY:
        raise _HttpError(413)
    return await reader.readexactly(length)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while True:
        size_line = await reader.readuntil(b"\r\n")
        try:
            size = int(size_line.split(b";")[0].strip(), 16)
        except ValueError as exc:
            raise _HttpError(400) from exc
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                pass
            return b"".join(chunks)
        total += size
        if total > MAX_BODY:
            raise _HttpError(413)
        chunks.append(await reader.readexactly(size))
        await reader.readexactly(2)
