"""Inside a container: the service manager, the journal, processes and listening sockets."""

from __future__ import annotations

import asyncio
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from .catalog import ServiceSpec
from .vfs import Vfs

UNIT_DIRS = ("/etc/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system")
WANTS_DIR = "/etc/systemd/system/multi-user.target.wants"
OPENRC_DIRS = ("/etc/init.d",)
OPENRC_RUNLEVEL = "/etc/runlevels/default"
PORT_HINTS = (
    re.compile(r"(?:^|\s)PORT=(\d+)"),
    re.compile(r"--port[= ](\d+)"),
    re.compile(r"\s-p\s+(\d+)\b"),
)


@dataclass
class JournalEntry:
    timestamp: float
    unit: str
    identifier: str
    pid: int
    message: str
    priority: int = 6


class Journal:
    """Append-only log; followers wait for new entries."""

    def __init__(self) -> None:
        self.entries: list[JournalEntry] = []
        self._waiters: list[asyncio.Future[None]] = []

    def add(self, entry: JournalEntry) -> None:
        self.entries.append(entry)
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def wait_beyond(self, count: int) -> None:
        """Return once the journal holds more than `count` entries."""
        while len(self.entries) <= count:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            await waiter


@dataclass
class Process:
    pid: int
    user: str
    name: str
    command_line: str
    unit: str = ""


@dataclass
class UnitState:
    spec: ServiceSpec
    active: str = "inactive"  # active | inactive | failed
    sub: str = "dead"  # running | exited | dead | failed
    main_pid: int = 0
    pids: list[int] = field(default_factory=list)
    since: float = 0.0


@dataclass
class Socket:
    address: str
    port: int
    process: str
    pids: list[int]


def unit_name(name: str) -> str:
    return name if "." in name else f"{name}.service"


def parse_unit_file(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.lstrip().startswith(("#", ";", "[")):
            values.setdefault(key.strip(), value.strip())
            if key.strip() == "Environment":
                values["Environment"] = values.get("Environment", "") + " " + value.strip()
    return values


def spec_from_unit_file(unit: str, text: str) -> ServiceSpec:
    """A unit the user wrote: its description and main process, ports from simple hints."""
    values = parse_unit_file(text)
    exec_start = values.get("ExecStart", "").lstrip("-@+!")
    program = posixpath.basename(exec_start.split()[0]) if exec_start.split() else ""
    hints = values.get("Environment", "") + " " + exec_start
    ports = sorted({int(m.group(1)) for rx in PORT_HINTS for m in rx.finditer(" " + hints)})
    return ServiceSpec(
        unit,
        values.get("Description", unit),
        program[:15],
        exec_start,
        tuple(("0.0.0.0", p) for p in ports),
        kind="oneshot" if values.get("Type") == "oneshot" else "simple",
    )


def openrc_script_text(spec: ServiceSpec) -> str:
    program, _, arguments = spec.command_line.partition(" ")
    return (
        f'#!/sbin/openrc-run\ndescription="{spec.description}"\ncommand="{program}"\n'
        f'command_args="{arguments}"\n'
    )


def unit_file_text(spec: ServiceSpec) -> str:
    service_type = "oneshot\nRemainAfterExit=yes" if spec.kind == "oneshot" else "simple"
    return (
        f"[Unit]\nDescription={spec.description}\n"
        + (f"Documentation={spec.docs}\n" if spec.docs else "")
        + "After=network.target\n\n[Service]\n"
        f"Type={service_type}\nExecStart={spec.command_line}\n\n"
        "[Install]\nWantedBy=multi-user.target\n"
    )


class ServiceManager:
    """systemd (or, on Alpine, OpenRC) state of one container.

    Units are named `NAME.service` throughout; under OpenRC their scripts are
    /etc/init.d/NAME and "enabled" means linked into the default runlevel.
    """

    def __init__(
        self,
        vfs: Vfs,
        journal: Journal,
        clock: Callable[[], float],
        next_pid: Callable[[], int],
        *,
        openrc: bool = False,
    ) -> None:
        self.vfs = vfs
        self.journal = journal
        self.clock = clock
        self.next_pid = next_pid
        self.openrc = openrc
        self.specs: dict[str, ServiceSpec] = {}
        self.states: dict[str, UnitState] = {}
        self.running = False  # the container itself

    @property
    def unit_dirs(self) -> tuple[str, ...]:
        return OPENRC_DIRS if self.openrc else UNIT_DIRS

    @property
    def enable_dir(self) -> str:
        return OPENRC_RUNLEVEL if self.openrc else WANTS_DIR

    def file_name(self, unit: str) -> str:
        return unit.removesuffix(".service") if self.openrc else unit

    # -- unit files ---------------------------------------------------------------------------
    def install_unit(self, spec: ServiceSpec, directory: str | None = None) -> None:
        self.specs[spec.unit] = spec
        directory = directory or self.unit_dirs[-1]
        path = posixpath.join(directory, self.file_name(spec.unit))
        if not self.vfs.exists(path):
            self.vfs.mkdir(directory, parents=True)
            text = openrc_script_text(spec) if self.openrc else unit_file_text(spec)
            self.vfs.write_text(path, text, mode=0o755 if self.openrc else 0o644)

    def remove_unit(self, unit: str) -> None:
        self.stop(unit)
        self.disable(unit)
        for directory in self.unit_dirs:
            path = posixpath.join(directory, self.file_name(unit))
            if self.vfs.exists(path, follow=False):
                self.vfs.unlink(path)
        self.specs.pop(unit, None)
        self.states.pop(unit, None)

    def unit_path(self, unit: str) -> str | None:
        for directory in self.unit_dirs:
            path = posixpath.join(directory, self.file_name(unit))
            if self.vfs.is_file(path):
                return path
        return None

    def known(self, unit: str) -> bool:
        return self.unit_path(unit) is not None

    def units(self) -> list[str]:
        names: set[str] = set()
        for directory in self.unit_dirs:
            if not self.vfs.is_dir(directory):
                continue
            for name in self.vfs.listdir(directory):
                if self.vfs.is_file(posixpath.join(directory, name)):
                    names.add(name + ".service" if self.openrc else name)
        return sorted(n for n in names if n.endswith(".service"))

    def spec(self, unit: str) -> ServiceSpec:
        """The catalog's spec for a packaged unit, else what its unit file says."""
        path = self.unit_path(unit)
        known = self.specs.get(unit)
        if known is not None and (path is None or not path.startswith("/etc/")):
            return known
        spec = spec_from_unit_file(unit, self.vfs.read_text(path) if path else "")
        return known if known is not None and not spec.process else spec

    def state(self, unit: str) -> UnitState:
        state = self.states.get(unit)
        if state is None or (state.active != "active" and state.spec != self.spec(unit)):
            state = UnitState(self.spec(unit))
            self.states[unit] = state
        return state

    # -- enablement ---------------------------------------------------------------------------------
    def is_enabled(self, unit: str) -> bool:
        return self.vfs.exists(posixpath.join(self.enable_dir, self.file_name(unit)), follow=False)

    def enable(self, unit: str) -> str | None:
        """Create the enabling symlink; the message systemctl prints (None when already)."""
        link = posixpath.join(self.enable_dir, self.file_name(unit))
        if self.vfs.exists(link, follow=False):
            return None
        target = self.unit_path(unit) or posixpath.join(self.unit_dirs[-1], self.file_name(unit))
        self.vfs.mkdir(self.enable_dir, parents=True)
        self.vfs.symlink(target, link)
        return f"Created symlink {link} \u2192 {target}."

    def disable(self, unit: str) -> str | None:
        link = posixpath.join(self.enable_dir, self.file_name(unit))
        if not self.vfs.exists(link, follow=False):
            return None
        self.vfs.unlink(link)
        return f'Removed "{link}".'

    # -- activity -----------------------------------------------------------------------------------------
    def log(self, unit: str, identifier: str, pid: int, message: str, priority: int = 6) -> None:
        self.journal.add(JournalEntry(self.clock(), unit, identifier, pid, message, priority))

    def is_active(self, unit: str) -> bool:
        return unit in self.states and self.states[unit].active == "active"

    def start(self, unit: str) -> bool:
        """Start a unit: False when it fails (a port already taken by another service)."""
        state = self.state(unit)
        if state.active == "active":
            return True
        spec = state.spec
        label = f"{unit} - {spec.description}"
        self.log(unit, "systemd", 1, f"Starting {label}...")
        conflict = self._port_conflict(unit, spec)
        if conflict is not None:
            return self._fail(unit, state, conflict)
        state.since = self.clock()
        if spec.kind == "oneshot" or not spec.process:
            state.active, state.sub, state.main_pid, state.pids = "active", "exited", 0, []
        else:
            state.main_pid = self.next_pid()
            state.pids = [state.main_pid] + [self.next_pid() for _ in range(spec.workers)]
            state.active, state.sub = "active", "running"
            for line in spec.log:
                self.log(unit, spec.process, state.main_pid, line)
        self.log(unit, "systemd", 1, f"Started {label}.")
        return True

    def _fail(self, unit: str, state: UnitState, port: tuple[str, int]) -> bool:
        spec = state.spec
        pid = self.next_pid()
        address = f"[{port[0]}]" if ":" in port[0] else port[0]
        self.log(
            unit,
            spec.process or unit,
            pid,
            f"bind() to {address}:{port[1]} failed (98: Address already in use)",
            3,
        )
        self.log(
            unit, "systemd", 1, f"{unit}: Control process exited, code=exited, status=1/FAILURE", 4
        )
        self.log(unit, "systemd", 1, f"{unit}: Failed with result 'exit-code'.", 4)
        self.log(unit, "systemd", 1, f"Failed to start {unit} - {spec.description}.", 3)
        state.active, state.sub, state.main_pid, state.pids = "failed", "failed", 0, []
        state.since = self.clock()
        return False

    def _port_conflict(self, unit: str, spec: ServiceSpec) -> tuple[str, int] | None:
        taken = [socket for owner, socket in self._sockets_by_unit() if owner != unit]
        for address, port in spec.ports:
            if any(s.port == port and _overlap(address, s.address) for s in taken):
                return address, port
        return None

    def stop(self, unit: str) -> None:
        state = self.states.get(unit)
        if state is None or state.active == "inactive":
            return
        label = f"{unit} - {state.spec.description}"
        if state.active == "active":
            self.log(unit, "systemd", 1, f"Stopping {label}...")
            self.log(unit, "systemd", 1, f"{unit}: Deactivated successfully.")
            self.log(unit, "systemd", 1, f"Stopped {label}.")
        state.active, state.sub, state.main_pid, state.pids = "inactive", "dead", 0, []
        state.since = self.clock()

    def restart(self, unit: str) -> bool:
        self.stop(unit)
        return self.start(unit)

    def boot(self) -> None:
        """The container starts: every enabled unit starts."""
        self.running = True
        for unit in self.units():
            if self.is_enabled(unit):
                self.start(unit)

    def shutdown(self) -> None:
        for unit in list(self.states):
            self.stop(unit)
        self.running = False

    # -- what runs -------------------------------------------------------------------------------------------
    def _sockets_by_unit(self) -> list[tuple[str, Socket]]:
        out = []
        for unit, state in self.states.items():
            if state.active == "active" and state.sub == "running":
                for address, port in state.spec.ports:
                    out.append((unit, Socket(address, port, state.spec.process, state.pids)))
        return out

    def sockets(self) -> list[Socket]:
        return [socket for _, socket in self._sockets_by_unit()]

    def unit_listening_on(self, port: int) -> str | None:
        return next((unit for unit, s in self._sockets_by_unit() if s.port == port), None)

    def processes(self) -> list[Process]:
        out = []
        for unit, state in sorted(self.states.items(), key=lambda item: item[1].main_pid):
            if state.active != "active" or not state.pids:
                continue
            spec = state.spec
            for index, pid in enumerate(state.pids):
                command = spec.command_line if index == 0 else f"{spec.process}: worker process"
                user = "root" if index == 0 or spec.process != "nginx" else "www-data"
                out.append(Process(pid, user, spec.process, command, unit))
        return out


def _overlap(first: str, second: str) -> bool:
    """Whether two listen addresses collide on the same port (same family, or a wildcard)."""
    if "*" in (first, second):
        return True
    if (":" in first) != (":" in second):
        return False
    wildcards = {"0.0.0.0", "::"}
    return first == second or first in wildcards or second in wildcards
