"""Backups: vzdump archives on storages with `backup` content, and the cluster's backup jobs.

The model side of `endpoints_backup.py` (vzdump, storage content of backups, `/cluster/backup`,
`/cluster/backup-info`) and of restore in `endpoints_lxc.py`. Proxmox sources followed:

- Archive names `vzdump-lxc-VMID-YYYY_MM_DD-HH_MM_SS.tar.zst` (local time of the backup),
  `format` (`tar.zst`), `subtype` and `ctime` from the name: pve-storage
  `src/PVE/Storage.pm` (`archive_info`, `BACKUP_EXT_RE_2`) and `src/PVE/Storage/Plugin.pm`
  (`list_volumes`/`get_subdir_files`: `notes` is the first line of the `.notes` file,
  `protected` only present (1) while the `.protected` file exists); the archive name:
  pve-manager `PVE/VZDump.pm` (`$bkname = "vzdump-$vmtype-$vmid"`, `strftime`).
- Which guests a job covers: pve-manager `PVE/VZDump.pm` `get_included_guests` (pool, else
  the `vmid` list, else `all` minus `exclude`; optionally only those on `node`);
  "not backed up": `PVE/API2/Cluster/BackupInfo.pm` (`get_included_vmids`, every job
  counts, enabled or not).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

from .model import GIB, Cluster, Container, Storage, noise

COMPRESSION_SUFFIX = {"0": "", "1": ".lzo", "gzip": ".gz", "lzo": ".lzo", "zstd": ".zst"}


@dataclass
class BackupVolume:
    """One archive on a storage (`STORAGE:backup/FILENAME`)."""

    storage: str
    filename: str  # vzdump-lxc-105-2026_11_30-02_00_03.tar.zst
    vmid: int
    subtype: str  # lxc | qemu
    ctime: int
    size: int
    node: str = ""  # the node whose disk holds it, for a storage that is not shared
    notes: str = ""
    protected: bool = False
    # the guest's config at backup time (what a restore recovers), without digest/lock/parent
    config: dict[str, object] = field(default_factory=dict)
    ostemplate: str = ""
    log: list[str] = field(default_factory=list)

    @property
    def volid(self) -> str:
        return f"{self.storage}:backup/{self.filename}"

    @property
    def format(self) -> str:
        """`tar.zst`, `tar`, `vma.zst`, ... (`BACKUP_EXT_RE_2`'s second group)."""
        stem = self.filename.split(".", 1)
        return stem[1] if len(stem) == 2 else ""

    def entry(self) -> dict[str, Any]:
        """How `GET .../storage/{storage}/content` lists it (Plugin.pm list_volumes)."""
        result: dict[str, Any] = {
            "volid": self.volid,
            "content": "backup",
            "format": self.format,
            "size": self.size,
            "ctime": self.ctime,
            "subtype": self.subtype,
            "vmid": self.vmid,
        }
        if self.notes:
            result["notes"] = self.notes.split("\n", 1)[0]
        if self.protected:
            result["protected"] = 1
        return result


@dataclass
class BackupJob:
    """A `vzdump` job of `jobs.cfg` as `/cluster/backup` shows it."""

    id: str
    schedule: str
    storage: str
    mode: str = "snapshot"
    compress: str = "zstd"
    enabled: bool = True
    all: bool = False
    exclude: str = ""
    vmid: str = ""
    pool: str = ""
    node: str = ""
    comment: str = ""
    notes_template: str = "{{guestname}}"
    prune_backups: str = "keep-daily=7,keep-weekly=4"

    def view(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "id": self.id,
            "type": "vzdump",
            "schedule": self.schedule,
            "storage": self.storage,
            "mode": self.mode,
            "compress": self.compress,
            "enabled": int(self.enabled),
            "notes-template": self.notes_template,
            "prune-backups": _prune_dict(self.prune_backups),
            "mailnotification": "always",
            "fleecing": {"enabled": 0},
        }
        if self.all:
            result["all"] = 1
        for key in ("exclude", "vmid", "pool", "node", "comment"):
            value = getattr(self, key)
            if value:
                result[key] = value
        return result


def _prune_dict(text: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in text.split(",") if "=" in item)


def split_vmids(text: str) -> list[int]:
    return [int(v) for v in text.replace(";", ",").replace(" ", ",").split(",") if v.strip()]


def included_vmids(cluster: Cluster, job: BackupJob) -> list[int]:
    """pve-manager PVE/VZDump.pm get_included_guests, flattened over the nodes."""
    if job.pool:
        ids: list[int] = []  # pools are not simulated: no members
    elif job.vmid:
        ids = split_vmids(job.vmid)
    elif job.all:
        excluded = set(split_vmids(job.exclude))
        ids = [v for v in cluster.taken_vmids() if v not in excluded]
    else:
        return []
    result = []
    for vmid in sorted(set(ids)):
        node = cluster.guest_node(vmid)
        if node is not None and job.node and job.node != node:
            continue
        result.append(vmid)
    return result


def archive_name(subtype: str, vmid: int, when: float, compress: str) -> str:
    stamp = time.strftime("%Y_%m_%d-%H_%M_%S", time.localtime(when))
    base = "tar" if subtype == "lxc" else "vma"
    return f"vzdump-{subtype}-{vmid}-{stamp}.{base}{COMPRESSION_SUFFIX.get(compress, '')}"


def archive_size(vmid: int, maxdisk: int, salt: int) -> int:
    """A believable compressed size: a third of the used disk, a little different each time."""
    used = maxdisk * (0.1 + 0.5 * noise(vmid, 0, 1))
    return int(used * (0.3 + 0.08 * noise(vmid, salt, 21))) + 4096 + vmid


def snapshot_config(ct: Container) -> dict[str, object]:
    return {k: v for k, v in ct.config.items() if k not in ("digest", "lock", "parent")}


def visible_on(cluster: Cluster, backup: BackupVolume, node: str) -> bool:
    """A node sees a shared storage's archives and its own `local` ones."""
    return not backup.node or backup.node == node


def backups_of(cluster: Cluster, storage: str, node: str) -> list[BackupVolume]:
    return [b for b in cluster.backups if b.storage == storage and visible_on(cluster, b, node)]


def find_backup(cluster: Cluster, volid: str, node: str) -> BackupVolume | None:
    return next(
        (b for b in cluster.backups if b.volid == volid and visible_on(cluster, b, node)), None
    )


def storage_of(cluster: Cluster, storage_id: str) -> Storage | None:
    return next((s for s in cluster.storages if s.storage == storage_id), None)


def seed(cluster: Cluster, rng: random.Random) -> None:
    """A few existing backups (ages spread over 0..20 days) and two backup jobs."""
    now = cluster.clock.now()
    storages = [s.storage for s in cluster.storages if "backup" in s.content]
    cluster.backups = []
    if not storages:
        return
    cts = sorted(cluster.containers.values(), key=lambda c: c.vmid)
    for index, ct in enumerate(cts):
        if index % 4 == 3:  # a quarter of the containers have never been backed up
            continue
        # by index: a recent backup (< 1 day), one of 3-4 days, an old one (9-20 days)
        newest_age = [0.3, 3.5, 9 + rng.random() * 11][index % 4] * 86400
        count = 1 + rng.randrange(3)
        for k in range(count):
            age = newest_age + k * 7 * 86400 + rng.randrange(0, 3600)
            when = int(now - age)
            storage = storages[(index + k) % len(storages)]
            shared = any(s.shared for s in cluster.storages if s.storage == storage)
            cluster.backups.append(
                BackupVolume(
                    storage=storage,
                    node="" if shared else ct.node,
                    filename=archive_name("lxc", ct.vmid, when, "zstd"),
                    vmid=ct.vmid,
                    subtype="lxc",
                    ctime=when,
                    size=archive_size(ct.vmid, ct.maxdisk or 8 * GIB, when),
                    notes=ct.name,
                    protected=k == count - 1 and index % 5 == 0,
                    config=snapshot_config(ct),
                    ostemplate=ct.ostemplate,
                )
            )
    cluster.backups.sort(key=lambda b: (b.storage, b.ctime))
    taken = sorted(cluster.taken_vmids())
    excluded = ",".join(str(v) for v in taken[1:4:2])  # uncovered: not in the list either
    listed = ",".join(str(v) for v in taken[0:5:2])
    cluster.backup_jobs = [
        BackupJob(
            id="backup-5a1b2c3d-4e5f",
            schedule="sat 02:00",
            storage=storages[-1],
            all=True,
            exclude=excluded,
            comment="weekly, everything",
        ),
        BackupJob(
            id="backup-9f8e7d6c-5b4a",
            schedule="21:00",
            storage=storages[0],
            vmid=listed,
            comment="daily, the important ones",
            prune_backups="keep-last=3",
        ),
    ]
    if len(cluster.taken_vmids()) < 4:  # too small to leave anything uncovered: only the list
        cluster.backup_jobs = cluster.backup_jobs[1:]
