"""What the dashboard shows of a container and of a provisioning job: plain models built
from the services' rows (no Reflex, so tests import them without the page)."""

from __future__ import annotations

import pickle
import zlib
from collections.abc import Mapping

from pydantic import BaseModel

from lxc_manager.backups.selection import no_backup_within
from lxc_manager.containers import ContainerRow
from lxc_manager.containers.view import Keep, ListingView
from lxc_manager.pages.components.backup_age import (
    READING_BACKUPS,
    UNKNOWN_BACKUP,
    BackupCell,
    backup_cell,
)
from lxc_manager.pages.components.format import (
    NONE,
    disk_text,
    human_uptime,
    memory_percent,
    memory_text,
)
from lxc_manager.pages.components.rows import row_of
from lxc_manager.provisioning.jobs import JobView

ACTION_LABELS = {
    "start": "Start",
    "shutdown": "Shut down",
    "stop": "Stop",
    "reboot": "Reboot",
    "delete": "Delete",
}
BULK_ACTIONS = ("start", "shutdown", "stop")


class Row(BaseModel):
    """What the page shows of a container that changes only with the container itself."""

    key: str
    node_id: int
    node_name: str
    pve_node: str
    vmid: int
    name: str
    status: str
    tags: list[str]
    ip: str
    last_known: bool
    ha: bool = False


class Load(BaseModel):
    """The numbers that move at every refresh of a running container: a var of their own,
    so a refresh resends them and not the rows."""

    cpu: str = NONE
    mem: str = NONE
    mem_pct: int = 0
    disk: str = NONE
    uptime: str = NONE


# node id -> (VMID -> newest backup ctime); a node id missing: its backups are unknown
Newest = Mapping[int, Mapping[int, int]]


def to_backup_cell(newest: Newest, ct: ContainerRow, now: float, read: bool = True) -> BackupCell:
    """The row's "last backup" cell; `read=False` while the first read is under way."""
    known = newest.get(ct.node_id)
    if known is None:
        return UNKNOWN_BACKUP if read else READING_BACKUPS
    return backup_cell(known.get(ct.vmid), now)


def backup_keep(newest: Newest, days: int, now: float) -> Keep:
    """The "no backup in `days` days" filter: rows whose backups were read and whose
    newest backup is older than that (or that have none)."""

    def keep(ct: ContainerRow) -> bool:
        known = newest.get(ct.node_id)
        return known is not None and no_backup_within(known.get(ct.vmid), now, days)

    return keep


class Summary(BaseModel):
    total: int = 0
    running: int = 0
    stopped: int = 0
    per_node: list[str] = []


class JobRow(BaseModel):
    """A container this app is creating, or failed to create (a provisioning job)."""

    id: str
    hostname: str
    vmid: int
    node_name: str
    template: str
    status: str
    step: str
    percent: int


def to_row(ct: ContainerRow) -> Row:
    return row_of(Row, ct, name=ct.name or f"CT {ct.vmid}", tags=list(ct.tags))


def to_load(ct: ContainerRow) -> Load:
    running = ct.status == "running"
    return Load(
        cpu=f"{ct.cpu * 100:.0f}%" if running else NONE,
        mem=memory_text(ct.mem, ct.maxmem),
        mem_pct=memory_percent(ct.mem, ct.maxmem),
        disk=disk_text(ct.disk, ct.maxdisk, running),
        uptime=human_uptime(ct.uptime) if running else NONE,
    )


def to_summary(view: ListingView) -> Summary:
    return row_of(Summary, view, per_node=[f"{name}: {count}" for name, count in view.per_node])


def to_job_row(view: JobView) -> JobRow:
    return row_of(
        JobRow,
        view,
        template=view.template_name or "blank",
        step=view.step_name if view.step else "waiting for a worker",
    )


def bulk_result_line(pve_node: str, vmid: int, ok: bool, message: str) -> str:
    """One line of the report after a bulk action."""
    return f"{'✓' if ok else '✗'} CT {vmid} ({pve_node}): {message}"


def pack_rows(rows: list[ContainerRow]) -> bytes:
    """Every listed container as the tab's state keeps it: plain tuples, pickled and
    compressed. Reflex stores a tab's state in Redis and reads it again at every event,
    so the full listing (kept to filter and page without asking Proxmox again) is a few
    KiB instead of tens (benchmarks/bench_state_store.py)."""
    return zlib.compress(pickle.dumps([tuple(row) for row in rows], protocol=5), 6)


def unpack_rows(packed: bytes) -> list[ContainerRow]:
    """`pack_rows` undone; written by this app's own state only (never from a browser)."""
    if not packed:
        return []
    return [ContainerRow._make(row) for row in pickle.loads(zlib.decompress(packed))]  # noqa: S301
