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

This module holds the overview, metrics and history and re-exports the rest from beside
it: `detail_access` (reaching the container), `detail_snapshots`, `detail_services` and
`detail_logs`.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from dataclasses import dataclass
from typing import Any

from lxc_manager.nodes import get_node_sync
from lxc_manager.proxmox import ProxmoxError
from lxc_manager.proxmox.models import LxcConfig
from lxc_manager.ssh import SshPool

from . import known
from .detail_access import (
    DetailUnavailable,
    _api_ip,
    _check,
    _client,
    _has_ssh,
    _node_target,
    _ssh_ip,
)
from .detail_logs import follow_log, tail_log
from .detail_parsing import Service
from .detail_services import (
    CREDENTIALS_DIR,
    SERVICES_CACHE_SECONDS,
    Services,
    audit_reveal,
    get_services,
)
from .detail_snapshots import (
    Snapshot,
    create_snapshot,
    delete_snapshot,
    list_snapshots,
    rollback_snapshot,
    snapshot_name_error,
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


TIMEFRAMES = ("hour", "day", "week", "month", "year")


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
    template: bool = False  # a Proxmox template (template=1): cloned, never started


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


# -- helpers --------------------------------------------------------------------------------


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
        template=bool(config.template or status.template),
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
