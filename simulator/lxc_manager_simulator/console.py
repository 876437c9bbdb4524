"""A container's console as Proxmox serves it: `termproxy` + `vncwebsocket`.

Sources (read from the Proxmox repositories, not from memory):

- pve-container src/PVE/API2/LXC.pm `termproxy`: permission `VM.Console` on /vms/{vmid};
  `PVE::LXC::Config->load_config` (a container of another node: "Configuration file ...
  does not exist"); `next_vnc_port` (5900-5999); `assemble_vnc_ticket($authuser,
  "/vms/$vmid", $port)`; a `vncproxy` task running `/usr/bin/termproxy $port --path
  /vms/$vmid --perm VM.Console --vncticket-endpoint --verify-port --ticket-fd N --
  /usr/bin/dtach -A /var/run/dtach/vzctlconsole$vmid -r winch -z <console command>`;
  answer `{user, ticket, port, upid}`. The running state is *not* checked there: a
  stopped container's console shows lxc-console's (or lxc-attach's) error and ends.
- pve-container src/PVE/LXC.pm `get_console_command`: `cmode` tty (the default) ->
  `lxc-console -n VMID -e -1` (the container's getty on tty1: a login prompt), console ->
  `lxc-console -n VMID -t 0 -e -1` (/dev/console), shell -> `lxc-attach --clear-env -n
  VMID` (a root shell, environment PATH + container=lxc, cwd `/`).
- pve-container `vncwebsocket`: `VM.Console` on /vms/{vmid}, then
  `verify_vnc_ticket($vncticket, $authuser, "/vms/$vmid", $port)`; pve-http-server
  src/PVE/APIServer/AnyEvent.pm upgrades after the handler answered 200 and connects to
  localhost:$port first: nothing listening there (the ticket was used already, or the
  termproxy gave up waiting) drops the connection without an answer.
- pve-access-control src/PVE/AccessControl.pm: VNC tickets are valid -20 < age < 40 s and
  bound to the user/token, the path and the port (auth.py create_vnc_ticket).
- pve-xtermjs termproxy/src/main.rs: accepts one client within 10 s ("failed waiting for
  client: timed out"), reads `USER:TICKET\\n` within 10 s, compares the ticket with the one
  pinned by --ticket-fd and verifies it at /access/vncticket (any failure:
  "authentication request failed"), answers `OK`, starts the command on a pty of 80x20
  and then parses `process_queue`: `0:LEN:DATA` input, `1:COLS:ROWS:` resize, anything
  else (the `2` keepalive) skipped one byte at a time; pty output goes back raw. When the
  client goes away it ends with exit code 0; when the command ends the pty closes and so
  does the connection (pveproxy then drops the WebSocket without a close frame).
- dtach (crigler/dtach attach.c): clears the screen on attach (`ESC[H ESC[J`) and prints
  `ESC[999H\\r\\n[EOF - dtach terminating]\\r\\n` when the program ends.

Not simulated: dtach keeps the console program running after the client detaches (a
second console of the same container attaches to the same session); here every console
starts a fresh getty/shell and closing it ends that shell.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import auth
from .httpserver import Upgrade as UpgradeHandler
from .model import ApiToken, Cluster, Container, PveError, Task
from .shell.base import Session
from .shell.interp import Interpreter
from .shell.terminal import Terminal, run_getty, run_shell
from .websocket import (
    HandshakeError,
    ProtocolError,
    WebSocket,
    check_handshake,
    switching_protocols,
)

if TYPE_CHECKING:
    from .router import Ctx

log = logging.getLogger("lxc_manager_simulator.console")

FIRST_PORT, LAST_PORT = 5900, 5999  # PVE::Tools::next_vnc_port
ACCEPT_TIMEOUT = 10.0  # termproxy listen_and_accept
TICKET_TIMEOUT = 10.0  # termproxy read_ticket_line
TICKET_LINE_MAX = 4096  # proxmox_io::ByteBuffer's default capacity
PTY_COLS, PTY_ROWS = 80, 20  # termproxy run_pty: pty.set_size(80, 20)
TASK_FOREVER = 10.0**9  # the task lasts as long as the console; ended explicitly
CLEAR_SCREEN = b"\x1b[H\x1b[J"
DTACH_EOF = b"\x1b[999H\r\n[EOF - dtach terminating]\r\n\x1b[?25h"
ATTACH_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
LOGIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
WATCH_SECONDS = 0.25  # how often an open console looks whether its container still runs


@dataclass
class TermProxy:
    """One `termproxy` process: listening on its port until a client comes (once)."""

    cluster: Cluster
    node: str
    vmid: int
    port: int
    authid: str
    ticket: str
    task: Task
    command: str = ""
    listening: bool = True
    timer: asyncio.TimerHandle | None = None
    sessions: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def path(self) -> str:
        return f"/vms/{self.vmid}"


def console_command(vmid: int, cmode: str) -> list[str]:
    """PVE::LXC::get_console_command($vmid, $conf, -1)."""
    if cmode == "console":
        return ["lxc-console", "-n", str(vmid), "-t", "0", "-e", "-1"]
    if cmode == "shell":
        return ["lxc-attach", "--clear-env", "-n", str(vmid)]
    return ["lxc-console", "-n", str(vmid), "-e", "-1"]


def termproxy_command(vmid: int, port: int, cmode: str) -> str:
    dtach = ["/usr/bin/dtach", "-A", f"/var/run/dtach/vzctlconsole{vmid}", "-r", "winch", "-z"]
    argv = [
        "/usr/bin/termproxy",
        str(port),
        "--path",
        f"/vms/{vmid}",
        "--perm",
        "VM.Console",
        "--vncticket-endpoint",
        "--verify-port",
        "--ticket-fd",
        "9",
        "--",
        *dtach,
        *console_command(vmid, cmode),
    ]
    return " ".join(argv)


class Consoles:
    """The termproxy processes of every cluster the simulator serves."""

    def __init__(self) -> None:
        self._proxies: dict[tuple[int, str, int], TermProxy] = {}

    def _next_port(self, cluster: Cluster, node: str) -> int:
        for port in range(FIRST_PORT, LAST_PORT + 1):
            if (cluster.index, node, port) not in self._proxies:
                return port
        raise PveError(500, f"unable to find free port ({FIRST_PORT}-{LAST_PORT})")

    def open(self, ctx: Ctx) -> dict[str, object]:
        """POST /nodes/{node}/lxc/{vmid}/termproxy."""
        cluster, identity = ctx.cluster, ctx.user
        vmid = int(ctx.params["vmid"])
        auth.require(cluster, identity, f"/vms/{vmid}", "VM.Console")
        ct = ctx.container()
        port = self._next_port(cluster, ctx.node)
        ticket = auth.create_vnc_ticket(cluster, identity.authid, f"/vms/{vmid}", port)
        task = cluster.start_task(
            node=ctx.node,
            task_type="vncproxy",
            task_id=str(vmid),
            user=identity.authid,
            action=None,
            seconds=TASK_FOREVER,
        )
        cmode = str(ct.config.get("cmode", "tty"))
        proxy = TermProxy(
            cluster,
            ctx.node,
            vmid,
            port,
            identity.authid,
            ticket,
            task,
            command=termproxy_command(vmid, port, cmode),
        )
        self._proxies[(cluster.index, ctx.node, port)] = proxy
        if task.failure is not None:  # the fail_tasks fault: the worker died at once
            self._end(proxy, task.failure)
        else:
            loop = asyncio.get_running_loop()
            proxy.timer = loop.call_later(
                ACCEPT_TIMEOUT, self._fail, proxy, "failed waiting for client: timed out"
            )
        return {"user": identity.authid, "ticket": ticket, "port": port, "upid": task.upid}

    def _fail(self, proxy: TermProxy, message: str) -> None:
        """termproxy exits 1: its stderr in the task log, run_command's error as status."""
        proxy.task.log.append(message)
        self._end(proxy, f"command '{proxy.command}' failed: exit code 1")

    def _end(self, proxy: TermProxy, error: str | None) -> None:
        proxy.listening = False
        if proxy.timer is not None:
            proxy.timer.cancel()
        self._proxies.pop((proxy.cluster.index, proxy.node, proxy.port), None)
        proxy.cluster.end_task(proxy.task, error)

    def accept(self, cluster: Cluster, node: str, port: int) -> TermProxy | None:
        """A connection to localhost:port: the termproxy listening there takes it (once)."""
        proxy = self._proxies.get((cluster.index, node, port))
        if proxy is None or not proxy.listening:
            return None
        proxy.listening = False
        if proxy.timer is not None:
            proxy.timer.cancel()
        return proxy

    # -- the WebSocket --------------------------------------------------------------------------
    async def websocket(self, ctx: Ctx, fail_delay: float, login_delay: float) -> object:
        """GET /nodes/{node}/lxc/{vmid}/vncwebsocket: the ticket check, then the upgrade."""
        cluster, identity = ctx.cluster, ctx.user
        vmid = int(ctx.params["vmid"])
        path = f"/vms/{vmid}"
        auth.require(cluster, identity, path, "VM.Console")
        port = int(ctx.params["port"])
        if not auth.verify_vnc_ticket(
            cluster, str(ctx.params["vncticket"]), identity.authid, path, port
        ):
            await asyncio.sleep(fail_delay)  # pveproxy delays every 401 by 3 seconds
            raise PveError(401, "permission denied - invalid PVEVNC ticket")
        request = ctx.request
        wants_upgrade = bool(request.headers.get("upgrade")) and request.path.endswith("websocket")
        if not wants_upgrade:
            return {"port": str(port)}
        try:
            accept, protocol = check_handshake(request.headers)
        except HandshakeError as exc:
            raise PveError(500, str(exc)) from exc
        node = ctx.node

        async def upgrade(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            proxy = self.accept(cluster, node, port)
            if proxy is None:  # tcp_connect to localhost:port failed: no answer at all
                log.info("console: nothing listens on port %s of %s", port, node)
                return
            writer.write(switching_protocols(accept, protocol))
            await writer.drain()
            peer = writer.get_extra_info("peername")
            proxy.task.log.append(f"client connection: 127.0.0.1:{peer[1] if peer else 0}")
            sock = WebSocket(reader, writer)
            await self._serve(proxy, sock, login_delay)

        return Upgrade(upgrade)

    async def _serve(self, proxy: TermProxy, sock: WebSocket, login_delay: float) -> None:
        stream = TermproxyInput()
        try:
            line = await asyncio.wait_for(_ticket_line(sock, stream), TICKET_TIMEOUT)
        except TimeoutError:
            return self._close(proxy, sock, "failed reading ticket: timed out")
        except _AuthError as exc:
            return self._close(proxy, sock, f"failed reading ticket: {exc}")
        except ProtocolError:
            return self._close(proxy, sock, "failed reading ticket: connection closed")
        authid, sep, ticket = line.partition(b":")
        if not sep:
            return self._close(proxy, sock, "failed reading ticket: authentication data is invalid")
        if not self._authenticate(proxy, authid, ticket):
            return self._close(proxy, sock, "authentication request failed")
        await sock.send(b"OK")
        await _Session(proxy, sock, stream, login_delay).run()
        sock.abort()
        self._end(proxy, None)

    def _authenticate(self, proxy: TermProxy, authid: bytes, ticket: bytes) -> bool:
        """The pinned ticket, then POST /access/vncticket (authid, path, privs, port)."""
        if ticket.decode("utf-8", "replace") != proxy.ticket:
            return False
        name = authid.decode("utf-8", "replace")
        identity = identity_of(proxy.cluster, name)
        if identity is None:
            return False
        return auth.verify_vnc_ticket(
            proxy.cluster, proxy.ticket, name, proxy.path, proxy.port
        ) and auth.has_privilege(proxy.cluster, identity, proxy.path, ("VM.Console",))

    def _close(self, proxy: TermProxy, sock: WebSocket, message: str) -> None:
        sock.abort()
        self._fail(proxy, message)


@dataclass
class Upgrade:
    """A handler's answer that takes the connection over (api.py makes it a Response)."""

    run: UpgradeHandler


class _AuthError(Exception):
    pass


async def _ticket_line(sock: WebSocket, stream: TermproxyInput) -> bytes:
    """read_ticket_line: bytes up to the first newline (the rest stays for the pty)."""
    while b"\n" not in stream.buf:
        message = await sock.receive()
        if message is None:
            raise _AuthError("connection closed before authentication")
        stream.buf.extend(message.data)
        if b"\n" not in stream.buf and len(stream.buf) >= TICKET_LINE_MAX:
            raise _AuthError("authentication data is incomplete")
    index = stream.buf.index(b"\n")
    line = bytes(stream.buf[:index])
    del stream.buf[: index + 1]
    return line


def identity_of(cluster: Cluster, authid: str) -> auth.Identity | None:
    """A user id or `user@realm!token` as the access control knows it."""
    userid, _, tokenname = authid.partition("!")
    user = cluster.users.get(userid)
    if user is None or not user.enabled:
        return None
    if not tokenname:
        return auth.Identity(userid=userid)
    token: ApiToken | None = cluster.tokens.get(authid)
    return auth.Identity(userid=userid, token=token) if token is not None else None


class TermproxyInput:
    """termproxy's `process_queue` (pve-xtermjs termproxy/src/main.rs), byte for byte."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.remaining = 0

    def feed(self, data: bytes) -> list[tuple[str, bytes] | tuple[str, int, int]]:
        self.buf.extend(data)
        events: list[tuple[str, bytes] | tuple[str, int, int]] = []
        while self.buf:
            if self.remaining == 0:
                length = self._process_queue(events)
                if length is None:
                    break
                self.remaining = length
                continue
            take = min(self.remaining, len(self.buf))
            events.append(("data", bytes(self.buf[:take])))
            del self.buf[:take]
            self.remaining -= take
        return events

    def _process_queue(self, events: list[tuple[str, bytes] | tuple[str, int, int]]) -> int | None:
        buf = self.buf
        while len(buf) >= 2:
            msgtype = (buf[0] - 0x30) & 0xFF
            if msgtype == 0:
                del buf[:2]
                length = self._remove_number()
                if length is not None:
                    return length
            elif msgtype == 1:
                del buf[:2]
                cols = self._remove_number()
                if cols is not None:
                    rows = self._remove_number()
                    if rows is not None:
                        events.append(("resize", cols & 0xFFFF, rows & 0xFFFF))
            else:
                del buf[:1]  # "ignore invalid or ping (msgtype 2)"
        return None

    def _remove_number(self) -> int | None:
        buf = self.buf
        while True:
            pos = buf.find(b":")
            if pos >= 0:
                text = bytes(buf[:pos])
                del buf[: pos + 1]
                if not re.fullmatch(rb"\+?[0-9]+", text) or int(text) >= 2**64:
                    return None  # "error parsing number"
                return int(text)
            if len(buf) > 20:
                del buf[:20]
            else:
                return None


class _Session:
    """The program on the pty: dtach around lxc-console (getty) or lxc-attach (shell)."""

    def __init__(
        self, proxy: TermProxy, sock: WebSocket, stream: TermproxyInput, login_delay: float
    ) -> None:
        self.proxy = proxy
        self.sock = sock
        self.stream = stream
        self.login_delay = login_delay
        ct = proxy.cluster.find_container(proxy.vmid)
        self.ct: Container | None = ct
        self.cmode = str(ct.config.get("cmode", "tty")) if ct is not None else "tty"
        tty = {"tty": "/dev/tty1", "console": "/dev/console"}.get(self.cmode, "/dev/pts/0")
        self.terminal = Terminal(self._output, cols=PTY_COLS, rows=PTY_ROWS, name=tty)

    async def _output(self, data: bytes) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            await self.sock.send(data)

    async def run(self) -> None:
        await self._output(CLEAR_SCREEN)
        program = asyncio.ensure_future(self._program())
        pump = asyncio.ensure_future(self._pump())
        watch = asyncio.ensure_future(self._watch())
        try:
            await asyncio.wait({program, pump, watch}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (pump, watch):
                task.cancel()
            if not program.done():  # the client went away or the container stopped
                stopped = watch.done() and not watch.cancelled()
                self.terminal.hangup()
                program.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await program
                if stopped:
                    await self._output(DTACH_EOF)
            elif not program.cancelled() and program.exception() is not None:
                log.error("console program failed", exc_info=program.exception())

    async def _program(self) -> None:
        ct, vmid = self.ct, self.proxy.vmid
        if ct is None or ct.status != "running":
            if self.cmode == "shell":
                await self.terminal.write(
                    f"lxc-attach: {vmid}: ../src/lxc/attach.c: get_attach_context: 406 "
                    "Connection refused - Failed to get init pid\n"
                    f"lxc-attach: {vmid}: ../src/lxc/attach.c: lxc_attach: 1474 "
                    "Connection refused - Failed to get attach context\n".encode()
                )
            else:
                await self.terminal.write(
                    f"lxc-console: {vmid}: ../src/lxc/tools/lxc_console.c: main: 130 "
                    f"{vmid} is not running\n".encode()
                )
        elif self.cmode == "shell":
            env = {"PATH": ATTACH_PATH, "container": "lxc"}
            shell = Interpreter(ct.world, Session(terminal=self.terminal), env=env, cwd="/")
            await run_shell(shell, self.terminal)
        else:
            world = ct.world

            def login_shell() -> Interpreter:
                env = {
                    "HOME": "/root",
                    "SHELL": "/bin/bash",
                    "USER": "root",
                    "LOGNAME": "root",
                    "PATH": LOGIN_PATH,
                    "TERM": "linux",
                    "LANG": "C.UTF-8",
                }
                return Interpreter(world, Session(terminal=self.terminal), env=env, cwd="/root")

            await run_getty(login_shell, world, self.terminal, fail_delay=self.login_delay)
        if not self.terminal.hung_up:
            await self._output(DTACH_EOF)

    async def _pump(self) -> None:
        """WebSocket payloads are termproxy's TCP byte stream (frame borders mean nothing)."""
        pending = self.stream.feed(b"")
        while True:
            for event in pending:
                if event[0] == "data":
                    await self.terminal.feed(event[1])  # type: ignore[arg-type]
                else:
                    self.terminal.resize(int(event[1]), int(event[2]))  # type: ignore[misc]
            try:
                message = await self.sock.receive()
            except ProtocolError as exc:
                log.info("console: %s", exc)
                return
            if message is None:
                return
            pending = self.stream.feed(message.data)

    async def _watch(self) -> None:
        """Returns when the container stops or goes away (lxc-console/lxc-attach end)."""
        cluster, ct = self.proxy.cluster, self.ct
        if ct is None or ct.status != "running":  # the program says so itself and ends
            await asyncio.Event().wait()
        while ct is not None and ct.status == "running" and cluster.find_container(ct.vmid) is ct:  # noqa: ASYNC110 (the model has no change event)
            await asyncio.sleep(WATCH_SECONDS)
