"""The simulator's SSH server: exec on one PVE node, `pct`, SFTP.

One listener per PVE node, each with its own host key, as on a real cluster (the CLI binds
node N of an endpoint on its own loopback address, same port). Commands run in that node's
`HostWorld` through the shell interpreter (the exec request's string is parsed like sshd's
login shell would), `pct` knows that node's containers, `ssh ...` reaches the peers (only in
PVE's own form: see `shell.commands.pve`), and SFTP reads and writes the node's virtual
filesystem. Authentication: `root` with root@pam's password, or a key
listed in `Simulation.ssh_authorized_keys`. Faults: `ssh_disconnect_next` cuts the next
exec sessions after their first output, `ssh_slow_output_ms` delays every output chunk.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import posixpath
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncssh

from .model import Cluster, Container, PveError, PveNode, Simulation
from .shell import Interpreter
from .shell.base import IO, PeerHost, PveCommandError, Session
from .shell.streams import CallbackReader, Writer
from .shell.vfs import Inode, VfsError
from .shell.world import HostWorld

log = logging.getLogger("lxc_manager_simulator.ssh")
SSH_USER = "root"
ACCEPTED_ENV_PREFIXES = ("LANG", "LC_")
READ_CHUNK = 65536
CUT_DELIVERY_SECONDS = 0.05  # lets the output before a cut reach the client
SFTP_HOME = "/root"
UMASK = 0o022


async def start_ssh_server(
    simulation: Simulation,
    cluster: Cluster,
    host: str,
    port: int,
    host_key: asyncssh.SSHKey | None,
    node: PveNode | None = None,
) -> tuple[asyncssh.SSHAcceptor, int, str]:
    """Listen for one PVE node (default: the endpoint's first);
    -> (server, actual port, host key fingerprint "SHA256:...")."""
    key = host_key or asyncssh.generate_private_key("ssh-ed25519")
    here = node or cluster.first_node
    server = await asyncssh.create_server(
        lambda: _Server(simulation, cluster, here),
        host,
        port,
        server_host_keys=[key],
        process_factory=lambda process: _run_session(cluster, here, process),
        sftp_factory=lambda channel: _VfsSftpServer(channel, here),
        allow_scp=False,
        encoding="utf-8",
        errors="surrogateescape",  # any bytes round-trip; a terminal gets the line editor
        keepalive_interval=0,
    )
    return server, server.get_port(), key.get_fingerprint("sha256")


class _Server(asyncssh.SSHServer):
    """Authentication: root with root@pam's password or an authorized key."""

    def __init__(self, simulation: Simulation, cluster: Cluster, node: PveNode) -> None:
        self.simulation = simulation
        self.cluster = cluster
        self.node = node
        self.connection: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.connection = conn
        if not self.node.online:
            asyncio.get_running_loop().call_soon(conn.abort)

    def begin_auth(self, username: str) -> bool:
        keys = self.simulation.ssh_authorized_keys
        if keys and self.connection is not None and username == SSH_USER:
            self.connection.set_authorized_keys(asyncssh.import_authorized_keys(keys))
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        root = self.cluster.users.get("root@pam")
        return (
            username == SSH_USER and root is not None and root.enabled and password == root.password
        )

    def public_key_auth_supported(self) -> bool:
        return bool(self.simulation.ssh_authorized_keys)


class NodeAccess:
    """The shell's view of the cluster from one PVE node (`PveAccess` of shell.base)."""

    def __init__(self, cluster: Cluster, node_name: str) -> None:
        self.cluster = cluster
        self._node_name = node_name

    @property
    def node_name(self) -> str:
        return self._node_name

    @property
    def real(self) -> Any:
        return self.cluster.real

    def containers(self) -> list[Container]:
        return self.cluster.containers_on(self._node_name)

    def find_container(self, vmid: int) -> Container | None:
        container = self.cluster.find_container(vmid)
        return container if container is not None and container.node == self._node_name else None

    def peer(self, host: str) -> PeerHost | None:
        for node in self.cluster.nodes.values():
            if host in (node.name, node.ip) or (
                node.name == self._node_name and host in ("localhost", "127.0.0.1")
            ):
                return PeerHost(
                    node.name, node.online, node.world, NodeAccess(self.cluster, node.name)
                )
        return None

    def start(self, container: Any) -> None:
        try:
            self.cluster.start_container(container)
        except PveError as exc:
            raise PveCommandError(exc.message) from exc

    def stop(self, container: Any) -> None:
        try:
            self.cluster.stop_container(container)
        except PveError as exc:
            raise PveCommandError(exc.message) from exc

    def update_config(self, container: Any, changes: dict[str, object]) -> None:
        self.cluster.update_config(container, changes, [])


# -- exec sessions --------------------------------------------------------------------------------
class _CutConnection(Exception):
    """The disconnect fault fired: the connection is gone, nothing more to send."""


class _ChannelWriter(Writer):
    """Writes to an SSH channel stream, applying the slow-output and disconnect faults."""

    def __init__(self, stream: asyncssh.SSHWriter[str], session: _SessionFaults) -> None:
        super().__init__()
        self.stream = stream
        self.faults = session

    async def _emit(self, data: bytes) -> None:
        if self.faults.delay:
            await asyncio.sleep(self.faults.delay)
        try:
            self.stream.write(data.decode("utf-8", "surrogateescape"))
            await self.stream.drain()
        except (BrokenPipeError, ConnectionError, asyncssh.Error) as exc:
            raise _CutConnection() from exc
        await self.faults.after_output()


class _SessionFaults:
    """The faults as they were when the session started."""

    def __init__(self, cluster: Cluster, process: asyncssh.SSHServerProcess[str]) -> None:
        faults = cluster.faults
        self.cut = faults.ssh_disconnect_next > 0
        if self.cut:
            faults.ssh_disconnect_next -= 1
        self.delay = max(0, faults.ssh_slow_output_ms) / 1000.0
        self.process = process

    async def after_output(self) -> None:
        if self.cut:
            await self.disconnect()

    async def disconnect(self) -> None:
        await asyncio.sleep(CUT_DELIVERY_SECONDS)
        log.info("fault: cutting the SSH connection mid-output")
        self.process.channel.get_connection().abort()
        raise _CutConnection()


class _StdinPump:
    """Reads the channel's stdin ahead of the command: data for the command's reader, and
    signals (`SignalReceived` / `BreakReceived` arrive in the stdin stream) that stop it."""

    def __init__(self, process: asyncssh.SSHServerProcess[str]) -> None:
        self.process = process
        self.resized: Callable[[int, int], None] | None = None
        self.chunks: asyncio.Queue[bytes] = asyncio.Queue()
        self.signal: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._eof = False

    async def run(self) -> None:
        while True:
            try:
                data = await self.process.stdin.read(READ_CHUNK)
            except asyncssh.SignalReceived as exc:
                self._signalled(exc.signal)
                continue
            except asyncssh.BreakReceived:
                self._signalled("INT")
                continue
            except asyncssh.TerminalSizeChanged as exc:  # a window-change request
                if self.resized is not None:
                    self.resized(exc.width, exc.height)
                continue
            except (asyncssh.Error, ConnectionError):
                data = ""
            self.chunks.put_nowait(data.encode("utf-8", "surrogateescape"))
            if not data:
                return

    def _signalled(self, name: str) -> None:
        if not self.signal.done():
            self.signal.set_result(name)

    async def pull(self) -> bytes:
        if self._eof:
            return b""
        data = await self.chunks.get()
        self._eof = not data
        return data


class _SshTty:
    """The PTY of a session (`TtyPort`): its size, window changes, asyncssh's line editor
    switched off while a simulated terminal (shell/terminal.py) reads raw keystrokes."""

    def __init__(self, process: asyncssh.SSHServerProcess[str], pump: _StdinPump) -> None:
        self.process = process
        self.pump = pump

    def size(self) -> tuple[int, int]:
        cols, rows, _, _ = self.process.get_terminal_size()
        return cols or 80, rows or 24

    def set_raw(self, raw: bool) -> None:
        # the channel is asyncssh's SSHLineEditorChannel once a PTY was requested
        self.process.channel.set_line_mode(not raw)  # type: ignore[attr-defined]

    def on_resize(self, listener: Callable[[int, int], None] | None) -> None:
        self.pump.resized = listener


async def _run_session(
    cluster: Cluster, node: PveNode, process: asyncssh.SSHServerProcess[str]
) -> None:
    """One exec (or shell) request: run it on the listener's node's host world."""
    faults = _SessionFaults(cluster, process)
    pump = _StdinPump(process)
    reading = asyncio.ensure_future(pump.run())
    io = IO(
        CallbackReader(pump.pull),
        _ChannelWriter(process.stdout, faults),
        _ChannelWriter(process.stderr, faults),
    )
    tty = _SshTty(process, pump) if process.get_terminal_type() else None
    shell = Interpreter(
        node.world,
        Session(pve=NodeAccess(cluster, node.name), tty=tty),
        env=_environment(node.world, process),
        cwd="/root",
    )
    if process.command is None:
        prompt = f"root@{node.name}:~# " if process.get_terminal_type() else None
        task = asyncio.ensure_future(_guarded(shell.run_interactive(io, prompt)))
    else:
        task = asyncio.ensure_future(_guarded(shell.run(process.command, io)))
    try:
        outcome = await _outcome(task, process, pump.signal)
    finally:
        reading.cancel()
    try:
        if faults.cut:
            await faults.disconnect()
        if isinstance(outcome, str):
            process.exit_with_signal(outcome)
        elif outcome is not None:
            process.exit(outcome)
    except _CutConnection:
        return


async def _guarded(command: Awaitable[int]) -> int | None:
    """The command's status; None when the connection went away under it."""
    try:
        return await command
    except _CutConnection:
        return None
    except Exception:
        log.exception("simulated command failed")
        return 1


def _environment(world: HostWorld, process: asyncssh.SSHServerProcess[str]) -> dict[str, str]:
    env = world.default_env()
    for name, value in process.env.items():
        key = name.decode() if isinstance(name, bytes) else str(name)
        if key.startswith(ACCEPTED_ENV_PREFIXES):
            env[key] = value.decode() if isinstance(value, bytes) else str(value)
    return env


async def _outcome(
    task: asyncio.Future[int | None],
    process: asyncssh.SSHServerProcess[str],
    signal: asyncio.Future[str],
) -> int | str | None:
    """The command's status; the signal's name when one stopped it; None when the channel
    closed (or the connection was cut) first. The command is cancelled unless it finished."""
    closed: asyncio.Future[Any] = asyncio.ensure_future(process.channel.wait_closed())
    watched: set[asyncio.Future[Any]] = {task, closed, signal}
    try:
        await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
    finally:
        channel_closed = closed.done()
        closed.cancel()
        finished = task.done()
        if not finished:
            task.cancel()
    if finished:
        return None if task.cancelled() else task.result()
    return signal.result() if signal.done() and not channel_closed else None


# -- SFTP on the node's virtual filesystem ----------------------------------------------------------------
class _Handle:
    def __init__(self, inode: Inode, append: bool) -> None:
        self.inode = inode
        self.append = append


class _VfsSftpServer(asyncssh.SFTPServer):
    """SFTP over the node's `HostWorld` filesystem (not the real disk)."""

    def __init__(self, chan: asyncssh.SSHServerChannel[str], node: PveNode) -> None:
        super().__init__(chan)
        self.node = node

    @property
    def world(self) -> HostWorld:
        return self.node.world

    def _path(self, path: bytes) -> str:
        return self.world.vfs.abspath(path.decode("utf-8", "surrogateescape") or ".", SFTP_HOME)

    def _attrs(self, inode: Inode) -> asyncssh.SFTPAttrs:
        return asyncssh.SFTPAttrs(
            type={
                "file": asyncssh.FILEXFER_TYPE_REGULAR,
                "dir": asyncssh.FILEXFER_TYPE_DIRECTORY,
                "symlink": asyncssh.FILEXFER_TYPE_SYMLINK,
            }[inode.kind],
            size=inode.size,
            uid=inode.uid,
            gid=inode.gid,
            permissions=inode.st_mode,
            atime=int(inode.atime),
            mtime=int(inode.mtime),
            nlink=1,
            owner=self.world.user_name(inode.uid),
            group=self.world.group_name(inode.gid),
        )

    def format_user(self, uid: int | None) -> str:
        return self.world.user_name(uid or 0)

    def format_group(self, gid: int | None) -> str:
        return self.world.group_name(gid or 0)

    def realpath(self, path: bytes) -> bytes:
        full = self._path(path)
        with contextlib.suppress(VfsError):
            full = self.world.vfs.realpath(full)
        return full.encode("utf-8", "surrogateescape")

    def stat(self, path: bytes) -> asyncssh.SFTPAttrs:
        return self._attrs(self.world.vfs.lookup(self._path(path)))

    def lstat(self, path: bytes) -> asyncssh.SFTPAttrs:
        return self._attrs(self.world.vfs.lookup(self._path(path), follow=False))

    def fstat(self, file_obj: object) -> asyncssh.SFTPAttrs:
        assert isinstance(file_obj, _Handle)
        return self._attrs(file_obj.inode)

    def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> object:
        vfs = self.world.vfs
        full = self._path(path)
        create = bool(pflags & asyncssh.FXF_CREAT)
        permissions = attrs.permissions if attrs.permissions is not None else 0o666
        inode = vfs.open_file(
            full,
            create=create,
            truncate=bool(pflags & asyncssh.FXF_TRUNC),
            mode=permissions & 0o7777 & ~UMASK,
            exclusive=bool(pflags & asyncssh.FXF_EXCL),
        )
        return _Handle(inode, bool(pflags & asyncssh.FXF_APPEND))

    def read(self, file_obj: object, offset: int, size: int) -> bytes:
        assert isinstance(file_obj, _Handle)
        return bytes(file_obj.inode.data[offset : offset + size])

    def write(self, file_obj: object, offset: int, data: bytes) -> int:
        assert isinstance(file_obj, _Handle)
        buffer = file_obj.inode.data
        if file_obj.append:
            offset = len(buffer)
        if offset > len(buffer):
            buffer.extend(b"\0" * (offset - len(buffer)))
        buffer[offset : offset + len(data)] = data
        self.world.vfs.touch_inode(file_obj.inode)
        return len(data)

    def close(self, file_obj: object) -> None:
        return None

    def setstat(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        self._apply(self.world.vfs.lookup(self._path(path)), attrs)

    def fsetstat(self, file_obj: object, attrs: asyncssh.SFTPAttrs) -> None:
        assert isinstance(file_obj, _Handle)
        self._apply(file_obj.inode, attrs)

    @staticmethod
    def _apply(inode: Inode, attrs: asyncssh.SFTPAttrs) -> None:
        if attrs.permissions is not None:
            inode.mode = attrs.permissions & 0o7777
        if attrs.uid is not None:
            inode.uid = attrs.uid
        if attrs.gid is not None:
            inode.gid = attrs.gid
        if attrs.mtime is not None:
            inode.mtime = float(attrs.mtime)
        if attrs.atime is not None:
            inode.atime = float(attrs.atime)
        if attrs.size is not None and inode.is_file:
            del inode.data[attrs.size :]
            inode.data.extend(b"\0" * (attrs.size - len(inode.data)))

    async def scandir(self, path: bytes) -> AsyncIterator[asyncssh.SFTPName]:
        vfs = self.world.vfs
        full = self._path(path)
        directory = vfs.lookup(full)
        if not directory.is_dir:
            raise VfsError(20, full)
        for name in (".", ".."):
            target = vfs.lookup(posixpath.join(full, name))
            yield asyncssh.SFTPName(name.encode(), attrs=self._attrs(target))
        for name, inode in sorted(directory.entries.items()):
            yield asyncssh.SFTPName(
                name.encode("utf-8", "surrogateescape"), attrs=self._attrs(inode)
            )

    def remove(self, path: bytes) -> None:
        self.world.vfs.unlink(self._path(path))

    def mkdir(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        mode = attrs.permissions & 0o7777 if attrs.permissions is not None else 0o777
        self.world.vfs.mkdir(self._path(path), mode=mode & ~UMASK)

    def rmdir(self, path: bytes) -> None:
        self.world.vfs.rmdir(self._path(path))

    def rename(self, oldpath: bytes, newpath: bytes) -> None:
        new = self._path(newpath)
        if self.world.vfs.exists(new, follow=False):
            raise asyncssh.SFTPFailure(f"{new}: File already exists")
        self.world.vfs.rename(self._path(oldpath), new)

    def posix_rename(self, oldpath: bytes, newpath: bytes) -> None:
        self.world.vfs.rename(self._path(oldpath), self._path(newpath))

    def readlink(self, path: bytes) -> bytes:
        return self.world.vfs.readlink(self._path(path)).encode("utf-8", "surrogateescape")

    def symlink(self, oldpath: bytes, newpath: bytes) -> None:
        self.world.vfs.symlink(oldpath.decode("utf-8", "surrogateescape"), self._path(newpath))

    def link(self, oldpath: bytes, newpath: bytes) -> None:
        vfs = self.world.vfs
        vfs.link_inode(vfs.lookup(self._path(oldpath)), self._path(newpath))

    def statvfs(self, path: bytes) -> asyncssh.SFTPVFSAttrs:
        blocks = 100 * 1024**3 // 4096
        return asyncssh.SFTPVFSAttrs(
            bsize=4096,
            frsize=4096,
            blocks=blocks,
            bfree=blocks // 2,
            bavail=blocks // 2,
            files=6_000_000,
            ffree=5_000_000,
            favail=5_000_000,
            fsid=0,
            flag=0,
            namemax=255,
        )

    def fsync(self, file_obj: object) -> None:
        return None


__all__ = ["NodeAccess", "start_ssh_server"]
