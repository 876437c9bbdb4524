"""Proxmox's own console: termproxy behind pveproxy's websocket.

1. `POST /nodes/{node}/lxc/{vmid}/termproxy` (pve-container src/PVE/API2/LXC.pm
   `termproxy`, needs VM.Console on /vms/{vmid}) starts `termproxy PORT --path /vms/VMID
   --perm VM.Console --vncticket-endpoint --verify-port ...` running the container's
   console command (`PVE::LXC::get_console_command` by `cmode`: tty = lxc-console, a
   getty login; shell = lxc-attach, a root shell; console = /dev/console) and answers
   {user, ticket, port, upid}.
2. `GET .../vncwebsocket?port=&vncticket=` upgraded to a WebSocket (LXC.pm `vncwebsocket`
   checks the ticket with PVE::AccessControl::verify_vnc_ticket for the same user, path
   and port; pve-http-server AnyEvent.pm `websocket_proxy` then relays frames to the
   port). Our backend opens it with the node's API token and pinned TLS
   (`ProxmoxClient.lxc_vncwebsocket`); the browser never sees ticket or token.
3. termproxy's framing (pve-xtermjs termproxy/src/main.rs `read_ticket_line`,
   `process_queue`; xterm.js/src/main.js): the first message is `USER:TICKET\\n` with the
   `user` of step 1; termproxy checks it (POST /access/vncticket) and answers `OK`, then
   raw output bytes follow. Input is `0:LEN:DATA` (LEN = bytes of DATA), a resize
   `1:COLS:ROWS:`, a keepalive `2` (main.js sends one every 30 s).
"""

from __future__ import annotations

import asyncio
import logging

from lxc_manager.proxmox import ProxmoxClient
from lxc_manager.proxmox.websocket import MAX_SEND_FRAME, WebSocket, WebSocketClosed

__all__ = [
    "HANDSHAKE_TIMEOUT",
    "TermproxyConsole",
    "TermproxyRefused",
    "data_message",
    "open_termproxy_console",
    "resize_message",
]

log = logging.getLogger(__name__)

HANDSHAKE_TIMEOUT = 10.0  # termproxy itself gives up after 10 s (main.rs)
KEEPALIVE = b"2"


class TermproxyRefused(Exception):
    """termproxy did not accept the ticket (no `OK`), or closed during the handshake."""


def data_message(data: bytes) -> bytes:
    return b"0:%d:" % len(data) + data


def resize_message(cols: int, rows: int) -> bytes:
    return b"1:%d:%d:" % (cols, rows)


class TermproxyConsole:
    path = "termproxy"

    def __init__(self, client: ProxmoxClient, socket: WebSocket, pending: bytes = b"") -> None:
        self._client = client
        self._socket = socket
        self._pending = pending

    async def read(self) -> bytes:
        if self._pending:
            data, self._pending = self._pending, b""
            return data
        received = await self._socket.receive()
        return received or b""

    async def _send(self, message: bytes) -> None:
        try:
            await self._socket.send_bytes(message)
        except WebSocketClosed:
            log.debug("termproxy socket closed while sending")

    async def write(self, data: bytes) -> None:
        step = MAX_SEND_FRAME - 32  # room for the "0:LEN:" prefix
        for start in range(0, len(data), step):
            await self._send(data_message(data[start : start + step]))

    async def resize(self, cols: int, rows: int) -> None:
        await self._send(resize_message(cols, rows))

    async def keepalive(self) -> None:
        await self._send(KEEPALIVE)

    async def close(self) -> None:
        try:
            await self._socket.close()
        finally:
            await self._client.aclose()


async def open_termproxy_console(
    client: ProxmoxClient, pve_node: str, vmid: int, cols: int, rows: int
) -> TermproxyConsole:
    """Open the console with `client` (closed by the console's `close`, or here when
    opening fails). Raises the client's ProxmoxErrors (PermissionDenied: no VM.Console),
    TermproxyRefused, or TimeoutError."""
    socket: WebSocket | None = None
    try:
        proxy = await client.lxc_termproxy(pve_node, vmid)
        socket = await client.lxc_vncwebsocket(pve_node, vmid, proxy.port, proxy.ticket)
        await socket.send_bytes(f"{proxy.user}:{proxy.ticket}\n".encode())
        answer = b""
        async with asyncio.timeout(HANDSHAKE_TIMEOUT):
            while len(answer) < 2:
                piece = await socket.receive()
                if piece is None:
                    raise TermproxyRefused("termproxy closed the connection during the handshake")
                answer += piece
        if not answer.startswith(b"OK"):
            raise TermproxyRefused("termproxy did not accept the ticket")
        console = TermproxyConsole(client, socket, answer[2:])
        await console.resize(cols, rows)
        return console
    except BaseException:
        if socket is not None:
            await socket.close()
        await client.aclose()
        raise
