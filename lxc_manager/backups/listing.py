"""A container's (or a whole cluster's) backups on every storage with `backup` content,
newest first.

Storages are read per PVE node (`GET /nodes/{node}/storage?content=backup`): a shared one
once, a local one on each node that has it (its archives are that node's). Who made a
backup is not stored by Proxmox; it is told, in this order, by the operation of this app
that made it (its user), by the `vzdump` task of that guest whose run covers the archive's
time (the task's user, e.g. `root@pam!ci`), else by the one enabled backup job that covers
the guest and writes to that storage ("job backup-...").
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from lxc_manager.db.models import OperationJob
from lxc_manager.nodes import client_for
from lxc_manager.operations import store as op_store
from lxc_manager.proxmox import ProxmoxClient, ProxmoxError, Storage
from lxc_manager.proxmox.backup_api import (
    BackupJob,
    BackupVolume,
    TaskEntry,
    backup_jobs,
    backup_storages,
    backup_volumes,
    tasks_of,
)
from lxc_manager.proxmox.errors import short_message

from .coverage import covering_jobs

__all__ = ["BackupEntry", "BackupListing", "BackupStorage", "backup_storages_of", "list_backups"]

log = logging.getLogger(__name__)

NODE_TIMEOUT = 8.0


@dataclass(frozen=True)
class BackupStorage:
    """A storage that holds backups, and the PVE node to ask about it."""

    storage: str
    pve_node: str
    shared: bool
    type: str
    avail: int | None


@dataclass(frozen=True)
class BackupEntry:
    volid: str
    storage: str
    pve_node: str  # where to address calls about this volume
    filename: str
    vmid: int
    size: int
    ctime: int
    notes: str
    protected: bool
    format: str
    origin: str  # who or which job made it ("" when nobody can tell)


@dataclass(frozen=True)
class BackupListing:
    entries: list[BackupEntry]
    storages: list[BackupStorage]
    errors: list[str] = field(default_factory=list)  # nodes or storages that could not be read


async def _online_nodes(client: ProxmoxClient) -> list[str]:
    return sorted(n.node for n in await client.nodes() if n.status != "offline")


async def _storages_on(client: ProxmoxClient, node: str) -> list[Storage]:
    async with asyncio.timeout(NODE_TIMEOUT):
        return await backup_storages(client, node)


async def backup_storages_of(client: ProxmoxClient) -> tuple[list[BackupStorage], list[str]]:
    """Every storage with backup content, a shared one once; and what could not be read."""
    nodes = await _online_nodes(client)
    answers = await asyncio.gather(
        *(_storages_on(client, n) for n in nodes), return_exceptions=True
    )
    found: dict[tuple[str, str], BackupStorage] = {}
    errors: list[str] = []
    for node, answer in zip(nodes, answers, strict=True):
        if isinstance(answer, BaseException):
            if not isinstance(answer, ProxmoxError | TimeoutError):
                raise answer
            errors.append(f"{node}: {_why(answer)}")
            continue
        for s in answer:
            key = (s.storage, "" if s.shared else node)
            if key not in found:
                found[key] = BackupStorage(s.storage, node, bool(s.shared), s.type, s.avail)
    return sorted(found.values(), key=lambda s: (s.storage, s.pve_node)), errors


def _why(error: BaseException) -> str:
    return "no answer in time" if isinstance(error, TimeoutError) else short_message(error)


async def _volumes(
    client: ProxmoxClient, storage: BackupStorage, vmid: int | None
) -> list[BackupVolume]:
    async with asyncio.timeout(NODE_TIMEOUT):
        return await backup_volumes(client, storage.pve_node, storage.storage, vmid)


async def _vzdump_tasks(client: ProxmoxClient, node: str, vmid: int | None) -> list[TaskEntry]:
    try:
        async with asyncio.timeout(NODE_TIMEOUT):
            return await tasks_of(client, node, typefilter="vzdump", vmid=vmid)
    except (ProxmoxError, TimeoutError) as exc:
        log.info("vzdump tasks of %s not readable: %r", node, exc)
        return []


async def _jobs(client: ProxmoxClient) -> list[BackupJob]:
    try:
        async with asyncio.timeout(NODE_TIMEOUT):
            return await backup_jobs(client)
    except (ProxmoxError, TimeoutError) as exc:  # Sys.Audit on / is needed
        log.info("backup jobs not readable: %r", exc)
        return []


def _made_here(user_id: str, node_id: int) -> dict[str, str]:
    """volid -> who, for the backups this app's operations made for the user."""
    made: dict[str, str] = {}
    jobs: list[OperationJob] = op_store.jobs_of(user_id, node_id=node_id, limit=500)
    for job in jobs:
        for volid in op_store.result_of(job).get("volids", []):
            if isinstance(volid, str):
                made[volid] = f"{user_id} (LXC Manager)"
    return made


def _origin(
    volume: BackupVolume,
    node: str,
    made: dict[str, str],
    tasks: dict[str, list[TaskEntry]],
    jobs: list[BackupJob],
) -> str:
    if volume.volid in made:
        return made[volume.volid]
    ctime = volume.ctime or 0
    for task in tasks.get(node, []):
        end = task.endtime or task.starttime
        if task.id == str(volume.vmid) and task.starttime - 2 <= ctime <= end + 2:
            return task.user
    covering = [j for j in covering_jobs(jobs, volume.vmid or 0) if j.storage == volume.storage]
    return f"job {covering[0].id}" if len(covering) == 1 else ""


async def list_backups(user_id: str, node_id: int, vmid: int | None = None) -> BackupListing:
    """The backups of `vmid` (every guest's without it) through the user's node, newest
    first. NodeNotFound / NodeSecretError propagate; a ProxmoxError when the cluster
    cannot be read at all; storages that fail are named in `errors`."""
    client = await asyncio.to_thread(client_for, user_id, node_id)
    async with client:
        storages, errors = await backup_storages_of(client)
        answers = await asyncio.gather(
            *(_volumes(client, s, vmid) for s in storages), return_exceptions=True
        )
        nodes = sorted({s.pve_node for s in storages})
        task_lists = await asyncio.gather(*(_vzdump_tasks(client, n, vmid) for n in nodes))
        jobs = await _jobs(client)
    made = await asyncio.to_thread(_made_here, user_id, node_id)
    tasks = dict(zip(nodes, task_lists, strict=True))
    seen: set[tuple[str, str]] = set()
    entries: list[BackupEntry] = []
    for storage, answer in zip(storages, answers, strict=True):
        if isinstance(answer, BaseException):
            if not isinstance(answer, ProxmoxError | TimeoutError):
                raise answer
            errors.append(f"{storage.storage} on {storage.pve_node}: {_why(answer)}")
            continue
        for volume in answer:
            if vmid is not None and volume.vmid != vmid:
                continue
            key = (volume.volid, "" if storage.shared else storage.pve_node)
            if key in seen or volume.subtype not in ("", "lxc"):
                continue
            seen.add(key)
            entries.append(
                BackupEntry(
                    volid=volume.volid,
                    storage=storage.storage,
                    pve_node=storage.pve_node,
                    filename=volume.filename,
                    vmid=volume.vmid or 0,
                    size=volume.size,
                    ctime=volume.ctime or 0,
                    notes=volume.notes,
                    protected=bool(volume.protected),
                    format=volume.format,
                    origin=_origin(volume, storage.pve_node, made, tasks, jobs),
                )
            )
    entries.sort(key=lambda e: (-e.ctime, e.volid))
    return BackupListing(entries, storages, errors)
