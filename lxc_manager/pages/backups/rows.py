"""What the Backups page shows of a cluster, its backup jobs and its containers: plain
models built from `backups.cluster_backups` (no Reflex State, so tests import them)."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel

from lxc_manager.backups.cluster_backups import ClusterBackups
from lxc_manager.backups.selection import JobRule, coverage_of, selection_text
from lxc_manager.pages.components.backup_age import (
    UNKNOWN_BACKUP,
    BackupCell,
    backup_cell,
)
from lxc_manager.pages.components.format import NONE, minute

MODES = {"snapshot": "Snapshot", "suspend": "Suspend", "stop": "Stop"}


class JobLine(BaseModel):
    id: str
    label: str  # its comment, else its id
    schedule: str
    storage: str
    selection: str  # "All guests except 101, 103 on pve1", "VMIDs 100, 102", "Pool prod"
    mode: str
    enabled: bool
    next_run: str


class GuestLine(BaseModel):
    key: str
    node_id: int  # the user's endpoint to open it through
    vmid: int
    name: str
    pve_node: str
    coverage: str  # "covered" | "uncovered" | "unknown" (the jobs could not be read)
    jobs: list[str]  # labels of the enabled jobs that back it up
    note: str  # e.g. "only job backup-x would, and it is disabled"
    backup: BackupCell


class ClusterBlock(BaseModel):
    key: str
    name: str  # the endpoint that answered (the "node badge")
    reached: bool
    jobs_read: bool
    jobs: list[JobLine]
    guests: list[GuestLine]
    uncovered: list[str]  # "web-1 (101)", by VMID
    problems: list[str]


def _label(rule: JobRule) -> str:
    return rule.comment or rule.id


def _when(epoch: int | None) -> str:
    return f"{minute(datetime.fromtimestamp(epoch, UTC))} UTC" if epoch else NONE


def job_line(rule: JobRule) -> JobLine:
    return JobLine(
        id=rule.id,
        label=_label(rule),
        schedule=rule.schedule or NONE,
        storage=rule.storage or NONE,
        selection=selection_text(rule),
        mode=MODES.get(rule.mode, rule.mode or NONE),
        enabled=rule.enabled,
        next_run=_when(rule.next_run) if rule.enabled else NONE,
    )


def _note(disabled: tuple[str, ...], labels: dict[str, str]) -> str:
    if not disabled:
        return ""
    names = ", ".join(labels[j] for j in disabled)
    return f"Disabled job{'s' if len(disabled) > 1 else ''} would: {names}"


def _coverage(covered: bool, jobs_read: bool) -> str:
    if not jobs_read:
        return "unknown"
    return "covered" if covered else "uncovered"


def cluster_block(cluster: ClusterBackups, now: float) -> ClusterBlock:
    labels = {rule.id: _label(rule) for rule in cluster.jobs}
    guests = [g for g in cluster.guests if not g.template]
    lines = []
    for cov, guest in zip(coverage_of(cluster.jobs, guests), guests, strict=True):
        last = cluster.newest.get(guest.vmid)
        lines.append(
            GuestLine(
                key=f"{cluster.node_id}:{guest.vmid}",
                node_id=cluster.node_id,
                vmid=guest.vmid,
                name=guest.name,
                pve_node=guest.pve_node,
                coverage=_coverage(cov.covered, cluster.jobs_read),
                jobs=[labels[j] for j in cov.jobs],
                note=_note(cov.disabled, labels),
                backup=backup_cell(last, now) if cluster.backups_read else UNKNOWN_BACKUP,
            )
        )
    uncovered = [f"{line.name} ({line.vmid})" for line in lines if line.coverage == "uncovered"]
    return ClusterBlock(
        key=",".join(str(i) for i in cluster.node_ids),
        name=cluster.node_name,
        reached=cluster.reached,
        jobs_read=cluster.jobs_read,
        jobs=[job_line(rule) for rule in cluster.jobs],
        guests=lines,
        uncovered=uncovered,
        problems=list(cluster.problems),
    )
