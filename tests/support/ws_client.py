"""A small asyncio WebSocket client for tests (wsproto over a real TCP connection): what a
browser sends when it opens the console, headers (Cookie, Origin) under the test's control,
and reading that can be paused to play a slow browser."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)


@dataclass
class Received:
    output: bytearray = field(default_factory=bytearray)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    close_code: int | None = None

    @property
    def text(self) -> str:
        return self.output.decode("utf-8", "replace")

    @property
    def last_message(self) -> str:
        return self.statuses[-1]["message"] if self.statuses else ""


class WsClient:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.got = Received()
        self.rejected: int | None = None
        self._text = ""
        self._closed = False

    @classmethod
    async def connect(cls, port: int, path: str, headers: dict[str, str] | None = None) -> WsClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        client = cls(reader, writer)
        extra = [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
        writer.write(
            client.ws.send(Request(host=f"127.0.0.1:{port}", target=path, extra_headers=extra))
        )
        await writer.drain()
        while True:
            data = await asyncio.wait_for(reader.read(65536), 30)
            if not data:
                client._closed = True
                return client
            client.ws.receive_data(data)
            for event in client.ws.events():
                if isinstance(event, AcceptConnection):
                    return client
                if isinstance(event, RejectConnection):
                    client.rejected = event.status_code
                    client._closed = True
                    return client
                if isinstance(event, RejectData):
                    continue

    @property
    def closed(self) -> bool:
        return self._closed

    async def send(self, message: dict[str, Any]) -> None:
        self.writer.write(self.ws.send(TextMessage(data=json.dumps(message))))
        await self.writer.drain()

    async def type(self, text: str) -> None:
        await self.send({"t": "i", "d": text})

    async def pump(self, timeout: float = 0.5) -> bool:
        """Read what arrives within `timeout`; False once the connection closed. Frames
        that came with the handshake's answer are handled first."""
        if not self._handle_events():
            return False
        if self._closed:
            return False
        try:
            data = await asyncio.wait_for(self.reader.read(65536), timeout)
        except TimeoutError:
            return True
        if not data:
            self._closed = True
            return False
        self.ws.receive_data(data)
        return self._handle_events()

    def _handle_events(self) -> bool:
        for event in self.ws.events():
            if isinstance(event, BytesMessage):
                self.got.output += event.data
            elif isinstance(event, TextMessage):
                self._text += event.data
                if event.message_finished:
                    self.got.statuses.append(json.loads(self._text))
                    self._text = ""
            elif isinstance(event, Ping):
                self.writer.write(self.ws.send(event.response()))
            elif isinstance(event, CloseConnection):
                self.got.close_code = event.code
                with contextlib.suppress(Exception):
                    self.writer.write(self.ws.send(event.response()))
                self._closed = True
                self.writer.close()
                return False
        return True

    async def until(self, predicate: Any, timeout: float = 15) -> bool:
        """Pump until `predicate(self.got)` holds (True) or the time is up / it closed."""
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            if predicate(self.got):
                return True
            if not await self.pump(0.2):
                return bool(predicate(self.got))
        return bool(predicate(self.got))

    async def wait_closed(self, timeout: float = 20) -> Received:
        deadline = asyncio.get_running_loop().time() + timeout
        while not self._closed and asyncio.get_running_loop().time() < deadline:
            await self.pump(0.5)
        return self.got

    async def close(self) -> None:
        if not self._closed:
            with contextlib.suppress(Exception):
                self.writer.write(self.ws.send(CloseConnection(code=1000)))
                await self.writer.drain()
            self._closed = True
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()
