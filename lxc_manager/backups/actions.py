"""What the pages call for backups. Every action validates its input, checks the Proxmox
privileges it needs before anything starts (naming the missing one), and is audited.
Long ones (back up, restore, back up first then X) become operation jobs; the short ones
(protect, notes, delete an archive) run at once.

    outcome = await back_up(user_id, node_id, "pve1", 105, BackupOptions(storage="nfs"))
    if outcome.ok: go to routes.job(outcome.job_id)      else: show outcome.message
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

from lxc_manager.nodes import NodeNotFound, NodeSecretError, client_for
from lxc_manager.operations.jobs import Step, submit
from lxc_manager.provisioning.request_fields import MSG_VMID, hostname_error, vmid_error
from lxc_manager.proxmox import (
    NotFound,
    ProxmoxClient,
    ProxmoxError,
    TaskFailed,
    parse_property_string,
)
from lxc_manager.proxmox.backup_api import (
    COMPRESSIONS,
    MODES,
    acl_vm,
    delete_volume,
    update_volume,
    volume_info,
)
from lxc_manager.proxmox.errors import failure_message, short_message
from lxc_manager.security import audit

from . import privileges
from .listing import backup_storages_of
from .privileges import Need

__all__ = [
    "BackupOptions",
    "Outcome",
    "back_up",
    "backup_step",
    "check_backup_first",
    "delete_backup",
    "delete_container_after_backup",
    "owner_of",
    "restore_new",
    "restore_over",
    "rootfs_storage",
    "set_notes",
    "set_protected",
]

log = logging.getLogger(__name__)

NOTES_MAX = 1024
MSG_NODE_NOT_FOUND = "Node not found"
MSG_NOT_A_BACKUP = "This is not a backup of a container"
_VOLID = re.compile(r"^[A-Za-z][A-Za-z0-9\-_.]*:backup/vzdump-lxc-(?P<vmid>\d+)-[\w.\-]+$")
# A Proxmox Backup Server snapshot of a container (pve-storage PBSPlugin parse_volname:
# `backup/<type>/<id>/<time>`), e.g. `pbs:backup/ct/105/2026-09-26T10:00:00Z`.
_PBS_VOLID = re.compile(r"^[A-Za-z][A-Za-z0-9\-_.]*:backup/ct/(?P<vmid>\d+)/[0-9T:\-Z]+$")
_PVE_NODE = re.compile(r"^[a-zA-Z0-9](?:[a-zA-Z0-9\-]*[a-zA-Z0-9])?$")


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str
    job_id: str | None = None
    field: str = "form"  # the form field a refusal belongs to


@dataclass(frozen=True)
class BackupOptions:
    storage: str
    mode: str = "snapshot"
    compress: str = "zstd"
    notes: str = ""
    protected: bool = False


def owner_of(volid: str) -> int | None:
    """The VMID a container backup's name says it belongs to, or None (not one)."""
    match = _VOLID.fullmatch(volid or "") or _PBS_VOLID.fullmatch(volid or "")
    return int(match["vmid"]) if match is not None else None


def _notes_template(notes: str) -> str:
    """vzdump takes notes as a template: backslashes and line feeds are escaped (the
    `{{guestname}}` style variables stay what they are)."""
    return notes.replace("\\", "\\\\").replace("\r\n", "\n").replace("\n", "\\n")


def _options_error(options: BackupOptions) -> tuple[str, str] | None:
    if options.mode not in MODES:
        return "mode", "Choose snapshot, suspend or stop"
    if options.compress not in COMPRESSIONS:
        return "compress", "Choose zstd, gzip, lzo or none"
    if len(options.notes) > NOTES_MAX:
        return "notes", f"Notes are at most {NOTES_MAX} characters"
    if not options.storage:
        return "storage", "Choose a storage"
    return None


_audit = audit.record_done


async def _client(user_id: str, node_id: int) -> tuple[ProxmoxClient, str]:
    """A client for the user's node and its name (NodeNotFound, NodeSecretError)."""
    from lxc_manager.nodes import get_node_sync

    node = await asyncio.to_thread(get_node_sync, user_id, node_id)
    return await asyncio.to_thread(client_for, user_id, node_id), node.name


async def _backup_storage_error(client: ProxmoxClient, pve_node: str, storage: str) -> str | None:
    storages, _ = await backup_storages_of(client)
    usable = [s for s in storages if s.storage == storage and (s.shared or s.pve_node == pve_node)]
    return None if usable else f"{storage} is not a storage for backups on {pve_node}"


async def _refusal(
    user_id: str, action: str, target: str, message: str, field: str = "form"
) -> Outcome:
    await _audit(action, user_id, target, False, message)
    return Outcome(False, message, field=field)


async def _prepare(
    user_id: str, node_id: int, pve_node: str, vmid: int
) -> tuple[ProxmoxClient, str] | str:
    if problem := vmid_error(vmid):
        return problem
    if _PVE_NODE.fullmatch(pve_node or "") is None:
        return "Invalid Proxmox node name"
    try:
        return await _client(user_id, node_id)
    except NodeNotFound:
        return MSG_NODE_NOT_FOUND
    except NodeSecretError as exc:
        return exc.user_message


async def _submit(
    user_id: str,
    node_id: int,
    pve_node: str,
    vmid: int,
    *,
    kind: str,
    title: str,
    steps: Sequence[Step],
    action: str,
    target: str,
    hold: Sequence[int] = (),
) -> Outcome:
    submitted = await submit(
        user_id, node_id, pve_node, vmid, kind=kind, title=title, steps=steps, hold_vmids=hold
    )
    if submitted.job_id is None:
        return await _refusal(user_id, action, target, submitted.error, submitted.field)
    await _audit(action, user_id, target, True, f"job {submitted.job_id}: {title}")
    return Outcome(True, "Started", submitted.job_id)


def _backup_step(options: BackupOptions) -> Step:
    args = asdict(options)
    args["notes"] = _notes_template(options.notes)
    return Step("backup", args)


async def _check_backup(
    client: ProxmoxClient, pve_node: str, vmid: int, options: BackupOptions
) -> tuple[str, str] | None:
    """(field, message) when the backup cannot be asked for."""
    if problem := _options_error(options):
        return problem
    if problem_text := await _backup_storage_error(client, pve_node, options.storage):
        return "storage", problem_text
    if missing := await privileges.missing_privilege(
        client, privileges.for_backup(vmid, options.storage)
    ):
        return "form", missing
    return None


async def back_up(
    user_id: str, node_id: int, pve_node: str, vmid: int, options: BackupOptions
) -> Outcome:
    """Queue a vzdump of the container (an operation job with one step)."""
    prepared = await _prepare(user_id, node_id, pve_node, vmid)
    target = f"ct:node#{node_id}/{vmid}"
    if isinstance(prepared, str):
        return await _refusal(user_id, "backup.create", target, prepared)
    client, name = prepared
    target = f"ct:{name}/{vmid}"
    try:
        async with client:
            problem = await _check_backup(client, pve_node, vmid, options)
    except ProxmoxError as exc:
        return await _refusal(user_id, "backup.create", target, short_message(exc))
    if problem is not None:
        return await _refusal(user_id, "backup.create", target, problem[1], problem[0])
    return await _submit(
        user_id, node_id, pve_node, vmid,
        kind="backup", title=f"Back up CT {vmid} to {options.storage}",
        steps=[_backup_step(options)], action="backup.create", target=target,
    )  # fmt: skip


async def rootfs_storage(user_id: str, node_id: int, pve_node: str, vmid: int) -> str:
    """The storage of the container's root disk ("" when it cannot be read): the natural
    target of a restore over it."""
    prepared = await _prepare(user_id, node_id, pve_node, vmid)
    if isinstance(prepared, str):
        return ""
    client, _ = prepared
    try:
        async with client:
            config = await client.lxc_config(pve_node, vmid)
    except ProxmoxError:
        return ""
    volume = parse_property_string(config.rootfs or "", "volume").get("volume", "")
    return volume.split(":", 1)[0] if ":" in volume else ""


async def _default_storage(client: ProxmoxClient, pve_node: str) -> str:
    storages, _ = await backup_storages_of(client)
    usable = [s for s in storages if s.shared or s.pve_node == pve_node]
    usable.sort(key=lambda s: (not s.shared, s.storage))
    return usable[0].storage if usable else ""


async def _stopped_error(client: ProxmoxClient, pve_node: str, vmid: int) -> str | None:
    try:
        status = await client.lxc_status(pve_node, vmid)
    except NotFound:
        return f"CT {vmid} does not exist on {pve_node}"
    if status.status != "stopped":
        return "The container must be stopped before it is restored over: stop it first"
    return None


async def restore_over(
    user_id: str,
    node_id: int,
    pve_node: str,
    vmid: int,
    volid: str,
    *,
    confirm: str,
    storage: str,
    backup_first: BackupOptions | None = None,
) -> Outcome:
    """Replace the container with the backup (it must be stopped; the VMID typed as the
    confirmation); with `backup_first`, one job backs it up and then restores."""
    action = "backup.restore_over"
    prepared = await _prepare(user_id, node_id, pve_node, vmid)
    target = f"ct:node#{node_id}/{vmid}"
    if isinstance(prepared, str):
        return await _refusal(user_id, action, target, prepared)
    client, name = prepared
    target = f"ct:{name}/{vmid}"
    owner = owner_of(volid)
    if owner is None:
        return await _refusal(user_id, action, target, MSG_NOT_A_BACKUP)
    if confirm.strip() != str(vmid):
        return await _refusal(user_id, action, target, f"Type {vmid} to confirm", "confirm")
    if not storage:
        return await _refusal(user_id, action, target, "Choose a target storage", "storage")
    needs: list[Need] = privileges.for_restore_over(vmid, volid.split(":", 1)[0], owner, storage)
    try:
        async with client:
            problem = await _stopped_error(client, pve_node, vmid)
            if problem is None and backup_first is not None:
                found = await _check_backup(client, pve_node, vmid, backup_first)
                problem = found[1] if found else None
            if problem is None:
                problem = await privileges.missing_privilege(client, needs)
    except ProxmoxError as exc:
        return await _refusal(user_id, action, target, short_message(exc))
    if problem is not None:
        return await _refusal(user_id, action, target, problem)
    restore = Step(
        "restore",
        {"volid": volid, "vmid": vmid, "pve_node": pve_node, "storage": storage, "force": True},
    )
    steps = [_backup_step(backup_first), restore] if backup_first else [restore]
    title = f"{'Back up, then restore' if backup_first else 'Restore'} CT {vmid} from a backup"
    return await _submit(
        user_id, node_id, pve_node, vmid, kind="restore-over", title=title, steps=steps,
        action=action, target=target,
    )  # fmt: skip


async def _reachable_error(
    client: ProxmoxClient, volid: str, backup_node: str, pve_node: str
) -> str | None:
    """Why `pve_node` cannot read the archive (on another node's own disk), or None."""
    storage = volid.split(":", 1)[0]
    storages, _ = await backup_storages_of(client)
    shared = any(s.storage == storage and s.shared for s in storages)
    if shared or backup_node == pve_node:
        return None
    return (
        f"This backup is on {backup_node}'s own storage {storage}: "
        f"restore it on {backup_node}, or use a backup on a shared storage"
    )


async def restore_new(
    user_id: str,
    node_id: int,
    volid: str,
    *,
    vmid_text: str,
    hostname: str,
    storage: str,
    pve_node: str,
    backup_node: str,
) -> Outcome:
    """Restore the backup as a new container on `pve_node` (the VMID checked and held as
    the wizard's). `backup_node` is the PVE node the backup was listed on: an archive on a
    node's own disk can only be restored there."""
    action = "backup.restore_new"
    text = vmid_text.strip()
    vmid = int(text) if text.isdigit() else 0
    if not text.isdigit() or vmid_error(vmid):
        return await _refusal(user_id, action, f"node#{node_id}", MSG_VMID, "vmid")
    if problem := hostname_error(hostname):
        return await _refusal(user_id, action, f"node#{node_id}", problem, "hostname")
    prepared = await _prepare(user_id, node_id, pve_node, vmid)
    if isinstance(prepared, str):
        return await _refusal(user_id, action, f"ct:node#{node_id}/{vmid}", prepared)
    client, name = prepared
    target = f"ct:{name}/{vmid}"
    owner = owner_of(volid)
    if owner is None:
        return await _refusal(user_id, action, target, MSG_NOT_A_BACKUP)
    if not storage:
        return await _refusal(user_id, action, target, "Choose a target storage", "storage")
    needs = privileges.for_restore_new(vmid, volid.split(":", 1)[0], owner, storage)
    try:
        async with client:
            problem = await _reachable_error(client, volid, backup_node, pve_node)
            if problem is None:
                problem = await privileges.missing_privilege(client, needs)
    except ProxmoxError as exc:
        return await _refusal(user_id, action, target, short_message(exc))
    if problem is not None:
        return await _refusal(user_id, action, target, problem)
    step = Step(
        "restore",
        {"volid": volid, "vmid": vmid, "pve_node": pve_node, "storage": storage,
         "hostname": hostname.strip(), "force": False},
    )  # fmt: skip
    return await _submit(
        user_id, node_id, pve_node, vmid, kind="restore-new",
        title=f"Restore CT {owner}'s backup as CT {vmid} ({hostname.strip()})", steps=[step],
        action=action, target=target, hold=[vmid],
    )  # fmt: skip


async def delete_container_after_backup(
    user_id: str,
    node_id: int,
    pve_node: str,
    vmid: int,
    options: BackupOptions,
    *,
    stop_first: bool = False,
) -> Outcome:
    """ "Back up first" on delete: one job, a backup and then the purge of the container."""
    action = "container.delete"
    prepared = await _prepare(user_id, node_id, pve_node, vmid)
    if isinstance(prepared, str):
        return await _refusal(user_id, action, f"ct:node#{node_id}/{vmid}", prepared)
    client, name = prepared
    target = f"ct:{name}/{vmid}"
    try:
        async with client:
            options, text = await check_backup_first(
                client, pve_node, vmid, options, [Need(acl_vm(vmid), "VM.Allocate")]
            )
    except ProxmoxError as exc:
        return await _refusal(user_id, action, target, short_message(exc))
    if text is not None:
        return await _refusal(user_id, action, target, text)
    steps = [_backup_step(options), Step("delete-ct", {"stop_first": stop_first})]
    return await _submit(
        user_id, node_id, pve_node, vmid, kind="delete", title=f"Back up, then delete CT {vmid}",
        steps=steps, action=action, target=target,
    )  # fmt: skip


async def check_backup_first(
    client: ProxmoxClient,
    pve_node: str,
    vmid: int,
    options: BackupOptions,
    then_needs: Sequence[Need] = (),
) -> tuple[BackupOptions, str | None]:
    """For "back up first, then X": the options (an empty storage becomes the first backup
    storage `pve_node` can use, shared ones first) and why nothing may start (the backup's
    checks, then the privileges `then_needs` of X), or None. Raises ProxmoxError."""
    if not options.storage:
        options = replace(options, storage=await _default_storage(client, pve_node))
        if not options.storage:
            return options, f"No storage that {pve_node} can use holds backups: nothing was started"
    problem = await _check_backup(client, pve_node, vmid, options)
    text = problem[1] if problem else None
    if text is None and then_needs:
        text = await privileges.missing_privilege(client, list(then_needs))
    return options, text


def backup_step(options: BackupOptions) -> Step:
    """The `backup` step of a "back up first" job."""
    return _backup_step(options)


async def _volume_action(
    user_id: str,
    node_id: int,
    pve_node: str,
    volid: str,
    action: str,
    needs_for: str,
    call: str,
    value: str | bool | None = None,
) -> Outcome:
    owner = owner_of(volid)
    target = f"backup:node#{node_id}/{volid}"
    if owner is None:
        return await _refusal(user_id, action, target, MSG_NOT_A_BACKUP)
    prepared = await _prepare(user_id, node_id, pve_node, owner)
    if isinstance(prepared, str):
        return await _refusal(user_id, action, target, prepared)
    client, name = prepared
    target = f"ct:{name}/{owner}@{volid}"
    storage = volid.split(":", 1)[0]
    needs = (
        privileges.for_delete_backup(storage, owner)
        if needs_for == "delete"
        else privileges.for_update_backup(storage, owner)
    )
    try:
        async with client:
            if missing := await privileges.missing_privilege(client, needs):
                return await _refusal(user_id, action, target, missing)
            message = await _run_volume_call(client, pve_node, storage, volid, call, value)
    except _Refused as refused:
        return await _refusal(user_id, action, target, refused.message)
    except ProxmoxError as exc:
        return await _refusal(user_id, action, target, _volume_message(exc))
    await _audit(action, user_id, target, True, message)
    return Outcome(True, message)


_PROTECTED = re.compile(r"cannot remove protected", re.I)
MSG_PROTECTED = "This backup is protected: unprotect it before deleting it"


class _Refused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _volume_message(error: ProxmoxError) -> str:
    text = error.exitstatus if isinstance(error, TaskFailed) else error.detail
    if _PROTECTED.search(text or ""):
        return MSG_PROTECTED
    return failure_message(error)


async def _run_volume_call(
    client: ProxmoxClient,
    pve_node: str,
    storage: str,
    volid: str,
    call: str,
    value: str | bool | None,
) -> str:
    if call == "protect":
        await update_volume(client, pve_node, storage, volid, protected=bool(value))
        return "Protected" if value else "Unprotected"
    if call == "notes":
        await update_volume(client, pve_node, storage, volid, notes=str(value or ""))
        return "Notes saved"
    if (await volume_info(client, pve_node, storage, volid)).protected:
        raise _Refused(MSG_PROTECTED)
    upid = await delete_volume(client, pve_node, storage, volid)
    if upid.startswith("UPID:"):
        await client.wait_for_task(pve_node, upid, timeout=120)
    return "Backup deleted"


async def set_protected(
    user_id: str, node_id: int, pve_node: str, volid: str, protected: bool
) -> Outcome:
    return await _volume_action(
        user_id, node_id, pve_node, volid, "backup.protect", "update", "protect", protected
    )


async def set_notes(user_id: str, node_id: int, pve_node: str, volid: str, notes: str) -> Outcome:
    if len(notes) > NOTES_MAX:
        return Outcome(False, f"Notes are at most {NOTES_MAX} characters", field="notes")
    return await _volume_action(
        user_id, node_id, pve_node, volid, "backup.notes", "update", "notes", notes
    )


async def delete_backup(user_id: str, node_id: int, pve_node: str, volid: str) -> Outcome:
    """Delete the archive; a protected one is refused (by us first, by Proxmox anyway)."""
    return await _volume_action(
        user_id, node_id, pve_node, volid, "backup.delete", "delete", "delete"
    )
