"""The container detail page's service: overview, metrics, history, snapshots, services and
logs of one container (plain async Python, no Reflex).

Everything goes through the user's own node: `client_for` / `ssh_target_for` / `get_node`
raise `NodeNotFound` for another user's node, and it propagates (the page shows "not
found"). Bad input (vmid, PVE node name, timeframe, unit name) raises `ValueError` with a
message for the user; Proxmox failures raise the client's `ProxmoxError`s (turn them into
text with `lifecycle.short_message`), except the snapshot actions, which answer an
`ActionResult` like the lifecycle actions (same per-container lock, audited). Commands run
in the container are argv lists (`pct exec VMID -- ...`) whose output is parsed in Python
(`detail_parsing`); when they cannot run (no SSH credentials on the node, container
stopped, the command failed) `get_services` answers `available=False` with a reason and
the log functions raise `DetailUnavailable` with a `user_message`.

    overview = await get_overview(user_id, node_id, "pve1", 105)
    services = await get_services(user_id, node_id, "pve1", 105)
    async for line in follow_log(user_id, node_id, "pve1", 105, "nginx.service"):
        ...                       # aclose() / cancelling the task stops `journalctl -f`
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import redis.exceptions

from lxc_manager import redis_client
from lxc_manager.nodes import (
    MemberKeyChanged,
    MemberNotFound,
    MemberUnreachable,
    NodeNotFound,
    client_for,
    get_node_sync,
    ssh_target_for,
    ssh_target_on,
)
from lxc_manager.nodes.secrets import keyring
from lxc_manager.proxmox import ProxmoxClient, ProxmoxError, TaskFailed
from lxc_manager.proxmox.errors import MSG_UNEXPECTED
from lxc_manager.proxmox.models import LxcConfig
from lxc_manager.security import audit
from lxc_manager.security.crypto import DecryptionError, Keyring
from lxc_manager.settings import get_settings
from lxc_manager.ssh import ExecResult, SshError, SshOutputTooLarge, SshPool, SshTarget

from . import known
from .detail_parsing import (
    Service,
    assemble_services,
    credential_name,
    first_ipv4_from_ip_json,
    ipv4_from_interfaces,
    parse_credentials,
    parse_list_units,
    parse_ps_parents,
    parse_show_main_pids,
    parse_ss_listeners,
    service_from_dict,
    service_to_dict,
    valid_unit,
)
from .lifecycle import (
    MSG_BUSY,
    MSG_LOCK_UNAVAILABLE,
    MSG_NODE_NOT_FOUND,
    ActionResult,
    _audit,
    _container_lock,
    _resolve,
    _run_task,
    _Target,
    lock_key,
    short_message,
    validation_error,
)

__all__ = [
    "CREDENTIALS_DIR",
    "SERVICES_CACHE_SECONDS",
    "TIMEFRAMES",
    "DetailUnavailable",
    "HistoryPoint",
    "Metrics",
    "Overview",
    "Service",
    "Services",
    "Snapshot",
    "audit_reveal",
    "create_snapshot",
    "delete_snapshot",
    "follow_log",
    "get_history",
    "get_metrics",
    "get_overview",
    "get_services",
    "list_snapshots",
    "rollback_snapshot",
    "snapshot_name_error",
    "tail_log",
]

log = logging.getLogger(__name__)

TIMEFRAMES = ("hour", "day", "week", "month", "year")
CREDENTIALS_DIR = "/etc/lxc-manager/credentials"
SERVICES_CACHE_SECONDS = 30
MAX_LOG_LINES = 5000
LISTING_BYTES = 1024 * 1024  # `ls -1` of the credentials directory
COMMAND_TIMEOUT = 20.0

MSG_NO_SSH = "SSH is not configured for this node: add SSH credentials in the node settings"
MSG_STOPPED = "The container is not running"
MSG_SERVICES_FAILED = "Could not list the services in the container"
MSG_LOG_FAILED = "Could not read the log in the container"
MSG_SSH_FAILED = "Could not reach the node over SSH"

# Proxmox's pve-configid (`^[a-z][a-z0-9_]+$`, case-insensitive), at most 40 characters.
_SNAPNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{1,39}$")
_CRED_FILE = re.compile(r"^[A-Za-z0-9@_:-][A-Za-z0-9@._:-]{0,127}$")
_SNAPSHOT_ERRORS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"snapshot .*does not exist", re.I), "The snapshot does not exist"),
    (re.compile(r"already used|already exists", re.I), "A snapshot with this name exists"),
    (re.compile(r"is reserved", re.I), "This snapshot name is reserved"),
)
SYSTEMCTL_UNITS = [
    "systemctl",
    "list-units",
    "--type=service",
    "--state=running",
    "--output=json",
    "--no-pager",
]


class DetailUnavailable(Exception):
    """A command in the container could not run; `user_message` says why (no details)."""

    def __init__(self, user_message: str, detail: str = "") -> None:
        super().__init__(detail or user_message)
        self.user_message = user_message


# -- data -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Overview:
    vmid: int
    name: str
    status: str
    pve_node: str
    node_name: str
    os: str
    cores: int
    memory_mb: int
    swap_mb: int
    rootfs: str
    networks: tuple[str, ...]
    features: str
    tags: tuple[str, ...]
    onboot: bool
    unprivileged: bool
    ip: str | None
    uptime: int
    ha_managed: bool = False  # an HA resource: HA starts/stops it, delete purges it


@dataclass(frozen=True)
class Metrics:
    cpu_pct: float
    mem: int
    maxmem: int
    netin: int
    netout: int
    diskread: int
    diskwrite: int
    uptime: int
    status: str


@dataclass(frozen=True)
class HistoryPoint:
    """One RRD sample; None where Proxmox has no value (a gap: the container did not exist
    yet or its node was down), which a chart shows as a gap, never as zero."""

    time: int
    cpu_pct: float | None
    mem_mb: float | None
    netin_kbs: float | None
    netout_kbs: float | None


@dataclass(frozen=True)
class Snapshot:
    name: str
    description: str
    created: int | None
    parent: str | None


@dataclass(frozen=True)
class Services:
    available: bool
    reason: str
    services: tuple[Service, ...]


# -- helpers --------------------------------------------------------------------------------


def _check(pve_node: str, vmid: int) -> None:
    problem = validation_error(pve_node, vmid)
    if problem is not None:
        raise ValueError(problem)


def _check_unit(unit: str) -> None:
    if not valid_unit(unit):
        raise ValueError("Invalid service name")


def snapshot_name_error(name: str) -> str | None:
    """What is wrong with a snapshot name (Proxmox's rule), or None."""
    if not isinstance(name, str) or _SNAPNAME.fullmatch(name) is None:
        return "A snapshot name starts with a letter and has 2 to 40 letters, digits or '_'"
    if name == "current":
        return "This snapshot name is reserved"
    return None


async def _client(user_id: str, node_id: int) -> ProxmoxClient:
    return await asyncio.to_thread(client_for, user_id, node_id)


async def _has_ssh(user_id: str, node_id: int) -> bool:
    return await asyncio.to_thread(ssh_target_for, user_id, node_id) is not None


_MEMBER_ERRORS = (MemberKeyChanged, MemberNotFound, MemberUnreachable)


async def _node_target(
    user_id: str, node_id: int, pve_node: str, client: ProxmoxClient | None = None
) -> SshTarget:
    """The SSH target that runs `pct` on `pve_node` (the member itself, see
    `nodes.members`). Raises DetailUnavailable (no SSH, member unreachable or its host key
    changed: the message says which) or NodeNotFound."""
    try:
        if client is None:
            async with await _client(user_id, node_id) as own:
                target = await ssh_target_on(user_id, node_id, pve_node, own)
        else:
            target = await ssh_target_on(user_id, node_id, pve_node, client)
    except _MEMBER_ERRORS as exc:
        raise DetailUnavailable(exc.user_message, str(exc)) from exc
    except SshError as exc:
        raise DetailUnavailable(MSG_SSH_FAILED, str(exc)) from exc
    if target is None:
        raise DetailUnavailable(MSG_NO_SSH)
    return target


@asynccontextmanager
async def _pool_scope(pool: SshPool | None) -> AsyncIterator[SshPool]:
    """The caller's pool, or a pool of our own closed at the end (its connections too)."""
    if pool is not None:
        yield pool
        return
    async with SshPool(command_timeout=COMMAND_TIMEOUT) as own:
        yield own


def _mb(value: int | None) -> int:
    return int(value or 0)


def _network_line(values: dict[str, str]) -> str:
    name = values.get("name", "?")
    parts = [f"bridge {values['bridge']}"] if values.get("bridge") else []
    parts += [
        f"{key}={values[key]}" for key in ("ip", "gw", "ip6", "gw6", "tag") if values.get(key)
    ]
    return f"{name}: {', '.join(parts)}" if parts else name


def _networks(config: LxcConfig) -> tuple[str, ...]:
    return tuple(_network_line(values) for values in config.networks.values())


async def _api_ip(client: ProxmoxClient, pve_node: str, vmid: int) -> str | None:
    try:
        return ipv4_from_interfaces(await client.lxc_interfaces(pve_node, vmid))
    except ProxmoxError as exc:
        log.info("interfaces of CT %s not available: %r", vmid, exc)
        return None


async def _ssh_ip(target: SshTarget, vmid: int, pool: SshPool | None) -> str | None:
    try:
        async with _pool_scope(pool) as ssh:
            result = await ssh.pct_exec(target, vmid, ["ip", "-j", "addr"], timeout=10)
    except SshError as exc:
        log.info("ip -j addr in CT %s failed: %r", vmid, exc)
        return None
    return first_ipv4_from_ip_json(result.stdout) if result.ok else None


def _float(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return number if number == number else 0.0  # NaN -> 0


# -- overview, metrics, history -------------------------------------------------------------


async def get_overview(
    user_id: str, node_id: int, pve_node: str, vmid: int, *, pool: SshPool | None = None
) -> Overview:
    """Configuration and state of the container, with its IPv4 address: from Proxmox's
    /interfaces, else `ip -j addr` in the container when SSH is configured, else None."""
    _check(pve_node, vmid)
    node = await asyncio.to_thread(get_node_sync, user_id, node_id)
    client = await _client(user_id, node_id)
    async with client:
        status, config = await asyncio.gather(
            client.lxc_status(pve_node, vmid), client.lxc_config(pve_node, vmid)
        )
        ip = await _api_ip(client, pve_node, vmid) if status.running else None
        target = None
        if ip is None and status.running and await _has_ssh(user_id, node_id):
            with contextlib.suppress(DetailUnavailable):
                target = await _node_target(user_id, node_id, pve_node, client)
    if target is not None:
        ip = await _ssh_ip(target, vmid, pool)
    if ip is not None:  # the dashboard shows it too
        await known.remember_ip(user_id, known.cluster_key_of(node), vmid, ip)
    return Overview(
        vmid=vmid,
        name=config.hostname or status.name or f"CT {vmid}",
        status=status.status,
        pve_node=pve_node,
        node_name=node.name,
        os=config.ostype or "",
        cores=int(config.cores or 0),
        memory_mb=_mb(config.memory),
        swap_mb=_mb(config.swap),
        rootfs=config.rootfs or "",
        networks=_networks(config),
        features=config.features or "",
        tags=tuple(config.tag_list),
        onboot=bool(config.onboot),
        unprivileged=bool(config.unprivileged),
        ip=ip,
        uptime=int(status.uptime or 0),
        ha_managed=status.ha_managed,
    )


async def get_metrics(user_id: str, node_id: int, pve_node: str, vmid: int) -> Metrics:
    """The current numbers (`status/current`); counters are bytes since start."""
    _check(pve_node, vmid)
    client = await _client(user_id, node_id)
    async with client:
        status = await client.lxc_status(pve_node, vmid)
    return Metrics(
        cpu_pct=round(_float(status.cpu) * 100, 2),
        mem=int(status.mem or 0),
        maxmem=int(status.maxmem or 0),
        netin=int(status.netin or 0),
        netout=int(status.netout or 0),
        diskread=int(status.diskread or 0),
        diskwrite=int(status.diskwrite or 0),
        uptime=int(status.uptime or 0),
        status=status.status,
    )


def history_point(entry: dict[str, Any]) -> HistoryPoint | None:
    when = entry.get("time")
    if not isinstance(when, int | float) or isinstance(when, bool):
        return None

    def scaled(key: str, factor: float, digits: int) -> float | None:
        value = entry.get(key)
        if value is None or isinstance(value, bool):
            return None
        return round(_float(value) * factor, digits)

    return HistoryPoint(
        time=int(when),
        cpu_pct=scaled("cpu", 100, 3),
        mem_mb=scaled("mem", 1 / 1024 / 1024, 2),
        netin_kbs=scaled("netin", 1 / 1024, 3),
        netout_kbs=scaled("netout", 1 / 1024, 3),
    )


# pve-cluster src/PVE/RRD.pm: `die "RRD error: $err"` (500) while the guest's RRD file does
# not exist yet, i.e. until pvestatd has written its first sample after the create.
_NO_RRD_YET = re.compile(r"^RRD error: .*No such file or directory", re.IGNORECASE)


def no_history_yet(error: ProxmoxError) -> bool:
    return error.status == 500 and bool(_NO_RRD_YET.search(error.detail))


async def get_history(
    user_id: str, node_id: int, pve_node: str, vmid: int, timeframe: str = "hour"
) -> list[HistoryPoint]:
    """RRD averages over `timeframe` (hour | day | week | month | year), oldest first."""
    _check(pve_node, vmid)
    if timeframe not in TIMEFRAMES:
        raise ValueError(f"Unknown timeframe (use one of: {', '.join(TIMEFRAMES)})")
    client = await _client(user_id, node_id)
    async with client:
        try:
            data = await client.lxc_rrddata(pve_node, vmid, timeframe)
        except ProxmoxError as exc:
            if no_history_yet(exc):
                return []  # a container created moments ago: no data yet, not an error
            raise
    points = [
        point
        for entry in data
        if isinstance(entry, dict) and (point := history_point(entry)) is not None
    ]
    return sorted(points, key=lambda p: p.time)


# -- snapshots ------------------------------------------------------------------------------


async def list_snapshots(user_id: str, node_id: int, pve_node: str, vmid: int) -> list[Snapshot]:
    """The container's snapshots, oldest first (Proxmox's order within a second), without
    Proxmox's "current" entry."""
    _check(pve_node, vmid)
    client = await _client(user_id, node_id)
    async with client:
        data = await client.lxc_snapshots(pve_node, vmid)
    snapshots: list[Snapshot] = []
    for entry in data:
        if not isinstance(entry, dict) or entry.get("name") in (None, "current"):
            continue
        created = entry.get("snaptime")
        parent = entry.get("parent")
        snapshots.append(
            Snapshot(
                name=str(entry["name"]),
                description=str(entry.get("description") or "").strip(),
                created=int(created) if isinstance(created, int | float) else None,
                parent=str(parent) if parent else None,
            )
        )
    return sorted(snapshots, key=lambda s: (s.created is None, s.created or 0))


def _snapshot_message(error: BaseException) -> str:
    text = error.exitstatus if isinstance(error, TaskFailed) else getattr(error, "detail", "")
    for pattern, message in _SNAPSHOT_ERRORS:
        if isinstance(text, str) and pattern.search(text):
            return message
    return short_message(error)


async def _snapshot_action(
    user_id: str,
    node_id: int,
    pve_node: str,
    vmid: int,
    name: str,
    action: str,
    done: str,
    start: Callable[[ProxmoxClient], Awaitable[Any]],
    task_timeout: float,
) -> ActionResult:
    """Validate, resolve the node (NodeNotFound propagates, after an audit), take the
    container's lifecycle lock, run the task to its end, audit the outcome."""
    problem = validation_error(pve_node, vmid) or snapshot_name_error(name)
    if problem is not None:
        return ActionResult(ok=False, message=problem)
    audit_action = f"snapshot.{action}"
    try:
        target: _Target = await asyncio.to_thread(_resolve, user_id, node_id)
    except NodeNotFound:
        where = f"ct:node#{node_id}/{vmid}@{name}"
        await _audit(audit_action, user_id, where, False, MSG_NODE_NOT_FOUND)
        raise
    where = f"ct:{target.node_name}/{vmid}@{name}"
    try:
        async with (
            target.client,
            _container_lock(lock_key(user_id, target.cluster_key, vmid), task_timeout) as taken,
        ):
            if not taken:
                result = ActionResult(ok=False, message=MSG_BUSY)
            else:
                client = target.client
                upid, lines, error = await _run_task(
                    client, pve_node, lambda: start(client), task_timeout
                )
                if error is None:
                    result = ActionResult(True, done, upid or None, lines)
                else:
                    log.info("container.%s %s failed: %r", audit_action, where, error)
                    result = ActionResult(False, _snapshot_message(error), upid or None, lines)
    except redis.exceptions.RedisError:
        log.exception("container.%s on %s: Redis failed", audit_action, where)
        return ActionResult(ok=False, message=MSG_LOCK_UNAVAILABLE)
    except Exception:  # never a stack trace to the browser; the task may have run
        log.exception("container.%s on %s failed unexpectedly", audit_action, where)
        result = ActionResult(ok=False, message=MSG_UNEXPECTED)
    detail = result.message + (f" ({result.upid})" if result.upid else "")
    await _audit(audit_action, user_id, where, result.ok, detail)
    return result


async def create_snapshot(
    user_id: str,
    node_id: int,
    pve_node: str,
    vmid: int,
    name: str,
    description: str = "",
    *,
    task_timeout: float = 300.0,
) -> ActionResult:
    note = description.strip() or None
    return await _snapshot_action(
        user_id,
        node_id,
        pve_node,
        vmid,
        name,
        "create",
        "Snapshot created",
        lambda c: c.lxc_snapshot_create(pve_node, vmid, name, note),
        task_timeout,
    )


async def rollback_snapshot(
    user_id: str, node_id: int, pve_node: str, vmid: int, name: str, *, task_timeout: float = 300.0
) -> ActionResult:
    """Roll back to the snapshot (Proxmox stops a running container for it)."""
    return await _snapshot_action(
        user_id,
        node_id,
        pve_node,
        vmid,
        name,
        "rollback",
        "Rolled back",
        lambda c: c.lxc_snapshot_rollback(pve_node, vmid, name),
        task_timeout,
    )


async def delete_snapshot(
    user_id: str, node_id: int, pve_node: str, vmid: int, name: str, *, task_timeout: float = 300.0
) -> ActionResult:
    return await _snapshot_action(
        user_id,
        node_id,
        pve_node,
        vmid,
        name,
        "delete",
        "Snapshot deleted",
        lambda c: c.lxc_snapshot_delete(pve_node, vmid, name),
        task_timeout,
    )


# -- services -------------------------------------------------------------------------------


def _cache_key(user_id: str, cluster_key: str, vmid: int) -> str:
    """Per user: the cluster key is what the node's server claims, and anyone can run a
    server claiming another user's cluster (it would read, or plant, that user's cached
    services and credentials)."""
    return f"services:{user_id}:{cluster_key}:{vmid}"


def _cred_ad(cache_key: str, unit: str, key: str) -> str:
    return f"{cache_key}|{unit}|{key}"


def _seal_services(services: tuple[Service, ...], cache_key: str, ring: Keyring) -> str:
    rows = []
    for service in services:
        row = service_to_dict(service)
        row["credentials"] = [
            [k, ring.encrypt(v, _cred_ad(cache_key, service.unit, k))]
            for k, v in service.credentials
        ]
        rows.append(row)
    return json.dumps({"services": rows}, separators=(",", ":"))


def _open_services(raw: bytes | str, cache_key: str, ring: Keyring) -> tuple[Service, ...]:
    data = json.loads(raw)
    services = []
    for row in data["services"]:
        unit = str(row["unit"])
        row["credentials"] = [
            [k, ring.decrypt(str(v), _cred_ad(cache_key, unit, str(k)))]
            for k, v in row["credentials"]
        ]
        services.append(service_from_dict(row))
    return tuple(services)


async def _cached(cache_key: str) -> Services | None:
    try:
        raw = await redis_client.async_client().get(cache_key)
        if raw is None:
            return None
        ring = await asyncio.to_thread(keyring)
        return Services(True, "", _open_services(raw, cache_key, ring))
    except (redis.exceptions.RedisError, DecryptionError, ValueError, KeyError, TypeError):
        log.warning("services cache %s unusable", cache_key, exc_info=True)
        return None


async def _store(cache_key: str, services: tuple[Service, ...]) -> None:
    try:
        ring = await asyncio.to_thread(keyring)
        payload = _seal_services(services, cache_key, ring)
        await redis_client.async_client().set(cache_key, payload, ex=SERVICES_CACHE_SECONDS)
    except redis.exceptions.RedisError:
        log.warning("could not cache %s", cache_key, exc_info=True)


async def _read_credentials(
    pool: SshPool, target: SshTarget, vmid: int
) -> dict[str, tuple[tuple[str, str], ...]]:
    """The credentials files of the container: the first LXCM_MAX_CREDENTIAL_FILES by
    name, each read only up to LXCM_MAX_CREDENTIAL_FILE_BYTES (a larger one is skipped):
    what a container holds must not fill the app's memory."""
    settings = get_settings()
    try:
        listing = await pool.pct_exec(
            target, vmid, ["ls", "-1", CREDENTIALS_DIR], timeout=10, max_output=LISTING_BYTES
        )
    except SshOutputTooLarge:
        log.warning("CT %s: the credentials directory lists too much; none read", vmid)
        return {}
    if not listing.ok:
        return {}
    names = sorted(n for n in listing.stdout.split() if _CRED_FILE.fullmatch(n))
    if len(names) > settings.max_credential_files:
        log.warning(
            "CT %s: %d credentials files; only the first %d are read",
            vmid,
            len(names),
            settings.max_credential_files,
        )
        names = names[: settings.max_credential_files]
    texts = await asyncio.gather(
        *(
            _read_credential_file(pool, target, vmid, name, settings.max_credential_file_bytes)
            for name in names
        )
    )
    found: dict[str, tuple[tuple[str, str], ...]] = {}
    for name, text in zip(names, texts, strict=True):
        pairs = parse_credentials(text) if text is not None else ()
        if pairs:
            found.setdefault(credential_name(name), pairs)
    return found


async def _read_credential_file(
    pool: SshPool, target: SshTarget, vmid: int, name: str, cap: int
) -> str | None:
    """The file's text; None when it cannot be read or is larger than `cap` bytes."""
    try:
        result = await pool.pct_exec(
            target, vmid, ["cat", f"{CREDENTIALS_DIR}/{name}"], timeout=10, max_output=cap
        )
    except SshOutputTooLarge:
        log.warning("CT %s: credentials file %s is larger than %d bytes; skipped", vmid, name, cap)
        return None
    return result.stdout if result.ok else None


async def _discover(
    pool: SshPool, target: SshTarget, vmid: int, ip: str | None
) -> tuple[Service, ...] | None:
    """None when systemctl itself fails (e.g. no systemd in the container)."""
    units_result = await pool.pct_exec(target, vmid, SYSTEMCTL_UNITS, timeout=COMMAND_TIMEOUT)
    if not units_result.ok:
        log.info("systemctl in CT %s: %s", vmid, units_result.stderr.strip()[:300])
        return None
    units = parse_list_units(units_result.stdout)
    show_argv = ["systemctl", "show", "-p", "Id", "-p", "MainPID", *(u.unit for u in units)]
    empty = ExecResult(0, "", "")

    async def show() -> ExecResult:
        if not units:
            return empty
        return await pool.pct_exec(target, vmid, show_argv, timeout=COMMAND_TIMEOUT)

    ss_result, ps_result, show_result, credentials = await asyncio.gather(
        pool.pct_exec(target, vmid, ["ss", "-tlnpH"], timeout=COMMAND_TIMEOUT),
        pool.pct_exec(target, vmid, ["ps", "-e", "-o", "pid=,ppid="], timeout=COMMAND_TIMEOUT),
        show(),
        _read_credentials(pool, target, vmid),
    )
    return assemble_services(
        units,
        parse_ss_listeners(ss_result.stdout) if ss_result.ok else [],
        parse_show_main_pids(show_result.stdout) if show_result.ok else {},
        parse_ps_parents(ps_result.stdout) if ps_result.ok else {},
        credentials,
        ip,
    )


async def get_services(
    user_id: str,
    node_id: int,
    pve_node: str,
    vmid: int,
    refresh: bool = False,
    *,
    pool: SshPool | None = None,
) -> Services:
    """Running services of the container with their listening ports, web links and the
    credentials files of /etc/lxc-manager/credentials. Cached for
    `SERVICES_CACHE_SECONDS` (credential values encrypted); `refresh=True` reads afresh."""
    _check(pve_node, vmid)
    node = await asyncio.to_thread(get_node_sync, user_id, node_id)
    if not await _has_ssh(user_id, node_id):
        return Services(False, MSG_NO_SSH, ())
    cache_key = _cache_key(user_id, known.cluster_key_of(node), vmid)
    if not refresh:
        cached = await _cached(cache_key)
        if cached is not None:
            return cached
    client = await _client(user_id, node_id)
    async with client:
        status = await client.lxc_status(pve_node, vmid)
        if not status.running:
            return Services(False, MSG_STOPPED, ())
        ip = await _api_ip(client, pve_node, vmid)
        try:
            target = await _node_target(user_id, node_id, pve_node, client)
        except DetailUnavailable as exc:
            log.warning("services of CT %s: %s", vmid, exc)
            return Services(False, exc.user_message, ())
    try:
        async with _pool_scope(pool) as ssh:
            if ip is None:
                ip = await _ssh_ip(target, vmid, ssh)
            services = await _discover(ssh, target, vmid, ip)
    except SshError as exc:
        log.warning("services of CT %s: %r", vmid, exc)
        return Services(False, MSG_SSH_FAILED, ())
    if ip is not None:
        await known.remember_ip(user_id, known.cluster_key_of(node), vmid, ip)
    if services is None:
        return Services(False, MSG_SERVICES_FAILED, ())
    await _store(cache_key, services)
    return Services(True, "", services)


def audit_reveal(user_id: str, node_id: int, vmid: int, service: str, key: str) -> None:
    """Record that the user revealed a credential (sync: call it in a thread from async
    code). Raises NodeNotFound for another user's node."""
    node = get_node_sync(user_id, node_id)
    audit.record(
        "container.credential.reveal",
        user_id=user_id,
        target=f"ct:{node.name}/{vmid}",
        detail=f"{service[:100]} {key[:100]}",
    )


# -- logs -----------------------------------------------------------------------------------


def _journal_argv(unit: str, lines: int, follow: bool) -> list[str]:
    argv = ["journalctl", "-u", unit, "-n", str(lines), "--no-pager", "--output=short-iso"]
    return [*argv, "-f"] if follow else argv


def _clamp_lines(lines: int) -> int:
    if isinstance(lines, bool) or not isinstance(lines, int):
        raise ValueError("The number of lines must be a number")
    return max(0, min(MAX_LOG_LINES, lines))


def _log_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip() != "-- No entries --"]


async def tail_log(
    user_id: str,
    node_id: int,
    pve_node: str,
    vmid: int,
    unit: str,
    lines: int = 100,
    *,
    pool: SshPool | None = None,
) -> list[str]:
    """The last `lines` journal lines of a unit (`journalctl -u UNIT -n N`), oldest first.
    Raises DetailUnavailable (no SSH, container stopped, command failed)."""
    _check(pve_node, vmid)
    _check_unit(unit)
    count = _clamp_lines(lines)
    target = await _node_target(user_id, node_id, pve_node)
    try:
        async with _pool_scope(pool) as ssh:
            result = await ssh.pct_exec(
                target, vmid, _journal_argv(unit, count, False), timeout=COMMAND_TIMEOUT
            )
    except SshError as exc:
        raise DetailUnavailable(MSG_SSH_FAILED, str(exc)) from exc
    if not result.ok:
        raise DetailUnavailable(MSG_LOG_FAILED, result.stderr.strip()[:300])
    return _log_lines(result.stdout)


def follow_log(
    user_id: str,
    node_id: int,
    pve_node: str,
    vmid: int,
    unit: str,
    *,
    lines: int = 0,
    pool: SshPool | None = None,
) -> AsyncGenerator[str, None]:
    """New journal lines of a unit as they come (`journalctl -f`), after the last `lines`
    old ones. Input is checked here (ValueError); the node is resolved on the first
    iteration (NodeNotFound, DetailUnavailable). `aclose()` or cancelling the consuming
    task closes the SSH channel, which stops the remote command."""
    _check(pve_node, vmid)
    _check_unit(unit)
    count = _clamp_lines(lines)
    return _follow(user_id, node_id, pve_node, vmid, _journal_argv(unit, count, True), pool)


async def _follow(
    user_id: str, node_id: int, pve_node: str, vmid: int, argv: list[str], pool: SshPool | None
) -> AsyncGenerator[str, None]:
    target = await _node_target(user_id, node_id, pve_node)
    errors: list[str] = []
    try:
        async with _pool_scope(pool) as ssh, ssh.pct_exec_stream(target, vmid, argv) as stream:
            async for line in stream:
                if line.stream == "stdout":
                    if line.text.strip() != "-- No entries --":
                        yield line.text
                elif len(errors) < 5:
                    errors.append(line.text)
    except SshError as exc:
        raise DetailUnavailable(MSG_SSH_FAILED, str(exc)) from exc
    if stream.exit_status not in (0, None):
        raise DetailUnavailable(MSG_LOG_FAILED, " ".join(errors)[:300])
