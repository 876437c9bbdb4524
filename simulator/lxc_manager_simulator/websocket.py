"""RFC 6455 WebSocket, server side, on the asyncio streams of `httpserver`.

Only what pveproxy's websocket proxy does (pve-http-server src/PVE/APIServer/AnyEvent.pm,
`handle_api2_request` for the upgrade and `websocket_proxy` for the frames):

- the upgrade needs `Upgrade: websocket`, `Sec-WebSocket-Version: 13` and a
  `Sec-WebSocket-Key`; the answer is `101 Switching Protocols` with `Connection: upgrade`,
  the accept key, and the client's `Sec-WebSocket-Protocol` echoed as it came (pveproxy
  does not pick one of a list: "for backwards compatibility we have to reply with the
  websocket subprotocol from the request");
- client frames must be masked and carry no RSV bits; a payload over 128 KiB ends the
  connection; text (1) and binary (2) payloads are passed on as bytes, a ping (9) is
  answered with a pong carrying its payload, a pong (10) is ignored;
- pveproxy refuses fragmented frames ("received fragmented websocket frame") and ends the
  connection, as it does on any other opcode; `allow_fragments=True` accepts continuation
  frames (RFC 6455 section 5.4) for other users of this module;
- a close frame (8) from the client shuts the connection down *without* a close frame in
  answer, and when the other side (termproxy) ends, pveproxy just disconnects: clients see
  an abnormal closure (1006). `send_close` exists for users that want the RFC's handshake;
- everything the server sends is a binary frame (0x82), unmasked, one frame per read of
  at most 128 KiB.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import struct
from dataclasses import dataclass

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_PAYLOAD = 128 * 1024  # $max_payload_size in websocket_proxy

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


class HandshakeError(Exception):
    """The upgrade request is not a WebSocket handshake pveproxy accepts."""


class ProtocolError(Exception):
    """A frame pveproxy's reader dies on: the connection ends (no close frame)."""


def accept_key(key: str) -> str:
    # RFC 6455 section 4.2.2 fixes SHA-1 here (a handshake check, not a security hash)
    digest = hashlib.sha1((key + GUID).encode("latin-1"), usedforsecurity=False).digest()
    return base64.b64encode(digest).decode()


def check_handshake(headers: dict[str, str]) -> tuple[str, str]:
    """-> (Sec-WebSocket-Accept, echoed subprotocol) or HandshakeError with pveproxy's text."""
    upgrade = headers.get("upgrade", "").lower()
    if upgrade != "websocket":
        raise HandshakeError(f"unable to upgrade to protocol '{upgrade}'")
    version = headers.get("sec-websocket-version", "")
    if version != "13":
        raise HandshakeError(f"unsupported websocket-version '{version}'")
    key = headers.get("sec-websocket-key", "")
    if not key:
        raise HandshakeError("missing websocket-key")
    return accept_key(key), headers.get("sec-websocket-protocol", "")


def switching_protocols(accept: str, protocol: str) -> bytes:
    """The 101 answer exactly as websocket_proxy writes it."""
    head = (
        "HTTP/1.1 101 Switching Protocols\r\n"
        "Upgrade: websocket\r\n"
        "Connection: upgrade\r\n"
        f"Sec-WebSocket-Accept: {accept}\r\n"
    )
    if protocol:
        head += f"Sec-WebSocket-Protocol: {protocol}\r\n"
    return (head + "\r\n").encode("latin-1")


def encode_frame(payload: bytes, opcode: int = OP_BINARY, *, fin: bool = True) -> bytes:
    """A server frame (unmasked)."""
    first = (0x80 if fin else 0) | opcode
    length = len(payload)
    if length <= 125:
        head = struct.pack("!BB", first, length)
    elif length <= 0xFFFF:
        head = struct.pack("!BBH", first, 126, length)
    else:
        head = struct.pack("!BBQ", first, 127, length)
    return head + payload


def unmask(payload: bytes, mask: bytes) -> bytes:
    if mask == b"\0\0\0\0":  # "NULL-mask might be used over TLS, skip to increase performance"
        return payload
    repeated = (mask * (len(payload) // 4 + 1))[: len(payload)]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(
        len(payload), "big"
    )


@dataclass
class Message:
    opcode: int  # OP_TEXT or OP_BINARY
    data: bytes


class WebSocket:
    """The server end of one upgraded connection."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        allow_fragments: bool = False,
        max_payload: int = MAX_PAYLOAD,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.allow_fragments = allow_fragments
        self.max_payload = max_payload
        self.closed = False
        self.close_code: int | None = None  # the client's close frame status, if any
        self._write_lock = asyncio.Lock()

    async def _read_frame(self) -> tuple[bool, int, bytes]:
        head = await self.reader.readexactly(2)
        fin, rsv, opcode = head[0] & 0x80, head[0] & 0x70, head[0] & 0x0F
        if rsv:
            raise ProtocolError("received websocket frame with RSV flags")
        if not head[1] & 0x80:
            raise ProtocolError("received unmasked websocket frame from client")
        length = head[1] & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", await self.reader.readexactly(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", await self.reader.readexactly(8))
        if length > self.max_payload:
            raise ProtocolError(f"received too large websocket frame (len = {length})")
        mask = await self.reader.readexactly(4)
        payload = unmask(await self.reader.readexactly(length), mask)
        return bool(fin), opcode, payload

    async def receive(self) -> Message | None:
        """The next text/binary message; None once the client closed (or the connection
        ended). ProtocolError for what pveproxy refuses."""
        fragments: list[bytes] = []
        fragment_opcode = 0
        while not self.closed:
            try:
                fin, opcode, payload = await self._read_frame()
            except (asyncio.IncompleteReadError, ConnectionError, OSError):
                self.closed = True
                return None
            if opcode in (OP_CLOSE, OP_PING, OP_PONG):
                if not fin:
                    raise ProtocolError("received fragmented websocket frame")
                if opcode == OP_PING:
                    await self.send(payload, OP_PONG)
                elif opcode == OP_CLOSE:
                    self.close_code = struct.unpack("!H", payload[:2])[0] if payload else None
                    self.closed = True
                    return None
                continue
            if not self.allow_fragments and (not fin or opcode == OP_CONT):
                raise ProtocolError(
                    "received fragmented websocket frame"
                    if not fin
                    else f"received unhandled websocket opcode {opcode}"
                )
            if opcode not in (OP_CONT, OP_TEXT, OP_BINARY):
                raise ProtocolError(f"received unhandled websocket opcode {opcode}")
            if opcode == OP_CONT:
                if not fragments:
                    raise ProtocolError("continuation frame without a start")
            elif fragments:
                raise ProtocolError("new message inside a fragmented one")
            else:
                fragment_opcode = opcode
            fragments.append(payload)
            if sum(len(f) for f in fragments) > self.max_payload:
                raise ProtocolError("received too large websocket message")
            if fin:
                return Message(fragment_opcode, b"".join(fragments))
        return None

    async def send(self, data: bytes, opcode: int = OP_BINARY) -> None:
        """Send `data` (binary frames of at most max_payload bytes each, as the proxy reads)."""
        async with self._write_lock:
            if opcode == OP_BINARY:
                for start in range(0, len(data), self.max_payload):
                    self.writer.write(encode_frame(data[start : start + self.max_payload]))
            else:
                self.writer.write(encode_frame(data, opcode))
            await self.writer.drain()

    async def send_close(self, code: int = 1000, reason: str = "") -> None:
        await self.send(struct.pack("!H", code) + reason.encode()[:123], OP_CLOSE)

    def abort(self) -> None:
        """pveproxy's client_do_disconnect: the TCP connection ends, no close frame."""
        self.closed = True
        self.writer.close()
