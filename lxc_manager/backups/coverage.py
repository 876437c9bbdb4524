"""Which backup job of `/cluster/backup` covers a guest, as pve-manager's VZDump.pm
`get_included_guests` decides: a pool job its pool's guests (pools are not read here: a
pool job covers nothing we can name), a `vmid` job its list, an `all` job every guest but
the excluded ones; a job with `node` only the guests on that node."""

from __future__ import annotations

from lxc_manager.proxmox.backup_api import BackupJob

__all__ = ["covering_jobs", "covers"]


def covers(job: BackupJob, vmid: int, pve_node: str | None = None) -> bool:
    if job.node and pve_node is not None and job.node != pve_node:
        return False
    if job.pool:
        return False
    if job.vmid:
        return vmid in job.vmids()
    if job.all:
        return vmid not in job.excluded()
    return False


def covering_jobs(
    jobs: list[BackupJob], vmid: int, pve_node: str | None = None, *, enabled_only: bool = True
) -> list[BackupJob]:
    return [j for j in jobs if (j.enabled or not enabled_only) and covers(j, vmid, pve_node)]
