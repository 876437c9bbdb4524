"""Servers an attacker would run, on 127.0.0.1, that record what they receive.

`start_tls_recorder`: a TLS listener with its own certificate that counts connections,
records every byte it receives after the handshake and answers any HTTP request with 401
(as Proxmox answers a refused token). `start_ssh_recorder`: an SSH server that records
every password offered to it, accepts one (`user`, `password`) and answers every command
with `pct_exit` (127 and "pct: command not found" by default, as on a host without
Proxmox). Both are real servers over real sockets; use them inside the test's event loop
and `close()` them.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass, field
from typing import Any

import asyncssh

from lxc_manager_simulator.tls import generate_certificate, server_context

_UNAUTHORIZED = (
    b"HTTP/1.1 401 authentication failure\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
)


@dataclass
class TlsRecorder:
    port: int
    fingerprint: str
    connections: int = 0
    received: list[bytes] = field(default_factory=list)
    server: asyncio.Server | None = None

    @property
    def everything(self) -> bytes:
        return b"".join(self.received)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


async def _serve_tls(
    recorder: TlsRecorder, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    recorder.connections += 1
    data = b""
    try:
        while chunk := await reader.read(65536):
            data += chunk
            if b"\r\n\r\n" in data:
                writer.write(_UNAUTHORIZED)
                await writer.drain()
                break
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        recorder.received.append(data)
        writer.close()
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            await writer.wait_closed()


async def start_tls_recorder() -> TlsRecorder:
    certificate = generate_certificate("evil", "127.0.0.1")
    recorder = TlsRecorder(port=0, fingerprint=certificate.sha256)
    recorder.server = await asyncio.start_server(
        lambda r, w: _serve_tls(recorder, r, w),
        "127.0.0.1",
        0,
        ssl=server_context(certificate),
    )
    recorder.port = recorder.server.sockets[0].getsockname()[1]
    return recorder


@dataclass
class SshRecorder:
    port: int
    host_key: str  # SHA256:... as the app pins it
    user: str
    password: str
    pct_exit: int = 127
    passwords: list[tuple[str, str]] = field(default_factory=list)  # (user, password) offered
    commands: list[str] = field(default_factory=list)
    server: Any = None

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


class _RecordingSshServer(asyncssh.SSHServer):
    def __init__(self, recorder: SshRecorder) -> None:
        self.recorder = recorder

    def begin_auth(self, username: str) -> bool:
        return True  # always ask for credentials

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        self.recorder.passwords.append((username, password))
        return (username, password) == (self.recorder.user, self.recorder.password)


async def start_ssh_recorder(user: str = "root", password: str = "right-password") -> SshRecorder:
    key = asyncssh.generate_private_key("ssh-ed25519")
    recorder = SshRecorder(port=0, host_key=key.get_fingerprint("sha256"), user=user,
                           password=password)  # fmt: skip

    async def run(process: asyncssh.SSHServerProcess[str]) -> None:
        recorder.commands.append(process.command or "")
        if recorder.pct_exit == 0:
            process.stdout.write("VMID       Status     Lock         Name\n")
        else:
            process.stderr.write("bash: line 1: pct: command not found\n")
        process.exit(recorder.pct_exit)

    recorder.server = await asyncssh.create_server(
        lambda: _RecordingSshServer(recorder),
        "127.0.0.1",
        0,
        server_host_keys=[key],
        process_factory=run,
    )
    recorder.port = recorder.server.sockets[0].getsockname()[1]
    return recorder
