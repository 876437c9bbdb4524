"""A small WebSocket client (RFC 6455, `wsproto`) over a connection the pinned transport
upgraded: `ProxmoxClient.lxc_vncwebsocket` sends the upgrade request through the same
`PinnedTransport` as every API call (so the certificate was checked before the request,
with its token, was written), and hands the upgraded stream to `WebSocket`.

Reading is pull-based: nothing is read from the socket until `receive` is called, so a
reader that stops calling it stops the peer through TCP's own flow control (pveproxy's
websocket proxy has no other: pve-http-server AnyEvent.pm `websocket_proxy`, "todo: use
stop_read/start_read if write buffer grows to much").
"""

from __future__ import annotations

import contextlib

import httpcore
import httpx
from wsproto import ConnectionType
from wsproto.connection import Connection, ConnectionState
from wsproto.events import BytesMessage, CloseConnection, Ping, TextMessage
from wsproto.utilities import LocalProtocolError, RemoteProtocolError

__all__ = ["READ_SIZE", "WebSocket", "WebSocketClosed"]

READ_SIZE = 64 * 1024
# pveproxy refuses client frames over 128 KiB (AnyEvent.pm websocket_proxy max_payload_size)
MAX_SEND_FRAME = 64 * 1024


class WebSocketClosed(Exception):
    """The WebSocket is closed (by the peer, by us, or the connection broke)."""


class WebSocket:
    """One client WebSocket on an upgraded stream. `receive` returns the payload bytes of
    data frames as they arrive (a large message may come in several pieces); None once
    the connection closed."""

    def __init__(
        self,
        stream: httpcore.AsyncNetworkStream,
        response: httpx.Response,
        subprotocol: str = "",
    ) -> None:
        self._stream = stream
        self._response = response
        self._ws = Connection(ConnectionType.CLIENT)
        self.subprotocol = subprotocol
        self.close_code: int | None = None
        self._closed = False

    async def send_bytes(self, data: bytes) -> None:
        await self._send(BytesMessage(data=data))

    async def send_text(self, text: str) -> None:
        await self._send(TextMessage(data=text))

    async def _send(self, event: BytesMessage | TextMessage) -> None:
        if self._closed or self._ws.state is not ConnectionState.OPEN:
            raise WebSocketClosed("the websocket is closed")
        try:
            await self._stream.write(self._ws.send(event))
        except (httpcore.NetworkError, OSError, LocalProtocolError) as exc:
            await self._abort()
            raise WebSocketClosed(str(exc) or type(exc).__name__) from None

    async def receive(self) -> bytes | None:
        while not self._closed:
            for event in self._ws.events():
                if isinstance(event, BytesMessage):
                    if event.data:
                        return bytes(event.data)
                elif isinstance(event, TextMessage):
                    if event.data:
                        return event.data.encode()
                elif isinstance(event, Ping):
                    with contextlib.suppress(httpcore.NetworkError, OSError, LocalProtocolError):
                        await self._stream.write(self._ws.send(event.response()))
                elif isinstance(event, CloseConnection):
                    self.close_code = event.code
                    with contextlib.suppress(httpcore.NetworkError, OSError, LocalProtocolError):
                        await self._stream.write(self._ws.send(event.response()))
                    await self._abort()
                    return None
            try:
                data = await self._stream.read(READ_SIZE)
            except (httpcore.NetworkError, OSError):
                data = b""
            if not data:
                await self._abort()
                return None
            try:
                self._ws.receive_data(data)
            except RemoteProtocolError:
                await self._abort()
                return None
        return None

    async def close(self, code: int = 1000) -> None:
        if self._closed:
            return
        if self._ws.state is ConnectionState.OPEN:
            with contextlib.suppress(httpcore.NetworkError, OSError, LocalProtocolError):
                await self._stream.write(self._ws.send(CloseConnection(code=code)))
        await self._abort()

    async def _abort(self) -> None:
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            await self._stream.aclose()
        with contextlib.suppress(Exception):
            await self._response.aclose()
