"""Proxmox calls for backups, restore and backup jobs (pve-manager VZDump.pm, Backup.pm;
pve-storage Content.pm; pve-container API2/LXC.pm `create_vm` with `restore`).

Plain functions over a `ProxmoxClient` (client.py is near its size limit):

    storages = await backup_storages(pve, "pve1")
    volumes = await backup_volumes(pve, "pve1", "backup-nfs", vmid=105)
    upid = await vzdump(pve, "pve1", 105, storage="backup-nfs", mode="snapshot")
    upid = await restore(pve, "pve1", 140, volid, storage="local-lvm", hostname="web2")
    await update_volume(pve, "pve1", "backup-nfs", volid, notes="before upgrade")
    upid = await delete_volume(pve, "pve1", "backup-nfs", volid)
    jobs = await backup_jobs(pve)

Booleans go as 0/1 (the client encodes them); `None` values are not sent.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .answers import _parse_list
from .client import ProxmoxClient
from .models import PveBool, Storage

__all__ = [
    "BackupJob",
    "BackupVolume",
    "TaskEntry",
    "acl_storage",
    "acl_vm",
    "backup_jobs",
    "backup_storages",
    "backup_volumes",
    "delete_volume",
    "restore",
    "task_log_from",
    "tasks_of",
    "update_volume",
    "volume_info",
    "vzdump",
]

MODES = ("snapshot", "suspend", "stop")
COMPRESSIONS = ("zstd", "gzip", "lzo", "0")


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class BackupVolume(_Model):
    """A `content=backup` entry of GET /nodes/{node}/storage/{storage}/content."""

    volid: str
    format: str = ""
    size: int = 0
    ctime: int | None = None
    vmid: int | None = None
    subtype: str = ""
    notes: str = ""
    protected: PveBool = False

    @property
    def storage(self) -> str:
        return self.volid.split(":", 1)[0]

    @property
    def filename(self) -> str:
        return self.volid.split(":", 1)[-1].rsplit("/", 1)[-1]


class BackupJob(_Model):
    """An entry of GET /cluster/backup (a `vzdump` job of jobs.cfg)."""

    id: str
    schedule: str = ""
    storage: str = ""
    mode: str = ""
    compress: str = ""
    enabled: PveBool = True
    all: PveBool = False
    vmid: str = ""
    exclude: str = ""
    pool: str = ""
    node: str = ""
    comment: str = ""
    notes_template: str = Field(default="", alias="notes-template")
    next_run: int | None = Field(default=None, alias="next-run")

    def vmids(self) -> list[int]:
        return _vmid_list(self.vmid)

    def excluded(self) -> list[int]:
        return _vmid_list(self.exclude)


class TaskEntry(_Model):
    """An entry of GET /nodes/{node}/tasks."""

    upid: str
    type: str = ""
    id: str = ""
    user: str = ""
    starttime: int = 0
    endtime: int | None = None
    status: str = ""


def acl_vm(vmid: int) -> str:
    """The ACL path of a guest (what `/access/permissions` answers for)."""
    return f"/vms/{int(vmid)}"


def acl_storage(storage: str) -> str:
    """The ACL path of a storage."""
    return f"/storage/{storage}"


def _vmid_list(text: str) -> list[int]:
    return [int(p) for p in text.replace(";", ",").replace(" ", ",").split(",") if p.isdigit()]


def _seg(value: object) -> str:
    return urllib.parse.quote(str(value), safe=":@!=,")


async def backup_storages(client: ProxmoxClient, node: str) -> list[Storage]:
    """The node's enabled storages that hold backups (`content=backup`)."""
    return [
        s
        for s in await client.storages(node, content="backup")
        if "backup" in s.content_types and s.enabled
    ]


async def backup_volumes(
    client: ProxmoxClient, node: str, storage: str, vmid: int | None = None
) -> list[BackupVolume]:
    path = f"/nodes/{_seg(node)}/storage/{_seg(storage)}/content"
    data = await client.get(path, {"content": "backup", "vmid": vmid})
    return _parse_list(BackupVolume, data, path)


async def vzdump(
    client: ProxmoxClient,
    node: str,
    vmid: int,
    *,
    storage: str,
    mode: str = "snapshot",
    compress: str = "zstd",
    notes: str | None = None,
    protected: bool = False,
) -> str:
    """POST /nodes/{node}/vzdump for one guest; the task's UPID ("OK" when the guest is
    not on `node`: Proxmox then does nothing)."""
    params: dict[str, Any] = {
        "vmid": str(int(vmid)),
        "storage": storage,
        "mode": mode,
        "compress": compress,
        "notes-template": notes or None,
        "protected": True if protected else None,
    }
    return str(await client.post(f"/nodes/{_seg(node)}/vzdump", params))


async def restore(
    client: ProxmoxClient,
    node: str,
    vmid: int,
    volid: str,
    *,
    storage: str | None = None,
    hostname: str | None = None,
    force: bool = False,
    unique: bool = False,
) -> str:
    """POST /nodes/{node}/lxc with `ostemplate=<backup volid>` and `restore=1` (`force`
    overwrites an existing, stopped container); the UPID."""
    params: dict[str, Any] = {
        "vmid": int(vmid),
        "ostemplate": volid,
        "restore": True,
        "force": True if force else None,
        "storage": storage or None,
        "hostname": hostname or None,
        "unique": True if unique else None,
    }
    return str(await client.post(f"/nodes/{_seg(node)}/lxc", params))


def _volume_path(node: str, storage: str, volid: str) -> str:
    return (
        f"/nodes/{_seg(node)}/storage/{_seg(storage)}/content/{urllib.parse.quote(volid, safe='')}"
    )


async def update_volume(
    client: ProxmoxClient,
    node: str,
    storage: str,
    volid: str,
    *,
    notes: str | None = None,
    protected: bool | None = None,
) -> None:
    """PUT .../content/{volume}: the notes and/or the protected flag."""
    params: dict[str, Any] = {"notes": notes, "protected": protected}
    await client.put(_volume_path(node, storage, volid), params)


async def volume_info(client: ProxmoxClient, node: str, storage: str, volid: str) -> BackupVolume:
    """GET .../content/{volume} (its notes in full, protected, size, format)."""
    data = await client.get(_volume_path(node, storage, volid))
    if not isinstance(data, dict):
        data = {}
    return BackupVolume.model_validate({**data, "volid": volid})


async def delete_volume(client: ProxmoxClient, node: str, storage: str, volid: str) -> str:
    """DELETE .../content/{volume}; the UPID of the `imgdel` task ("" when none)."""
    data = await client.delete(_volume_path(node, storage, volid))
    return str(data) if data else ""


async def backup_jobs(client: ProxmoxClient) -> list[BackupJob]:
    """GET /cluster/backup (needs Sys.Audit on /)."""
    return _parse_list(BackupJob, await client.get("/cluster/backup"), "/cluster/backup")


async def tasks_of(
    client: ProxmoxClient, node: str, *, typefilter: str, vmid: int | None = None, limit: int = 200
) -> list[TaskEntry]:
    """GET /nodes/{node}/tasks (finished ones), newest first."""
    path = f"/nodes/{_seg(node)}/tasks"
    data = await client.get(path, {"typefilter": typefilter, "vmid": vmid, "limit": limit})
    return _parse_list(TaskEntry, data, path)


async def task_log_from(
    client: ProxmoxClient, node: str, upid: str, start: int, limit: int = 500
) -> list[str]:
    """Lines `start`.. of a task's log (to follow it while it runs)."""
    data = await client.get(
        f"/nodes/{_seg(node)}/tasks/{_seg(upid)}/log", {"start": start, "limit": limit}
    )
    if not isinstance(data, list):
        return []
    return [str(e.get("t", "")) for e in data if isinstance(e, dict)]
