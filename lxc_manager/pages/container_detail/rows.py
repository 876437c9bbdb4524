"""What the detail page shows of a container, built from the detail service's data.

Plain models and functions (no Reflex): the page State calls them, tests import them.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from pydantic import BaseModel

from lxc_manager.containers.detail import HistoryPoint, Metrics, Overview, Service, Snapshot
from lxc_manager.pages.components.format import (
    NONE,
    byte_rate,
    human_uptime,
    memory_percent,
    memory_text,
    one_decimal,
)
from lxc_manager.pages.components.rows import row_of
from lxc_manager.provisioning.timeline import TimelineEvent

TIMEFRAMES = ("hour", "day", "week")
_TIME_FORMATS = {"hour": "%H:%M", "day": "%a %H:%M", "week": "%d %b"}

# (when, netin, netout, diskread, diskwrite): the counters of the last metrics reading.
Counters = tuple[float, int, int, int, int]
ChartPoint = dict[str, str | float | None]


class Fact(BaseModel):
    label: str
    value: str


class MetricsView(BaseModel):
    cpu: str = NONE
    memory: str = NONE
    mem_pct: int = 0
    net: str = NONE
    disk_io: str = NONE
    uptime: str = NONE


class CredentialRow(BaseModel):
    ref: str  # "unit|KEY": what the reveal/copy events name; never the value
    key: str


class ServiceRow(BaseModel):
    unit: str
    description: str
    active: str
    kind: str
    ports: str
    urls: list[str]
    credentials: list[CredentialRow]


class EventRow(BaseModel):
    at: str
    action: str
    target: str
    outcome: str
    detail: str


class SnapshotRow(BaseModel):
    name: str
    description: str
    created: str


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def facts(o: Overview, node_name: str) -> list[Fact]:
    pairs = (
        ("VMID", str(o.vmid)),
        ("Node", f"{o.pve_node} (via {node_name})"),
        ("OS", o.os or NONE),
        ("IP address", o.ip or "unknown"),
        ("Cores", str(o.cores)),
        ("Memory", f"{o.memory_mb} MiB"),
        ("Swap", f"{o.swap_mb} MiB"),
        ("Root disk", o.rootfs or NONE),
        ("Network", "; ".join(o.networks) or NONE),
        ("Features", o.features or NONE),
        ("Tags", ", ".join(o.tags) or NONE),
        ("Start at boot", _yes(o.onboot)),
        ("Unprivileged", _yes(o.unprivileged)),
    )
    return [Fact(label=label, value=value) for label, value in pairs]


def metrics_view(m: Metrics, previous: Counters, now: float) -> tuple[MetricsView, Counters]:
    """The metrics as shown, with rates since the `previous` reading (none on the first),
    and the counters to keep for the next one."""
    then, netin, netout, dread, dwrite = previous
    elapsed = now - then if then else 0.0
    running = m.status == "running"
    view = MetricsView(
        cpu=f"{m.cpu_pct:.1f}%" if running else NONE,
        memory=memory_text(m.mem, m.maxmem),
        mem_pct=memory_percent(m.mem, m.maxmem),
        net=f"in {byte_rate(m.netin, netin, elapsed)} · out {byte_rate(m.netout, netout, elapsed)}",
        disk_io=f"read {byte_rate(m.diskread, dread, elapsed)} · "
        f"write {byte_rate(m.diskwrite, dwrite, elapsed)}",
        uptime=human_uptime(m.uptime) if running else NONE,
    )
    return view, (now, m.netin, m.netout, m.diskread, m.diskwrite)


def chart_points(points: Iterable[HistoryPoint], timeframe: str) -> list[ChartPoint]:
    """Chart rows: a time label, cpu, memory, netin, netout; None = no sample (a gap)."""
    fmt = _TIME_FORMATS.get(timeframe, _TIME_FORMATS["week"])
    return [
        {
            "label": time.strftime(fmt, time.localtime(p.time)),
            "cpu": one_decimal(p.cpu_pct),
            "memory": one_decimal(p.mem_mb),
            "netin": one_decimal(p.netin_kbs),
            "netout": one_decimal(p.netout_kbs),
        }
        for p in points
    ]


def snapshot_rows(snapshots: Iterable[Snapshot]) -> list[SnapshotRow]:
    return [
        row_of(SnapshotRow, s, created=_minute(s.created) if s.created else NONE) for s in snapshots
    ]


def _minute(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(at))


def service_rows(services: Iterable[Service]) -> list[ServiceRow]:
    """The services found; credentials by reference only (their values stay server-side)."""
    return [
        row_of(
            ServiceRow,
            svc,
            active=svc.active if svc.active == "active" else svc.active or "stopped",
            ports=", ".join(str(p) for p in svc.ports) or NONE,
            urls=list(svc.urls),
            credentials=[
                CredentialRow(ref=credential_ref(svc.unit, key), key=key)
                for key, _ in svc.credentials
            ],
        )
        for svc in services
    ]


def credential_ref(unit: str, key: str) -> str:
    return f"{unit}|{key}"


def parse_credential_ref(ref: str) -> tuple[str, str]:
    """(unit, key) of a reference the browser sent back."""
    unit, _, key = ref.partition("|")
    return unit, key


def event_rows(timeline: Iterable[TimelineEvent]) -> list[EventRow]:
    return [
        row_of(EventRow, event, at=event.at.astimezone().strftime("%Y-%m-%d %H:%M:%S"))
        for event in timeline
    ]
