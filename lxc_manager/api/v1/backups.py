"""Backups of a container (list, back up now) and operations (the jobs that back up,
restore, clone...: get one, follow its progress as Server-Sent Events).

Everything goes through the services the container page's Backups tab uses: the listing
is `backups.listing.list_backups`, a backup is `backups.actions.back_up` (its validation,
the Proxmox privilege pre-check naming what the node's token lacks, the audit trail) and
the job is an operation job (`operations.jobs`), scoped to the key's user: another user's
node, container or operation is "not found". The event stream is the creations' one
(`streams.follow_response`) over the operation's progress stream.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

from starlette.responses import JSONResponse, StreamingResponse

from lxc_manager import routes
from lxc_manager.api.framework import ApiCall, ApiError, Param, invalid, not_found
from lxc_manager.backups import actions
from lxc_manager.backups.listing import BackupEntry, list_backups
from lxc_manager.nodes import NodeNotFound
from lxc_manager.operations import jobs as operations
from lxc_manager.operations.jobs import OperationView
from lxc_manager.proxmox.backup_api import COMPRESSIONS, MODES
from lxc_manager.proxmox.errors import ClientUnavailable, ProxmoxError

from .containers import find_container
from .registry import API
from .schemas import NODE_ID, STRINGS, TIME, TIME_OR_NULL, VMID, array, iso, obj
from .streams import AFTER_PARAM, KEEPALIVE_SECONDS, after_of, follow_response

MSG_NO_OPERATION = "No such operation"

BACKUP = obj(
    {
        "volid": {"type": "string"},
        "storage": {"type": "string"},
        "pve_node": {"type": "string", "description": "the Proxmox node to address it on"},
        "filename": {"type": "string"},
        "vmid": VMID,
        "size": {"type": "integer"},
        "ctime": {"type": "integer", "description": "Unix time it was made"},
        "created_at": TIME,
        "notes": {"type": "string"},
        "protected": {"type": "boolean"},
        "format": {"type": "string"},
        "origin": {"type": "string", "description": "who or which job made it (or empty)"},
    }
)
STORAGE = obj(
    {
        "storage": {"type": "string"},
        "pve_node": {"type": "string"},
        "shared": {"type": "boolean"},
        "type": {"type": "string"},
        "avail": {"type": ["integer", "null"]},
    }
)
OPERATION = obj(
    {
        "id": {"type": "string"},
        "kind": {"type": "string", "description": "backup, restore, clone, ..."},
        "title": {"type": "string"},
        "status": {"type": "string", "enum": ["queued", "running", "succeeded", "failed"]},
        "step": {"type": "integer"},
        "percent": {"type": "integer"},
        "steps": array(
            obj(
                {
                    "number": {"type": "integer"},
                    "kind": {"type": "string"},
                    "name": {"type": "string"},
                    "state": {
                        "type": "string",
                        "enum": ["pending", "running", "ok", "failed", "skipped"],
                    },
                    "message": {"type": "string"},
                    "started_at": TIME_OR_NULL,
                    "ended_at": TIME_OR_NULL,
                }
            )
        ),
        "vmid": VMID,
        "node_id": {"type": ["integer", "null"]},
        "node_name": {"type": "string"},
        "pve_node": {"type": "string"},
        "error": {"type": "string"},
        "result": {"type": "object", "description": "e.g. the new container's vmid"},
        "created_at": TIME,
        "started_at": TIME_OR_NULL,
        "finished_at": TIME_OR_NULL,
    }
)
BACKUP_BODY = obj(
    {
        "storage": {"type": "string", "description": "a backup storage the node offers"},
        "mode": {"type": "string", "enum": list(MODES), "default": "snapshot"},
        "compress": {"type": "string", "enum": list(COMPRESSIONS), "default": "zstd"},
        "notes": {"type": "string", "maxLength": actions.NOTES_MAX, "default": ""},
        "protected": {"type": "boolean", "default": False},
    },
    required=["storage"],
)
CT_PATH = (
    Param("node_id", "path", NODE_ID, "One of the user's node ids (GET /api/v1/nodes)"),
    Param("vmid", "path", VMID, "The container's VMID"),
)
_JOB_PATH = Param(
    "job_id", "path", {"type": "string", "maxLength": 32, "pattern": "^[A-Za-z0-9]+$"}
)


def backup_json(entry: BackupEntry) -> dict[str, Any]:
    return {
        "volid": entry.volid,
        "storage": entry.storage,
        "pve_node": entry.pve_node,
        "filename": entry.filename,
        "vmid": entry.vmid,
        "size": entry.size,
        "ctime": entry.ctime,
        "created_at": datetime.fromtimestamp(entry.ctime, UTC).isoformat(),
        "notes": entry.notes,
        "protected": entry.protected,
        "format": entry.format,
        "origin": entry.origin,
    }


def operation_json(view: OperationView) -> dict[str, Any]:
    return {
        "id": view.id,
        "kind": view.kind,
        "title": view.title,
        "status": view.status,
        "step": view.step,
        "percent": view.percent,
        "steps": [
            {
                "number": s.number,
                "kind": s.kind,
                "name": s.name,
                "state": s.state,
                "message": s.message,
                "started_at": iso(s.started_at),
                "ended_at": iso(s.ended_at),
            }
            for s in view.steps
        ],
        "vmid": view.vmid,
        "node_id": view.node_id,
        "node_name": view.node_name,
        "pve_node": view.pve_node,
        "error": view.error,
        "result": view.result,
        "created_at": iso(view.created_at),
        "started_at": iso(view.started_at),
        "finished_at": iso(view.finished_at),
    }


def unavailable(error: Exception) -> ApiError:
    message = getattr(error, "user_message", "") or "The node could not be reached"
    return ApiError(502, "node_unavailable", str(message))


@API.operation(
    "GET",
    routes.API_CONTAINER_BACKUPS,
    operation_id="listBackups",
    summary="The container's backups on every backup storage of its cluster, newest first",
    tag="backups",
    params=CT_PATH,
    response=obj(
        {
            "backups": array(BACKUP),
            "storages": array(STORAGE),
            "errors": {**STRINGS, "description": "storages or nodes that could not be read"},
        }
    ),
    errors=(404, 502),
)
async def list_backups_op(call: ApiCall) -> dict[str, Any]:
    node_id, vmid = call.params["node_id"], call.params["vmid"]
    await find_container(call.user_id, node_id, vmid)
    try:
        listing = await list_backups(call.user_id, node_id, vmid)
    except NodeNotFound:
        raise not_found(actions.MSG_NODE_NOT_FOUND) from None
    except (ClientUnavailable, ProxmoxError) as exc:
        raise unavailable(exc) from None
    return {
        "backups": [backup_json(entry) for entry in listing.entries],
        "storages": [dataclasses.asdict(s) for s in listing.storages],
        "errors": list(listing.errors),
    }


def _text(body: dict[str, Any], name: str, default: str) -> str:
    value = body.get(name, default)
    if not isinstance(value, str):
        raise invalid(name, f"{name} must be a string")
    return value


def backup_options(body: dict[str, Any]) -> actions.BackupOptions:
    """The body's choices (types only: the values are the service's to judge)."""
    protected = body.get("protected", False)
    if not isinstance(protected, bool):
        raise invalid("protected", "protected must be true or false")
    return actions.BackupOptions(
        storage=_text(body, "storage", "").strip(),
        mode=_text(body, "mode", "snapshot"),
        compress=_text(body, "compress", "zstd"),
        notes=_text(body, "notes", ""),
        protected=protected,
    )


def refused(outcome: actions.Outcome) -> ApiError:
    if outcome.field != "form":
        return invalid(outcome.field, outcome.message)
    if outcome.message == actions.MSG_NODE_NOT_FOUND:
        return not_found(outcome.message)
    return ApiError(409, "refused", outcome.message)


async def find_operation(user_id: str, job_id: str) -> OperationView:
    view = await operations.get_operation(user_id, job_id)
    if view is None:
        raise not_found(MSG_NO_OPERATION)
    return view


@API.operation(
    "POST",
    routes.API_CONTAINER_BACKUPS,
    operation_id="backUpContainer",
    summary="Back up the container now: queue an operation job (vzdump)",
    tag="backups",
    params=CT_PATH,
    body=BACKUP_BODY,
    body_required=True,
    response=obj({"operation": OPERATION}),
    status=202,
    errors=(404, 409, 502),
    description='The Backups tab\'s "Back up now". A bad choice answers 422 naming the '
    "field (e.g. a storage that holds no backups on the container's node); 409 when the "
    "node's API token lacks a Proxmox privilege the backup needs (the message names it) "
    "or Proxmox refused: nothing was started. The answer's Location is the operation; "
    "follow it with GET /api/v1/operations/{job_id}/events.",
)
async def back_up_op(call: ApiCall) -> Any:
    node_id, vmid = call.params["node_id"], call.params["vmid"]
    options = backup_options(call.body or {})
    row = await find_container(call.user_id, node_id, vmid)
    outcome = await actions.back_up(call.user_id, node_id, row.pve_node, vmid, options)
    if not outcome.ok or outcome.job_id is None:
        raise refused(outcome)
    view = await find_operation(call.user_id, outcome.job_id)
    return JSONResponse(
        {"operation": operation_json(view)},
        status_code=202,
        headers={"Location": routes.api_operation(view.id), "Cache-Control": "no-store"},
    )


@API.operation(
    "GET",
    routes.API_OPERATIONS,
    operation_id="listOperations",
    summary="The user's operations (backups, restores, clones...), newest first",
    tag="operations",
    params=(
        Param("node_id", "query", {**NODE_ID, "minimum": 0, "default": 0}, "Only this node's"),
        Param("vmid", "query", {"type": "integer", "minimum": 0, "default": 0}, "Only this CT's"),
        Param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 200, "default": 20}),
    ),
    response=obj({"operations": array(OPERATION)}),
)
async def list_operations_op(call: ApiCall) -> dict[str, Any]:
    p = call.params
    found = await operations.operations_for(
        call.user_id, node_id=p["node_id"] or None, vmid=p["vmid"] or None, limit=p["limit"]
    )
    return {"operations": [operation_json(view) for view in found]}


@API.operation(
    "GET",
    routes.API_OPERATION,
    operation_id="getOperation",
    summary="One operation with its steps (a running one whose worker died is failed)",
    tag="operations",
    params=(_JOB_PATH,),
    response=obj({"operation": OPERATION}),
    errors=(404,),
)
async def get_operation_op(call: ApiCall) -> dict[str, Any]:
    return {"operation": operation_json(await find_operation(call.user_id, call.params["job_id"]))}


@API.operation(
    "GET",
    routes.API_OPERATION_EVENTS,
    operation_id="followOperation",
    summary="The operation's progress as Server-Sent Events: replay, then live, until it ends",
    tag="operations",
    params=(
        _JOB_PATH,
        AFTER_PARAM,
    ),
    response={"type": "string"},
    media_type="text/event-stream",
    errors=(404,),
    description="As a creation's events: `status`, `step`, `line` (Proxmox's task log) and "
    "`result` entries with their ids, a comment every 15 s of quiet, `end` with the "
    "finished operation, `error` when the key was revoked or expired meanwhile.",
)
async def follow_operation_op(call: ApiCall) -> StreamingResponse:
    job_id = call.params["job_id"]
    after = after_of(call)
    await find_operation(call.user_id, job_id)
    return await follow_response(
        call,
        job_id,
        after,
        lookup=operations.get_operation,
        end=lambda view: {"operation": operation_json(view) if view else None},
        keepalive=KEEPALIVE_SECONDS,
    )
