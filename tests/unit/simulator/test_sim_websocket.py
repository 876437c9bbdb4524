"""The simulator's server-side WebSocket layer over a real loopback TCP connection.

The client is wsproto (masking, framing) for the well-formed cases and hand-made bytes for
what pveproxy refuses (unmasked, fragmented, RSV bits: pve-http-server
src/PVE/APIServer/AnyEvent.pm websocket_proxy).
"""

from __future__ import annotations

import asyncio
import os
import struct
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Message,
    Ping,
    Pong,
    Request,
    TextMessage,
)
from wsproto.frame_protocol import Opcode

from lxc_manager_simulator import websocket as ws

Serve = Callable[[ws.WebSocket], Awaitable[None]]


async def _echo(sock: ws.WebSocket) -> None:
    """Echoes every message back as binary, prefixed with its opcode."""
    while True:
        message = await sock.receive()
        if message is None:
            sock.abort()
            return
        await sock.send(bytes([message.opcode]) + message.data)


@pytest.fixture
async def server() -> AsyncIterator[Callable[..., Awaitable[tuple[int, list[str]]]]]:
    servers: list[asyncio.Server] = []

    async def start(serve: Serve = _echo, **options: object) -> tuple[int, list[str]]:
        errors: list[str] = []

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")[1:]
            headers = {
                k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)
            }
            accept, protocol = ws.check_handshake(headers)
            writer.write(ws.switching_protocols(accept, protocol))
            sock = ws.WebSocket(reader, writer, **options)  # type: ignore[arg-type]
            try:
                await serve(sock)
            except ws.ProtocolError as exc:
                errors.append(str(exc))
                sock.abort()

        srv = await asyncio.start_server(handle, "127.0.0.1", 0)
        servers.append(srv)
        return srv.sockets[0].getsockname()[1], errors

    yield start
    for srv in servers:
        srv.close()


class Client:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.conn = WSConnection(ConnectionType.CLIENT)

    @classmethod
    async def connect(cls, port: int, subprotocols: list[str] | None = None) -> Client:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        client = cls(reader, writer)
        writer.write(
            client.conn.send(Request(host="127.0.0.1", target="/", subprotocols=subprotocols or []))
        )
        events = await client.events()
        assert isinstance(events[0], AcceptConnection), events
        client.accepted = events[0]
        return client

    async def events(self) -> list[object]:
        while True:
            data = await asyncio.wait_for(self.reader.read(65536), 5)
            self.conn.receive_data(data or None)
            found = list(self.conn.events())
            if found or not data:
                return found

    def send(self, event: object) -> None:
        self.writer.write(self.conn.send(event))  # type: ignore[arg-type]


async def test_text_and_binary_arrive_as_bytes_and_answers_are_binary(server) -> None:  # type: ignore[no-untyped-def]
    port, _ = await server()
    client = await Client.connect(port, ["binary"])
    assert client.accepted.subprotocol == "binary"  # echoed as the client sent it
    client.send(TextMessage("héllo"))
    client.send(BytesMessage(b"\x00\xff"))
    received = b""
    while len(received) < 1 + len("héllo".encode()) + 3:
        for event in await client.events():
            assert isinstance(event, BytesMessage)
            received += event.data
    assert received == b"\x01" + "héllo".encode() + b"\x02\x00\xff"


async def test_long_payloads_use_extended_lengths(server) -> None:  # type: ignore[no-untyped-def]
    port, _ = await server()
    client = await Client.connect(port)
    for size in (126, 70_000):
        payload = os.urandom(size)
        client.send(BytesMessage(payload))
        got = b""
        while len(got) < size + 1:
            got += b"".join(e.data for e in await client.events() if isinstance(e, Message))
        assert got == b"\x02" + payload


async def test_ping_is_answered_with_its_payload(server) -> None:  # type: ignore[no-untyped-def]
    port, _ = await server()
    client = await Client.connect(port)
    client.send(Ping(b"are you there"))
    events = await client.events()
    assert any(isinstance(e, Pong) and e.payload == b"are you there" for e in events)


async def test_close_ends_the_connection_without_a_close_frame(server) -> None:  # type: ignore[no-untyped-def]
    port, _ = await server()
    client = await Client.connect(port)
    client.send(CloseConnection(code=1000))
    data = await asyncio.wait_for(client.reader.read(), 5)
    assert data == b""  # pveproxy's push_shutdown: TCP closes, no close frame answers


def _raw_frame(first: int, payload: bytes, mask: bytes | None = b"abcd") -> bytes:
    length = len(payload)
    second = (0x80 if mask is not None else 0) | length
    body = ws.unmask(payload, mask) if mask is not None else payload
    return struct.pack("!BB", first, second) + (mask or b"") + body


@pytest.mark.parametrize(
    ("frame", "error"),
    [
        (_raw_frame(0x82, b"x", mask=None), "received unmasked websocket frame from client"),
        (_raw_frame(0x02, b"x"), "received fragmented websocket frame"),
        (_raw_frame(0xC2, b"x"), "received websocket frame with RSV flags"),
        (_raw_frame(0x83, b"x"), "received unhandled websocket opcode 3"),
    ],
)
async def test_what_pveproxy_refuses_ends_the_connection(server, frame: bytes, error: str) -> None:  # type: ignore[no-untyped-def]
    port, errors = await server()
    client = await Client.connect(port)
    client.writer.write(frame)
    assert await asyncio.wait_for(client.reader.read(), 5) == b""
    assert errors == [error]


async def test_oversized_frame_is_refused(server) -> None:  # type: ignore[no-untyped-def]
    port, errors = await server(max_payload=1000)
    client = await Client.connect(port)
    client.send(BytesMessage(b"y" * 1001))
    assert await asyncio.wait_for(client.reader.read(), 5) == b""
    assert errors == ["received too large websocket frame (len = 1001)"]


async def test_fragments_are_joined_when_allowed(server) -> None:  # type: ignore[no-untyped-def]
    port, _ = await server(allow_fragments=True)
    client = await Client.connect(port)
    client.send(TextMessage("ab", message_finished=False))
    client.send(Ping(b"between"))  # a control frame may come between fragments
    client.send(TextMessage("cd", message_finished=True))
    events = await client.events()
    while not any(isinstance(e, BytesMessage) for e in events):
        events += await client.events()
    assert [e.data for e in events if isinstance(e, BytesMessage)] == [b"\x01abcd"]
    assert any(isinstance(e, Pong) for e in events)


def test_handshake_checks_have_pveproxys_messages() -> None:
    with pytest.raises(ws.HandshakeError, match="unable to upgrade to protocol 'h2c'"):
        ws.check_handshake({"upgrade": "h2c"})
    with pytest.raises(ws.HandshakeError, match="unsupported websocket-version '8'"):
        ws.check_handshake({"upgrade": "websocket", "sec-websocket-version": "8"})
    with pytest.raises(ws.HandshakeError, match="missing websocket-key"):
        ws.check_handshake({"upgrade": "WebSocket", "sec-websocket-version": "13"})
    # RFC 6455 section 1.3's example
    assert ws.accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    assert Opcode.BINARY == ws.OP_BINARY
