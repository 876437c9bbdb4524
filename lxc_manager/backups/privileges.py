"""Privilege pre-checks: Proxmox checks some privileges only inside a task (vzdump's
`VM.Backup` per guest is checked in the worker and a guest it may not back up is skipped),
so the app reads the token's effective privileges (`GET /access/permissions`) and names
the missing one before it starts anything.

    need = [Need("/vms/105", "VM.Backup"), Need("/storage/backup", "Datastore.AllocateSpace")]
    if message := await missing_privilege(client, need): refuse with it
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lxc_manager.proxmox import Permissions, ProxmoxClient
from lxc_manager.proxmox.backup_api import acl_storage, acl_vm

__all__ = [
    "Need",
    "first_missing",
    "for_backup",
    "for_delete_backup",
    "for_restore_new",
    "for_restore_over",
    "for_update_backup",
    "missing_message",
    "missing_privilege",
]


@dataclass(frozen=True)
class Need:
    path: str
    privilege: str
    # any of these instead (e.g. Datastore.Allocate covers a volume's access checks)
    alternative: str = ""


def for_backup(vmid: int, storage: str) -> list[Need]:
    """vzdump: VM.Backup on the guest, Datastore.AllocateSpace on the target storage."""
    return [
        Need(acl_vm(vmid), "VM.Backup"),
        Need(acl_storage(storage), "Datastore.AllocateSpace"),
    ]


def _volume_access(storage: str, owner_vmid: int, vmid: int | None = None) -> list[Need]:
    """pve-storage check_volume_access for a backup: Datastore.Allocate on the storage,
    or Datastore.AllocateSpace there plus VM.Backup on the backup's guest; nothing when
    the guest acted on owns the archive (PVE/Storage.pm: "we are owner - allow access")."""
    if vmid is not None and vmid == owner_vmid:
        return []
    return [
        Need(acl_storage(storage), "Datastore.AllocateSpace", "Datastore.Allocate"),
        Need(acl_vm(owner_vmid), "VM.Backup", "Datastore.Allocate@" + acl_storage(storage)),
    ]


def for_update_backup(storage: str, owner_vmid: int) -> list[Need]:
    return _volume_access(storage, owner_vmid)


def for_delete_backup(storage: str, owner_vmid: int) -> list[Need]:
    return [
        Need(acl_storage(storage), "Datastore.AllocateSpace"),
        Need(acl_vm(owner_vmid), "VM.Backup"),
    ]


def for_restore_over(vmid: int, backup_storage: str, owner_vmid: int, target: str) -> list[Need]:
    """pve-container create_vm with restore over an existing CT: VM.Backup on it (or
    VM.Allocate), access to the archive, space on the target storage."""
    return [
        Need(acl_vm(vmid), "VM.Backup", "VM.Allocate"),
        *_volume_access(backup_storage, owner_vmid, vmid),
        Need(acl_storage(target), "Datastore.AllocateSpace"),
    ]


def for_restore_new(vmid: int, backup_storage: str, owner_vmid: int, target: str) -> list[Need]:
    return [
        Need(acl_vm(vmid), "VM.Allocate"),
        *_volume_access(backup_storage, owner_vmid, vmid),
        Need(acl_storage(target), "Datastore.AllocateSpace"),
    ]


def _holds(permissions: Permissions, need: Need) -> bool:
    if permissions.allows(need.path, need.privilege):
        return True
    if not need.alternative:
        return False
    privilege, _, path = need.alternative.partition("@")
    return permissions.allows(path or need.path, privilege)


def first_missing(permissions: Permissions, needs: Sequence[Need]) -> Need | None:
    return next((need for need in needs if not _holds(permissions, need)), None)


def missing_message(need: Need) -> str:
    return (
        f"The node's API token lacks the Proxmox privilege {need.privilege} on {need.path}: "
        "nothing was started"
    )


async def missing_privilege(client: ProxmoxClient, needs: Sequence[Need]) -> str | None:
    """A clear message naming the first privilege the client's token lacks, or None.
    ProxmoxError when the permissions cannot be read."""
    permissions = await client.permissions()
    need = first_missing(permissions, needs)
    return missing_message(need) if need is not None else None
