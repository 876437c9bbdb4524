"""What a clone will do, checked before anything is started (pure: no I/O).

The rules are pve-container's (src/PVE/API2/LXC.pm `clone_vm`), said to the user before
Proxmox says them:
- `full` defaults to "not a template": a normal container is always copied in full; a
  linked clone needs a template source and a storage whose volumes have the `clone`
  feature (pve-storage `volume_has_feature`: base volumes on lvmthin, zfspool, rbd);
  `storage` is refused for linked clones ("parameter 'storage' not allowed for linked
  clones");
- a full clone of a running container is only possible from a snapshot;
- to another PVE node (`target`), every volume must be on shared storage, and a chosen
  `storage` must be shared ("can't clone to non-shared storage");
- privileges: `VM.Clone` on /vms/{vmid}, `VM.Allocate` on /vms/{newid},
  `Datastore.AllocateSpace` on every storage the clone writes to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lxc_manager.provisioning.request_fields import hostname_error, vmid_error
from lxc_manager.proxmox.backup_api import acl_storage, acl_vm

__all__ = [
    "LINKED_CLONE_STORAGE_TYPES",
    "ClonePlan",
    "CloneSource",
    "StorageChoice",
    "clone_errors",
    "linked_clone_possible",
    "required_privileges",
    "template_error",
]

# Storage types whose base (template) volumes can be cloned linked (pve-storage plugins'
# `volume_has_feature` 'clone' for `base` volumes, raw/subvol formats).
LINKED_CLONE_STORAGE_TYPES = frozenset({"lvmthin", "zfspool", "rbd"})

MSG_RUNNING_NEEDS_SNAPSHOT = (
    "The container is running: Proxmox clones a running container only from a snapshot. "
    "Choose a snapshot, or stop the container first"
)
MSG_LINKED_NOT_TEMPLATE = "A linked clone is only possible from a template; choose a full clone"
MSG_LINKED_STORAGE = (
    "A linked clone stays on the template's storage ({storage}, {type}), which cannot make "
    "linked clones; choose a full clone"
)
MSG_NOT_SHARED = (
    "Cloning to another PVE node needs shared storage: {storage} is local to {node}; "
    "choose a shared storage"
)
MSG_NO_SNAPSHOT = "Snapshot {name} does not exist (any more); reload the page"
MSG_NO_TARGET = "{node} is not a PVE node of this cluster"
MSG_NO_STORAGE = "Storage {storage} cannot hold containers on {node}"


@dataclass(frozen=True)
class StorageChoice:
    """A storage that can hold container volumes (`rootdir` content) on some PVE node."""

    storage: str
    type: str
    shared: bool
    nodes: tuple[str, ...] = ()


@dataclass(frozen=True)
class CloneSource:
    """What Proxmox says about the container to clone."""

    pve_node: str
    vmid: int
    hostname: str
    running: bool
    template: bool
    rootfs_storage: str
    snapshots: tuple[str, ...] = ()
    # storage id -> type and shared flag, for the storages of every volume of the source
    volume_storages: tuple[StorageChoice, ...] = ()


@dataclass(frozen=True)
class ClonePlan:
    """The clone the user asked for. `storage` "" = the source's own storage; `target` ""
    = the source's PVE node; `snapname` "" = the current state."""

    newid: int
    hostname: str = ""  # "" = the source's
    full: bool = True
    target: str = ""
    storage: str = ""
    snapname: str = ""
    description: str = ""


def linked_clone_possible(source: CloneSource) -> bool:
    """Whether a linked clone can be offered: a template whose every volume sits on a
    storage that makes linked clones."""
    if not source.template:
        return False
    types = [s.type for s in source.volume_storages] or [""]
    return all(t in LINKED_CLONE_STORAGE_TYPES for t in types)


def _storage(choices: Sequence[StorageChoice], name: str) -> StorageChoice | None:
    return next((s for s in choices if s.storage == name), None)


def clone_errors(
    source: CloneSource,
    plan: ClonePlan,
    storages: Sequence[StorageChoice],
    pve_nodes: Sequence[str],
) -> dict[str, str]:
    """Field -> message for what Proxmox would refuse ({} when the clone may start).
    `storages` are the cluster's storages that hold container volumes."""
    errors: dict[str, str] = {}
    if problem := vmid_error(plan.newid):
        errors["newid"] = problem
    if plan.hostname and (problem := hostname_error(plan.hostname)):
        errors["hostname"] = problem
    target = plan.target if plan.target and plan.target != source.pve_node else ""
    if target and target not in pve_nodes:
        errors["target"] = MSG_NO_TARGET.format(node=target)
    if plan.snapname and plan.snapname not in source.snapshots:
        errors["snapname"] = MSG_NO_SNAPSHOT.format(name=plan.snapname)
    if not plan.full:
        if not source.template:
            errors["full"] = MSG_LINKED_NOT_TEMPLATE
        elif not linked_clone_possible(source):
            kind = next((s for s in source.volume_storages), None)
            errors["full"] = MSG_LINKED_STORAGE.format(
                storage=source.rootfs_storage, type=kind.type if kind else "unknown"
            )
    elif source.running and not plan.snapname:
        errors["snapname"] = MSG_RUNNING_NEEDS_SNAPSHOT
    chosen = _storage(storages, plan.storage) if plan.storage and plan.full else None
    where = target or source.pve_node
    unusable = chosen is None or (chosen.nodes and where not in chosen.nodes)
    if plan.storage and plan.full and "target" not in errors and unusable:
        errors["storage"] = MSG_NO_STORAGE.format(storage=plan.storage, node=where)
    if target and "target" not in errors and "storage" not in errors:
        if chosen is not None and not chosen.shared:
            errors["storage"] = MSG_NOT_SHARED.format(storage=chosen.storage, node=source.pve_node)
        elif chosen is None:
            local = [s for s in source.volume_storages if not s.shared]
            if local:
                errors["storage"] = MSG_NOT_SHARED.format(
                    storage=local[0].storage, node=source.pve_node
                )
    return errors


def required_privileges(source: CloneSource, plan: ClonePlan) -> list[tuple[str, str]]:
    """(ACL path, privilege) pairs the clone needs, in the order Proxmox checks them."""
    needed = [(acl_vm(source.vmid), "VM.Clone"), (acl_vm(plan.newid), "VM.Allocate")]
    if plan.storage and plan.full:
        stores = [plan.storage]
    else:
        stores = [s.storage for s in source.volume_storages] or [source.rootfs_storage]
    for storage in dict.fromkeys(stores):
        needed.append((acl_storage(storage), "Datastore.AllocateSpace"))
    return needed


def template_error(source: CloneSource) -> str | None:
    """Why the container cannot become a template (pve-container `template`), or None."""
    if source.template:
        return "The container is already a template"
    if source.running:
        return "The container is running: stop it before converting it to a template"
    if source.snapshots:
        return (
            "The container has snapshots: Proxmox converts a container to a template only "
            "without snapshots; delete them first"
        )
    return None


# Proxmox's own refusals of clone and template (pve-container src/PVE/API2/LXC.pm) -> what
# the user is told. A match on Proxmox's text; None: not one of these.
_REFUSALS: tuple[tuple[str, str], ...] = (
    ("only possible from a snapshot", MSG_RUNNING_NEEDS_SNAPSHOT),
    (
        "Linked clone feature",
        "Proxmox cannot make a linked clone of this volume; choose a full clone",
    ),
    ("not allowed for linked clones", "A linked clone stays on the template's storage"),
    ("non-shared storage", "Cloning to another PVE node needs a shared storage"),
    ("uses local storage", "Cloning to another PVE node needs shared storage"),
    ("already exists on node", "The new VMID is taken"),
    ("convert a CT to template if the CT is running", "The container is running: stop it first"),
    ("convert a template to a template", "The container is already a template"),
    ("CT contains snapshots", "The container has snapshots: delete them first"),
    ("is locked", "The container is locked (another task is running on it)"),
)


def refusal_message(detail: str) -> str | None:
    return next((text for key, text in _REFUSALS if key in detail), None)
