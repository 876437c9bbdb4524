"""Which backup job of `/cluster/backup` covers a guest, by the one set of rules in
`selection` (pve-manager's VZDump.pm `get_included_guests`). A guest whose pool or PVE node
is not known here is matched without them: a pool job then covers nothing we can name."""

from __future__ import annotations

from lxc_manager.proxmox.backup_api import BackupJob

from .selection import Guest, job_rule, selects

__all__ = ["covering_jobs", "covers"]


def covers(job: BackupJob, vmid: int, pve_node: str | None = None) -> bool:
    rule = job_rule(job.model_dump(by_alias=True))
    if rule is None:
        return False
    guest = Guest(vmid=vmid, pve_node=pve_node if pve_node is not None else rule.node)
    return selects(rule, guest)


def covering_jobs(
    jobs: list[BackupJob], vmid: int, pve_node: str | None = None, *, enabled_only: bool = True
) -> list[BackupJob]:
    return [j for j in jobs if (j.enabled or not enabled_only) and covers(j, vmid, pve_node)]
