"""Real TLS peers on 127.0.0.1 for the Proxmox client's transport tests (see conftest.py).

`make_tls_material`: a test CA and a server certificate for 127.0.0.1 (IP SAN) signed by it.
`start_recording_server`: a tiny HTTPS server that records every byte it receives after
the TLS handshake, per connection, and answers `GET /api2/json/version`. A plain TCP front
door counts connections (and drops the first `flaky` ones) and relays to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import json
import ssl
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from lxc_manager.proxmox import fingerprint_of

VERSION = {"version": "8.2.4", "release": "8.2", "repoid": "faa83925"}


@dataclass(frozen=True)
class TlsMaterial:
    ca_pem: Path
    cert_pem: Path
    key_pem: Path
    fingerprint: str  # of the server (leaf) certificate


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_tls_material(directory: Path) -> TlsMaterial:
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("Proxmox Virtual Environment test CA"))
        .issuer_name(_name("Proxmox Virtual Environment test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("pve1.test"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("pve1.test"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    material = TlsMaterial(
        ca_pem=directory / "ca.pem",
        cert_pem=directory / "cert.pem",
        key_pem=directory / "key.pem",
        fingerprint=fingerprint_of(cert.public_bytes(serialization.Encoding.DER)),
    )
    material.ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    material.cert_pem.write_bytes(
        cert.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM)
    )
    material.key_pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return material


@dataclass
class RecordingServer:
    port: int
    flaky: int = 0
    tcp_connections: int = 0
    handshakes: int = 0  # connections whose TLS handshake completed
    received: list[bytes] = field(default_factory=list)  # per finished connection
    _finished: asyncio.Condition = field(default_factory=asyncio.Condition)

    @property
    def everything(self) -> bytes:
        return b"".join(self.received)

    async def wait_finished(self, count: int, timeout: float = 5.0) -> None:
        """Until `count` handshaken connections have ended (the client closed them)."""
        async with asyncio.timeout(timeout), self._finished:
            await self._finished.wait_for(lambda: len(self.received) >= count)

    async def record(self, data: bytes) -> None:
        async with self._finished:
            self.received.append(data)
            self._finished.notify_all()


async def _serve_connection(
    server: RecordingServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    server.handshakes += 1
    data = b""
    try:
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                break
            data += chunk
            if b"\r\n\r\n" in data and b"GET /api2/json/version " in data:
                body = json.dumps({"data": VERSION}).encode()
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json;charset=UTF-8\r\n"
                    b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
                )
                await writer.drain()
                break
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        await server.record(data)
        writer.close()
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            await writer.wait_closed()


async def start_recording_server(
    context: ssl.SSLContext, servers: list[asyncio.Server], flaky: int = 0
) -> RecordingServer:
    """Start one on 127.0.0.1; its listeners are appended to `servers` (close them)."""
    state = RecordingServer(port=0, flaky=flaky)
    tls_server = await asyncio.start_server(
        lambda r, w: _serve_connection(state, r, w), "127.0.0.1", 0, ssl=context
    )
    servers.append(tls_server)
    tls_port = tls_server.sockets[0].getsockname()[1]

    async def front(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        state.tcp_connections += 1
        if state.tcp_connections <= state.flaky:
            writer.transport.abort()
            return
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", tls_port)
        await asyncio.gather(
            _pipe(reader, upstream_writer), _pipe(upstream_reader, writer), return_exceptions=True
        )

    front_server = await asyncio.start_server(front, "127.0.0.1", 0)
    servers.append(front_server)
    state.port = front_server.sockets[0].getsockname()[1]
    return state


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    finally:
        writer.close()
