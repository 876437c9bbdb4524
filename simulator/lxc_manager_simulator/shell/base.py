"""Shared types of the shell package: worlds, sessions, command contexts, I/O sets."""

from __future__ import annotations

import asyncio
import posixpath
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

from .streams import BytesReader, NullWriter, Reader, Writer
from .vfs import Vfs, VfsError

if TYPE_CHECKING:
    from .interp import Interpreter
    from .terminal import Terminal

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Temporary directories *inside* the virtual filesystems (never the real disk).
VIRTUAL_TMP = "/tmp"  # noqa: S108
VIRTUAL_VAR_TMP = "/var/tmp"  # noqa: S108
PROGRAM_MARKER = b"\x7fELF simulated binary\n"

Program = Callable[["Ctx"], Awaitable[int]]


class PveCommandError(Exception):
    """A refusal by the cluster model (`CT 100 already running`)."""


@dataclass
class PeerHost:
    """Another PVE node as `ssh NODE` reaches it."""

    name: str
    online: bool
    world: World
    access: PveAccess


class PveAccess(Protocol):
    """What `pct` and `ssh` on a PVE host need from the cluster model (see README contract)."""

    @property
    def node_name(self) -> str: ...
    @property
    def real(self) -> Any: ...  # the real-container hooks, or None
    def containers(self) -> list[Any]: ...  # this node's containers (model `Container`s)
    def find_container(self, vmid: int) -> Any | None: ...  # only on this node
    def peer(self, host: str) -> PeerHost | None: ...  # a cluster node by name or address
    def start(self, container: Any) -> None: ...  # raise PveCommandError
    def stop(self, container: Any) -> None: ...
    def update_config(self, container: Any, changes: dict[str, object]) -> None: ...  # pct set


class TtyPort(Protocol):
    """The PTY an SSH client requested for its session (ssh.py)."""

    def size(self) -> tuple[int, int]:
        """(columns, rows) as the client last reported them."""
        ...

    def set_raw(self, raw: bool) -> None:
        """Raw: keystrokes as typed (no line editing of the transport's own)."""
        ...

    def on_resize(self, listener: Callable[[int, int], None] | None) -> None: ...


@dataclass
class Session:
    """One SSH command (or test run): settings shared by everything it starts."""

    sleep_scale: float = 1.0
    pve: PveAccess | None = None
    user: str = "root"
    terminal: Terminal | None = None  # the pty of an interactive shell (shell/terminal.py)
    tty: TtyPort | None = None  # the SSH channel's PTY, when the client requested one

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds * self.sleep_scale))


@dataclass
class IO:
    stdin: Reader
    stdout: Writer
    stderr: Writer

    def with_fd(self, fd: int, stream: Reader | Writer) -> IO:
        if fd == 0 and isinstance(stream, Reader):
            return replace(self, stdin=stream)
        if fd == 1 and isinstance(stream, Writer):
            return replace(self, stdout=stream)
        if fd == 2 and isinstance(stream, Writer):
            return replace(self, stderr=stream)
        return self

    def fd(self, number: int) -> Reader | Writer | None:
        streams: dict[int, Reader | Writer] = {0: self.stdin, 1: self.stdout, 2: self.stderr}
        return streams.get(number)

    @classmethod
    def null(cls) -> IO:
        return cls(BytesReader(b""), NullWriter(), NullWriter())


class ExitSignal(Exception):
    """`exit N` (or a fatal error): unwinds to the shell's top level."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class ReturnSignal(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class LoopSignal(Exception):
    """`break N` / `continue N`."""

    def __init__(self, kind: str, levels: int) -> None:
        super().__init__(kind, levels)
        self.kind = kind
        self.levels = levels


@dataclass
class Account:
    name: str
    uid: int
    gid: int
    home: str
    shell: str
    gecos: str = ""


@dataclass
class Group:
    name: str
    gid: int
    members: list[str] = field(default_factory=list)


class World:
    """A machine: its filesystem, hostname, installed programs and accounts."""

    kind = "machine"

    def __init__(
        self,
        hostname: str,
        *,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.clock = clock
        self.vfs = Vfs(clock=lambda: self.clock())
        self.rng = rng or random.Random(hostname)
        self._hostname = hostname
        self.programs: dict[str, Program] = {}
        self.boot_time = self.clock()

    # -- identity -----------------------------------------------------------------------------
    @property
    def hostname(self) -> str:
        return self._hostname

    @hostname.setter
    def hostname(self, name: str) -> None:
        self._hostname = name

    def default_env(self) -> dict[str, str]:
        return {
            "PATH": DEFAULT_PATH,
            "HOME": "/root",
            "USER": "root",
            "LOGNAME": "root",
            "SHELL": "/bin/bash",
            "LANG": "C.UTF-8",
        }

    # -- programs -------------------------------------------------------------------------------
    def install_program(self, path: str, program: Program) -> None:
        """Register an implementation and put an executable placeholder at `path`."""
        directory = posixpath.dirname(path)
        if not self.vfs.is_dir(directory):
            self.vfs.mkdir(directory, parents=True)
        real_dir = self.vfs.realpath(directory)
        real = posixpath.join(real_dir, posixpath.basename(path))
        if self.vfs.try_lookup(real, follow=False) is None:
            self.vfs.write_bytes(real, PROGRAM_MARKER, mode=0o755)
        self.programs[real] = program

    def remove_program(self, path: str) -> None:
        real = self._real(path)
        if real is None:
            return
        self.programs.pop(real, None)
        try:
            self.vfs.unlink(real)
        except VfsError:
            return

    def _real(self, path: str) -> str | None:
        try:
            return self.vfs.realpath(path)
        except VfsError:
            return None

    def find_command(self, name: str, path_var: str, cwd: str) -> str | None:
        """The absolute path `name` resolves to through PATH (None when not found)."""
        if "/" in name:
            full = self.vfs.abspath(name, cwd)
            return full if self.vfs.exists(full) else None
        for directory in path_var.split(":"):
            candidate = posixpath.join(directory or cwd, name)
            inode = self.vfs.try_lookup(candidate)
            if inode is not None and inode.is_file and inode.mode & 0o111:
                return candidate
        return None

    def program_at(self, path: str) -> Program | None:
        real = self._real(path)
        return self.programs.get(real) if real else None

    # -- accounts -------------------------------------------------------------------------------
    def accounts(self) -> list[Account]:
        out = []
        for line in self._lines("/etc/passwd"):
            parts = line.split(":")
            if len(parts) >= 7 and parts[2].isdigit() and parts[3].isdigit():
                out.append(
                    Account(parts[0], int(parts[2]), int(parts[3]), parts[5], parts[6], parts[4])
                )
        return out

    def groups(self) -> list[Group]:
        out = []
        for line in self._lines("/etc/group"):
            parts = line.split(":")
            if len(parts) >= 4 and parts[2].isdigit():
                members = [m for m in parts[3].split(",") if m]
                out.append(Group(parts[0], int(parts[2]), members))
        return out

    def _lines(self, path: str) -> list[str]:
        try:
            return [line for line in self.vfs.read_text(path).splitlines() if line.strip()]
        except VfsError:
            return []

    def account(self, name_or_uid: str) -> Account | None:
        for account in self.accounts():
            if account.name == name_or_uid or str(account.uid) == name_or_uid:
                return account
        return None

    def group(self, name_or_gid: str) -> Group | None:
        for group in self.groups():
            if group.name == name_or_gid or str(group.gid) == name_or_gid:
                return group
        return None

    def user_name(self, uid: int) -> str:
        account = self.account(str(uid))
        return account.name if account else str(uid)

    def group_name(self, gid: int) -> str:
        group = self.group(str(gid))
        return group.name if group else str(gid)


@dataclass
class Ctx:
    """Everything a program sees: argv, streams, environment, cwd, machine, session."""

    argv: list[str]
    io: IO
    env: dict[str, str]
    cwd: str
    world: World
    session: Session
    shell: Interpreter | None = None

    @property
    def name(self) -> str:
        return posixpath.basename(self.argv[0]) if self.argv else ""

    @property
    def args(self) -> list[str]:
        return self.argv[1:]

    @property
    def vfs(self) -> Vfs:
        return self.world.vfs

    @property
    def stdin(self) -> Reader:
        return self.io.stdin

    async def out(self, text: str | bytes) -> None:
        await self.io.stdout.write(text)

    async def err(self, text: str | bytes) -> None:
        await self.io.stderr.write(text)

    async def fail(self, message: str, status: int = 1) -> int:
        """Print `NAME: message` on stderr and return `status`."""
        await self.err(f"{self.name}: {message}\n")
        return status

    def path(self, path: str) -> str:
        return self.vfs.abspath(path, self.cwd)

    def with_argv(self, argv: list[str]) -> Ctx:
        return replace(self, argv=argv)
