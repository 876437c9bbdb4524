"""What the Backups tab does to one backup: protect / notes, delete, restore as a new
container. The backup is named by its `volid` in the body (it holds `:` and `/`) and must
be one of the container's backups as the listing shows them (`list_backups`, which also
says which Proxmox node to address it on): anything else is "not found". The actions are
`backups.actions` (validation, privilege pre-check, audit) exactly as the page calls them.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

from lxc_manager import routes
from lxc_manager.api.framework import ApiCall, invalid, not_found
from lxc_manager.backups import actions
from lxc_manager.backups.listing import BackupEntry, list_backups
from lxc_manager.nodes import NodeNotFound
from lxc_manager.proxmox.errors import ClientUnavailable, ProxmoxError

from .backups import (
    BACKUP,
    CT_PATH,
    OPERATION,
    backup_json,
    find_operation,
    operation_json,
    refused,
    unavailable,
)
from .containers import find_container
from .registry import API
from .schemas import VMID, obj

MSG_NO_BACKUP = "No such backup of this container"
_VOLID = {"type": "string", "maxLength": 512, "description": "the backup's volid (listing)"}


def _volid(body: dict[str, Any]) -> str:
    volid = body.get("volid")
    if not isinstance(volid, str) or not volid:
        raise invalid("volid", "Give the backup's volid (from the listing)")
    return volid


async def _backup_of(call: ApiCall, volid: str) -> tuple[BackupEntry, str]:
    """The container's backup `volid` and the container's Proxmox node; 404 otherwise."""
    node_id, vmid = call.params["node_id"], call.params["vmid"]
    row = await find_container(call.user_id, node_id, vmid)
    try:
        listing = await list_backups(call.user_id, node_id, vmid)
    except NodeNotFound:
        raise not_found(actions.MSG_NODE_NOT_FOUND) from None
    except (ClientUnavailable, ProxmoxError) as exc:
        raise unavailable(exc) from None
    for entry in listing.entries:
        if entry.volid == volid:
            return entry, row.pve_node
    raise not_found(MSG_NO_BACKUP)


async def _done(call: ApiCall, volid: str, outcome: actions.Outcome) -> dict[str, Any]:
    if not outcome.ok:
        raise refused(outcome)
    entry, _ = await _backup_of(call, volid)
    return {"message": outcome.message, "backup": backup_json(entry)}


@API.operation(
    "POST",
    routes.API_CONTAINER_BACKUP_UPDATE,
    operation_id="updateBackup",
    summary="Protect / unprotect a backup of the container, or change its notes",
    tag="backups",
    params=CT_PATH,
    body=obj(
        {"volid": _VOLID, "protected": {"type": "boolean"}, "notes": {"type": "string"}},
        required=["volid"],
    ),
    body_required=True,
    response=obj({"message": {"type": "string"}, "backup": BACKUP}),
    errors=(404, 409, 502),
    description="409 when the node's API token lacks a privilege it needs (named) or "
    "Proxmox refused.",
)
async def update_backup_op(call: ApiCall) -> dict[str, Any]:
    body = call.body or {}
    volid = _volid(body)
    protected, notes = body.get("protected"), body.get("notes")
    if protected is not None and not isinstance(protected, bool):
        raise invalid("protected", "protected must be true or false")
    if notes is not None and not isinstance(notes, str):
        raise invalid("notes", "notes must be a string")
    if protected is None and notes is None:
        raise invalid("protected", "Give protected or notes")
    if notes is not None and len(notes) > actions.NOTES_MAX:
        raise invalid("notes", f"Notes are at most {actions.NOTES_MAX} characters")
    entry, _ = await _backup_of(call, volid)
    node_id, outcome = call.params["node_id"], actions.Outcome(True, "")
    if notes is not None:
        outcome = await actions.set_notes(call.user_id, node_id, entry.pve_node, volid, notes)
    if outcome.ok and protected is not None:
        outcome = await actions.set_protected(
            call.user_id, node_id, entry.pve_node, volid, protected
        )
    return await _done(call, volid, outcome)


@API.operation(
    "POST",
    routes.API_CONTAINER_BACKUP_DELETE,
    operation_id="deleteBackup",
    summary="Delete a backup of the container (a protected one is refused)",
    tag="backups",
    params=CT_PATH,
    body=obj({"volid": _VOLID}),
    body_required=True,
    response=obj({"message": {"type": "string"}}),
    errors=(404, 409, 502),
    description="409 when it is protected, the node's API token lacks a privilege it needs "
    "(named) or Proxmox refused; nothing was deleted.",
)
async def delete_backup_op(call: ApiCall) -> dict[str, Any]:
    volid = _volid(call.body or {})
    entry, _ = await _backup_of(call, volid)
    outcome = await actions.delete_backup(
        call.user_id, call.params["node_id"], entry.pve_node, volid
    )
    if not outcome.ok:
        raise refused(outcome)
    return {"message": outcome.message}


@API.operation(
    "POST",
    routes.API_CONTAINER_BACKUP_RESTORE,
    operation_id="restoreBackupAsNew",
    summary="Restore a backup of the container as a new container (an operation job)",
    tag="backups",
    params=CT_PATH,
    body=obj(
        {
            "volid": _VOLID,
            "vmid": VMID,
            "hostname": {"type": "string"},
            "storage": {"type": "string", "description": "the new root disk's storage"},
            "pve_node": {"type": "string", "description": "default: the container's node"},
        },
        required=["volid", "vmid", "hostname", "storage"],
    ),
    body_required=True,
    response=obj({"operation": OPERATION}),
    status=202,
    errors=(404, 409, 502),
    description="The VMID is checked and held as the wizard's (422 `vmid` when taken). A "
    "backup on a node's own storage can only be restored on that node (409).",
)
async def restore_backup_op(call: ApiCall) -> Any:
    body = call.body or {}
    volid = _volid(body)
    vmid = body.get("vmid")
    if isinstance(vmid, bool) or not isinstance(vmid, int):
        raise invalid("vmid", "vmid must be a whole number")
    texts = {}
    for name in ("hostname", "storage", "pve_node"):
        value = body.get(name, "")
        if not isinstance(value, str):
            raise invalid(name, f"{name} must be a string")
        texts[name] = value
    entry, ct_node = await _backup_of(call, volid)
    outcome = await actions.restore_new(
        call.user_id, call.params["node_id"], volid, vmid_text=str(vmid),
        hostname=texts["hostname"], storage=texts["storage"].strip(),
        pve_node=texts["pve_node"] or ct_node, backup_node=entry.pve_node,
    )  # fmt: skip
    if not outcome.ok or outcome.job_id is None:
        raise refused(outcome)
    view = await find_operation(call.user_id, outcome.job_id)
    return JSONResponse(
        {"operation": operation_json(view)},
        status_code=202,
        headers={"Location": routes.api_operation(view.id), "Cache-Control": "no-store"},
    )
