"""The cluster model of the Proxmox VE simulator.

The model owns cluster state: PVE nodes, guests (containers and VMs), storage, users,
tokens, the ACL, tasks, the simulated clock and the faults. It knows nothing about HTTP
or SSH; `api.py` and `ssh.py` read and change it. What happens *inside* a host or a
container belongs to the worlds of `shell/` (see the contract in README.md).
"""

from __future__ import annotations

import hashlib
import os
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Literal

from .versions import NEWEST, PveVersion

if TYPE_CHECKING:
    from .backups import BackupJob, BackupVolume
    from .ha import HaResource
    from .real.hooks import RealHooks
    from .shell.world import ContainerWorld, HostWorld

MIN_VMID = 100
MAX_VMID = 999_999_999
GIB = 1024**3
MIB = 1024**2

Status = Literal["running", "stopped"]
EndpointMode = Literal["normal", "hang", "refuse"]


class PveError(Exception):
    """An error answered the way Proxmox answers it: HTTP status, message, per-parameter errors."""

    def __init__(self, status: int, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors


def param_error(errors: dict[str, str]) -> PveError:
    return PveError(400, "Parameter verification failed.", errors)


class Clock:
    """Wall-clock time plus an offset that `advance` moves (ticket expiry, timeouts)."""

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@dataclass
class Faults:
    """Faults that tests flip at runtime through the admin API (`/_sim/faults`)."""

    latency_ms: int = 0
    jitter_ms: int = 0
    error_rate: float = 0.0
    mode: EndpointMode = "normal"  # hang: accept and never answer; refuse: listener closed
    fail_tasks: int = 0  # the next N tasks end with an error
    fail_message: str = "simulated task failure"
    ssh_disconnect_next: int = 0  # the next N SSH commands are cut mid-output
    ssh_slow_output_ms: int = 0  # delay between SSH output chunks

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def copy(self) -> Faults:
        return Faults(**self.to_dict())

    def update(self, values: dict[str, Any]) -> None:
        """Set the given fields; raises `PveError(400)` naming every bad field."""
        errors: dict[str, str] = {}
        for name, value in values.items():
            problem = _fault_problem(name, value)
            if problem:
                errors[name] = problem
        if errors:
            raise param_error(errors)
        for name, value in values.items():
            setattr(self, name, float(value) if name == "error_rate" else value)


def _fault_problem(name: str, value: object) -> str | None:
    known = {f.name for f in fields(Faults)}
    if name not in known:
        return "unknown fault"
    if name == "mode":
        return None if value in ("normal", "hang", "refuse") else "one of normal, hang, refuse"
    if name == "fail_message":
        return None if isinstance(value, str) and value else "non-empty string"
    if name == "error_rate":
        ok = isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1
        return None if ok else "number between 0 and 1"
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    return None if ok else "non-negative integer"


@dataclass
class User:
    userid: str  # user@realm
    password: str
    totp_secret: str | None = None
    # A used recovery key becomes "" so the others keep their index (the challenge lists
    # the indices of the keys still available).
    recovery_keys: list[str] = field(default_factory=list)
    # Second factors the simulator can only announce (`--webauthn`, `--u2f`, `--yubico`).
    other_factors: tuple[str, ...] = ()
    enabled: bool = True

    @property
    def has_second_factor(self) -> bool:
        return bool(self.totp_secret or self.recovery_keys or self.other_factors)

    @property
    def realm(self) -> str:
        return self.userid.rsplit("@", 1)[1]


@dataclass
class ApiToken:
    userid: str
    tokenid: str
    secret: str
    privsep: bool

    @property
    def full_id(self) -> str:
        return f"{self.userid}!{self.tokenid}"


@dataclass
class AclEntry:
    path: str
    ugid: str  # user@realm or user@realm!token
    role: str
    propagate: bool = True


@dataclass
class Vnet:
    """An SDN vnet (pve-network): a bridge named after the vnet on every node of its zone."""

    vnet: str
    zone: str
    alias: str = ""
    vlanaware: bool = False


@dataclass
class Storage:
    storage: str
    type: str  # dir, lvmthin
    content: tuple[str, ...]
    total: int
    shared: bool = False


@dataclass
class Template:
    volid: str  # local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst
    size: int
    ctime: int

    @property
    def format(self) -> str:
        return "tzst" if self.volid.endswith(".zst") else "txz"


@dataclass
class Snapshot:
    name: str
    description: str
    snaptime: int
    parent: str | None
    config: dict[str, object]
    vmstate: bool = False


@dataclass
class PveNode:
    name: str
    nodeid: int
    ip: str
    world: HostWorld
    online: bool = True
    # How pveproxy on another member fails to reach this node while it is offline:
    # "no-route" (595 at once) or "timeout" (595 after the proxy timeout); see api.py.
    unreachable_as: str = "no-route"
    hanging: bool = False  # member up, its pveproxy never answers (596 after the timeout)
    offline_since: float | None = None  # simulator time it went offline (status cache age)
    # vmid -> (status, stats) its guests last reported, kept by the others' status cache
    last_seen: dict[int, tuple[str, GuestStats]] = field(default_factory=dict)
    maxcpu: int = 8
    maxmem: int = 32 * GIB
    rootfs_total: int = 100 * GIB
    booted_at: float = 0.0
    cpu_model: str = "Intel(R) Xeon(R) CPU E3-1270 v6 @ 3.80GHz"


@dataclass
class GuestStats:
    cpu: float
    mem: int
    disk: int
    uptime: int
    netin: int
    netout: int
    diskread: int
    diskwrite: int


@dataclass
class Container:
    vmid: int
    node: str
    status: Status
    world: ContainerWorld
    config: dict[str, object]
    ostemplate: str
    snapshots: list[Snapshot] = field(default_factory=list)
    started_at: float = 0.0
    real: bool = False  # a real LXC container follows this one (--containers-backend real)
    real_stats: dict[str, int] = field(default_factory=dict)  # mem/uptime as LXC tells
    created_at: float = 0.0  # simulator time of an API create (0: seeded, long ago)

    @property
    def name(self) -> str:
        return str(self.config.get("hostname", f"CT{self.vmid}"))

    @property
    def lock(self) -> str | None:
        value = self.config.get("lock")
        return str(value) if value else None

    @property
    def maxmem(self) -> int:
        return int(str(self.config.get("memory", 512))) * MIB

    @property
    def maxswap(self) -> int:
        return int(str(self.config.get("swap", 512))) * MIB

    @property
    def cpus(self) -> int:
        return int(str(self.config.get("cores", 1)))

    @property
    def maxdisk(self) -> int:
        return disk_size_bytes(str(self.config.get("rootfs", "")))

    def stats(self, now: float) -> GuestStats:
        stats = guest_stats(
            self.vmid, self.status == "running", self.started_at, now, self.maxmem, self.maxdisk
        )
        if self.real_stats:
            stats.mem = self.real_stats.get("mem", stats.mem)
            stats.uptime = self.real_stats.get("uptime", stats.uptime)
        return stats


@dataclass
class Vm:
    vmid: int
    node: str
    name: str
    status: Status
    cores: int = 2
    memory_mib: int = 4096
    disk_gib: int = 32
    started_at: float = 0.0

    def stats(self, now: float) -> GuestStats:
        return guest_stats(
            self.vmid,
            self.status == "running",
            self.started_at,
            now,
            self.memory_mib * MIB,
            self.disk_gib * GIB,
        )


@dataclass
class Task:
    upid: str
    node: str
    pid: int
    pstart: int
    starttime: int
    type: str
    id: str
    user: str
    due: float  # simulator-clock time at which the task ends (`advance` gets there sooner)
    action: Callable[[], None] | None
    failure: str | None  # decided at start from the faults; None = run the action
    on_error: Callable[[], None] | None = None  # clean-up when the task fails
    real_due: float = 0.0  # time.monotonic() at which it ends whatever the clock offset does
    log: list[str] = field(default_factory=list)
    status: Literal["running", "stopped"] = "running"
    exitstatus: str | None = None
    endtime: int | None = None


def make_upid(
    node: str, pid: int, pstart: int, starttime: int, task_type: str, task_id: str, user: str
) -> str:
    """A UPID exactly as PVE formats it: hex PID, PSTART and STARTTIME."""
    return f"UPID:{node}:{pid:08X}:{pstart:08X}:{starttime:08X}:{task_type}:{task_id}:{user}:"


def parse_upid(upid: str) -> dict[str, object] | None:
    parts = upid.split(":")
    if len(parts) != 9 or parts[0] != "UPID" or parts[8] != "":
        return None
    try:
        pid, pstart, starttime = (int(p, 16) for p in parts[2:5])
    except ValueError:
        return None
    return {
        "node": parts[1],
        "pid": pid,
        "pstart": pstart,
        "starttime": starttime,
        "type": parts[5],
        "id": parts[6],
        "user": parts[7],
    }


def disk_size_bytes(volume_spec: str) -> int:
    """`local-lvm:vm-100-disk-0,size=8G` -> bytes (0 when no size is given)."""
    for part in volume_spec.split(","):
        if part.startswith("size="):
            return parse_disk_size(part[5:])
    return 0


def parse_disk_size(text: str) -> int:
    units = {"K": 1024, "M": MIB, "G": GIB, "T": 1024 * GIB}
    if text and text[-1].upper() in units:
        return int(float(text[:-1]) * units[text[-1].upper()])
    return int(float(text)) if text else 0


def noise(a: int, b: int, salt: int) -> float:
    """Cheap deterministic noise in [0, 1) for (a, b, salt)."""
    x = (a * 2654435761 + b * 40503 + salt * 2246822519) & 0xFFFFFFFF
    x ^= x >> 13
    x = (x * 0x5BD1E995) & 0xFFFFFFFF
    x ^= x >> 15
    return x / 4294967296.0


def guest_stats(
    vmid: int, running: bool, started_at: float, now: float, maxmem: int, maxdisk: int
) -> GuestStats:
    """Plausible usage numbers that move every second while the guest runs."""
    base = noise(vmid, 0, 1)
    disk = int(maxdisk * (0.1 + 0.5 * base))
    if not running:  # pve-container src/PVE/LXC.pm vmstatus: no pid -> `disk` 0
        return GuestStats(0.0, 0, 0, 0, 0, 0, 0, 0)
    second = int(now)
    uptime = max(0, int(now - started_at))
    cpu = round(0.002 + 0.15 * base * base + 0.04 * noise(vmid, second, 2), 6)
    mem = int(maxmem * (0.08 + 0.35 * base + 0.03 * noise(vmid, second, 3)))
    rate = 2000 + int(50_000 * base)
    return GuestStats(
        cpu,
        mem,
        disk,
        uptime,
        uptime * rate,
        uptime * rate // 3,
        uptime * rate // 2,
        uptime * rate // 5,
    )


def host_world(node_name: str) -> HostWorld:
    from .shell.world import HostWorld

    return HostWorld(node_name)


def container_world(
    hostname: str, ostemplate: str, rng: random.Random, net0: str | None
) -> ContainerWorld:
    from .shell.world import ContainerWorld

    return ContainerWorld.seeded(hostname=hostname, ostemplate=ostemplate, rng=rng, net0=net0)


def config_digest(config: dict[str, object]) -> str:
    text = "\n".join(f"{k}: {v}" for k, v in sorted(config.items()) if k != "digest")
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


class Cluster:
    """One endpoint: a Proxmox VE cluster (or a standalone node when it has one node)."""

    def __init__(
        self, *, index: int, name: str, seed: int, task_seconds: float, default_faults: Faults
    ) -> None:
        self.index = index
        self.name = name
        self.seed = seed
        self.task_seconds = task_seconds
        self.default_faults = default_faults
        self.faults = default_faults.copy()
        self.clock = Clock()
        self.pve: PveVersion = NEWEST  # --pve-version: what this endpoint plays (versions.py)
        self.rng = random.Random(f"{seed}:{index}:runtime")
        self.nodes: dict[str, PveNode] = {}
        self.containers: dict[int, Container] = {}
        self.vms: dict[int, Vm] = {}
        self.storages: list[Storage] = []
        self.templates: list[Template] = []
        self.users: dict[str, User] = {}
        self.tokens: dict[str, ApiToken] = {}
        self.acl: list[AclEntry] = []
        self.vnets: dict[str, Vnet] = {}  # SDN vnets (zone `localnetwork` = plain bridges)
        self.tasks: dict[str, Task] = {}
        self.ha_resources: dict[str, HaResource] = {}  # "ct:100" -> resource (ha.py)
        self.backups: list[BackupVolume] = []  # vzdump archives on backup storages (backups.py)
        self.backup_jobs: list[BackupJob] = []  # /cluster/backup
        self.generation = 0  # bumped on every change; response caches key on it
        self.secret = hashlib.sha256(f"{seed}:{index}:{os.urandom(16).hex()}".encode()).digest()
        self.host = "127.0.0.1"
        self.api_port: int | None = None
        self.ssh_port: int | None = None
        self.tls_sha256 = ""
        self.ssh_host_key = ""
        # set by the server: schedule(delay_seconds, callback) to wake up when a task is due
        self.schedule: Callable[[float, Callable[[], None]], object] | None = None
        self._next_pid = 0x1000 + index * 0x100
        self._running: list[Task] = []  # tasks not yet finished, in start order
        self.real: RealHooks | None = None  # --containers-backend real

    # -- lookups ---------------------------------------------------------------------------
    @property
    def standalone(self) -> bool:
        return len(self.nodes) == 1

    @property
    def first_node(self) -> PveNode:
        return next(iter(self.nodes.values()))

    def find_container(self, vmid: int) -> Container | None:
        return self.containers.get(vmid)

    def containers_on(self, node: str) -> list[Container]:
        return [ct for ct in self.containers.values() if ct.node == node]

    def vms_on(self, node: str) -> list[Vm]:
        return [vm for vm in self.vms.values() if vm.node == node]

    def guest_node(self, vmid: int) -> str | None:
        guest = self.containers.get(vmid) or self.vms.get(vmid)
        return guest.node if guest else None

    def taken_vmids(self) -> set[int]:
        return set(self.containers) | set(self.vms)

    def next_free_vmid(self) -> int:
        taken = self.taken_vmids()
        vmid = MIN_VMID
        while vmid in taken:
            vmid += 1
        return vmid

    def quorate(self) -> bool:
        online = sum(1 for n in self.nodes.values() if n.online)
        return online * 2 > len(self.nodes)

    # -- changes ---------------------------------------------------------------------------
    def changed(self) -> None:
        """Call after any change of cluster state (invalidates cached responses)."""
        self.generation += 1

    def set_node_online(self, node: str, online: bool, unreachable_as: str = "no-route") -> None:
        pve_node = self.nodes[node]
        if pve_node.online and not online:
            pve_node.offline_since = self.clock.now()
            pve_node.last_seen = {
                g.vmid: (g.status, g.stats(pve_node.offline_since))
                for g in [*self.containers_on(node), *self.vms_on(node)]
            }
        pve_node.online, pve_node.unreachable_as = online, unreachable_as
        if online:
            pve_node.offline_since = None
        self.changed()

    def set_node_hanging(self, node: str, hanging: bool) -> None:
        self.nodes[node].hanging = hanging
        self.changed()

    def start_container(self, ct: Container) -> None:
        if ct.status == "running":
            raise PveError(500, f"CT {ct.vmid} already running")
        ct.status = "running"
        ct.started_at = self.clock.now()
        ct.world.on_start()
        if ct.real and self.real is not None:
            self.real.started(ct)
        self.changed()

    def stop_container(self, ct: Container) -> None:
        if ct.status != "running":
            raise PveError(500, f"CT {ct.vmid} not running")
        ct.status = "stopped"
        ct.started_at = 0.0
        ct.world.on_stop()
        if ct.real and self.real is not None:
            self.real.stopped(ct)
        self.changed()

    def remove_container(self, ct: Container) -> None:
        if ct.status == "running":
            self.stop_container(ct)
        self.containers.pop(ct.vmid, None)
        if ct.real and self.real is not None:
            self.real.removed(ct)
        self.changed()

    def add_container(
        self,
        *,
        vmid: int,
        node: str,
        config: dict[str, object],
        ostemplate: str,
        status: Status = "stopped",
        created_at: float = 0.0,
    ) -> Container:
        if self.guest_node(vmid) is not None:
            raise PveError(500, f"CT {vmid} already exists on node '{self.guest_node(vmid)}'")
        rng = random.Random(f"{self.seed}:{self.index}:{vmid}:world")
        world = container_world(
            str(config.get("hostname", f"CT{vmid}")),
            ostemplate,
            rng,
            _str_or_none(config.get("net0")),
        )
        config["digest"] = config_digest(config)
        ct = Container(
            vmid=vmid,
            node=node,
            status="stopped",
            world=world,
            config=config,
            ostemplate=ostemplate,
            created_at=created_at,
        )
        self.containers[vmid] = ct
        if status == "running":
            self.start_container(ct)
        self.changed()
        return ct

    def update_config(self, ct: Container, changes: dict[str, object], delete: list[str]) -> None:
        for key in delete:
            ct.config.pop(key, None)
        ct.config.update(changes)
        ct.config["digest"] = config_digest(ct.config)
        self.changed()

    # -- tasks -----------------------------------------------------------------------------
    def start_task(
        self,
        *,
        node: str,
        task_type: str,
        task_id: str,
        user: str,
        action: Callable[[], None] | None,
        log: list[str] | None = None,
        on_error: Callable[[], None] | None = None,
        seconds: float | None = None,
    ) -> Task:
        """Start a task that runs `action` when it ends (after `--task-seconds`)."""
        now = self.clock.now()
        self._next_pid += 1 + self.rng.randrange(40)
        pstart = int((now - self.nodes[node].booted_at) * 100) & 0xFFFFFFFF
        upid = make_upid(node, self._next_pid, pstart, int(now), task_type, task_id, user)
        failure = None
        if self.faults.fail_tasks > 0:
            self.faults.fail_tasks -= 1
            failure = self.faults.fail_message
        duration = self.task_seconds if seconds is None else seconds
        task = Task(
            upid=upid,
            node=node,
            pid=self._next_pid,
            pstart=pstart,
            starttime=int(now),
            type=task_type,
            id=task_id,
            user=user,
            due=now + duration,
            real_due=time.monotonic() + duration,
            action=action,
            failure=failure,
            on_error=on_error,
            log=list(log or []),
        )
        self.tasks[upid] = task
        self._running.append(task)
        if duration <= 0:
            self.settle()
        elif self.schedule is not None:
            self.schedule(duration, self.settle)
        self.changed()
        return task

    def settle(self) -> None:
        """Finish every task whose time has come, in start order."""
        now = self.clock.now()
        if not self._running:
            return
        real_now = time.monotonic()
        due = [t for t in self._running if t.due <= now or t.real_due <= real_now]
        if not due:
            return
        self._running = [t for t in self._running if t not in due]
        for task in due:
            self._finish(task)

    def end_task(self, task: Task, error: str | None = None) -> None:
        """End a task that lasts as long as something else does (a console) now."""
        if task not in self._running:
            return
        self._running.remove(task)
        task.due = min(task.due, self.clock.now())
        self._close_task(task, error)

    def replace_tasks(self, tasks: dict[str, Task]) -> None:
        """Swap the task list (state file, reseed); running ones keep running."""
        self.tasks = tasks
        self._running = [t for t in tasks.values() if t.status == "running"]

    def _finish(self, task: Task) -> None:
        error = task.failure
        if error is None and task.action is not None:
            try:
                task.action()
            except PveError as exc:
                error = exc.message
        if error is not None and task.on_error is not None:
            task.on_error()
        pending = self.real.pending(task.id) if self.real is not None else None
        if pending is not None:  # a real container is still changing: the task waits for it
            real = self.real
            pending.add_done_callback(
                lambda _: self._close_task(task, error or real.errors.get(int(task.id)))
            )
            return
        self._close_task(task, error)

    def _close_task(self, task: Task, error: str | None) -> None:
        if task.failure is not None:
            task.log.clear()  # the `fail_tasks` fault: the worker died before printing anything
        task.status = "stopped"
        task.endtime = max(task.starttime, int(min(task.due, self.clock.now())))
        task.exitstatus = "OK" if error is None else error
        task.log.append("TASK OK" if error is None else f"TASK ERROR: {error}")
        self.changed()

    def iter_tasks_newest_first(self) -> Iterator[Task]:
        return reversed(list(self.tasks.values()))

    # -- faults / clock --------------------------------------------------------------------
    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.settle()
        self.changed()

    def reset_faults(self) -> None:
        self.faults = self.default_faults.copy()
        self.clock.offset = 0.0
        for node in self.nodes.values():
            node.online, node.hanging, node.offline_since = True, False, None
            node.unreachable_as = "no-route"
        self.changed()


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)


class Simulation:
    """Every endpoint (cluster) served by one simulator process."""

    def __init__(self, clusters: list[Cluster]) -> None:
        self.clusters = clusters
        self.ssh_authorized_keys: str | None = None  # text of --ssh-authorized-key PATH
