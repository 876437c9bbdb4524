"""Creations (provisioning jobs): submit with the wizard's fields and rules, preview, list,
get, follow the progress as Server-Sent Events, retry / destroy / keep.

Submit and preview are `provisioning.creations` (the wizard's defaults, rules and submit
path); the rest are the job page's services (`provisioning.jobs`), scoped to the key's user:
another user's job is "not found". The event stream is `provisioning.follow.follow_job`:
the job's Redis stream replayed from the start (or after `Last-Event-ID`), then live, a
keep-alive comment every 15 s of quiet (when the key is checked again), and an `end` event
with the job once it is finished.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, Final

from starlette.responses import JSONResponse, StreamingResponse

from lxc_manager import routes
from lxc_manager.api.framework import ApiCall, ApiError, Param, invalid, not_found
from lxc_manager.provisioning import creations, jobs
from lxc_manager.provisioning.jobs import JobView
from lxc_manager.provisioning.request import request_to_json

from .registry import API
from .schemas import STRINGS, TIME, TIME_OR_NULL, VMID, array, iso, obj
from .streams import AFTER_PARAM, after_of, follow_response
from .streams import KEEPALIVE_SECONDS as IDLE_KEEPALIVE

JOB_ID: dict[str, Any] = {"type": "string", "maxLength": 32, "pattern": "^[A-Za-z0-9]+$"}
ACTIONS: Final = ("retry", "destroy", "keep")
KEEPALIVE_SECONDS = IDLE_KEEPALIVE  # quiet before a keep-alive (and a check of the key)

STEP = obj(
    {
        "number": {"type": "integer"},
        "name": {"type": "string"},
        "state": {"type": "string", "enum": ["pending", "running", "ok", "failed", "skipped"]},
        "started_at": TIME_OR_NULL,
        "ended_at": TIME_OR_NULL,
        "message": {"type": "string"},
    }
)
JOB = obj(
    {
        "id": {"type": "string"},
        "status": {
            "type": "string",
            "enum": ["queued", "running", "failed", "succeeded", "destroyed"],
        },
        "step": {"type": "integer"},
        "step_name": {"type": "string"},
        "percent": {"type": "integer"},
        "steps": array(STEP),
        "vmid": VMID,
        "hostname": {"type": "string"},
        "node_id": {"type": ["integer", "null"]},
        "node_name": {"type": "string"},
        "pve_node": {"type": "string"},
        "template_id": {"type": ["integer", "null"]},
        "template_name": {"type": "string"},
        "content_digest": {"type": "string"},
        "error": {"type": "string"},
        "attempts": {"type": "integer"},
        "kept": {"type": "boolean"},
        "retryable": {"type": "boolean"},
        "can_destroy": {"type": "boolean"},
        "created_at": TIME,
        "started_at": TIME_OR_NULL,
        "finished_at": TIME_OR_NULL,
    }
)
_FLAGS = {"type": "boolean"}
BODY = obj(
    {
        "template_id": {"type": "integer", "minimum": 1, "description": "default: none"},
        "node_id": {"type": "integer", "minimum": 1, "description": "default: the default node"},
        "pve_node": {"type": "string", "description": "default: the first online"},
        "vmid": {**VMID, "description": "default: the cluster's next free VMID"},
        "hostname": {"type": "string"},
        "os_template": {"type": "string", "description": "a volid the node offers"},
        "storage": {"type": "string"},
        "disk_gb": {"type": "integer"},
        "cores": {"type": "integer"},
        "memory_mb": {"type": "integer"},
        "swap_mb": {"type": "integer"},
        "bridge": {"type": "string"},
        "ipv4": {"type": "string", "description": "dhcp (default) or CIDR, e.g. 10.0.0.5/24"},
        "gateway": {"type": "string"},
        "nameserver": {"type": "string"},
        "searchdomain": {"type": "string"},
        "ssh_public_keys": {"type": "string", "description": "one OpenSSH public key a line"},
        "tags": {"type": ["array", "string"], "items": {"type": "string"}},
        "onboot": _FLAGS,
        "features": obj(
            {"unprivileged": _FLAGS, "nesting": _FLAGS, "keyctl": _FLAGS, "fuse": _FLAGS},
            required=[],
        ),
        "scripts": array(obj({"name": {"type": "string"}, "enabled": _FLAGS}, required=["name"])),
        "packages": array(
            obj(
                {
                    "manager": {"type": "string", "enum": ["apt", "npm", "pip", "custom"]},
                    "name": {"type": "string"},
                    "version": {"type": "string"},
                    "command": {"type": "string"},
                },
                required=["manager", "name"],
            )
        ),
        "buckets": STRINGS,
        "content_digest": {
            "type": "string",
            "description": "the digest a preview answered: refused (422) when the template "
            "changed since",
        },
    },
    required=["hostname"],
)
assert set(BODY["properties"]) == set(creations.FIELDS)
_BODY_TEXT = (
    "The wizard's fields. What is left out is chosen as the wizard chooses it: the default "
    "node, its first online Proxmox node, the template's size, tags, features, scripts, "
    "packages and buckets, the OS template matching the template's, the template's "
    "storage and bridge when offered (else the first offered), the next free VMID. Values "
    "given must be among those the node offers. The same rules as the wizard apply; the "
    "first wrong field is named in a 422."
)
_JOB_PATH = Param("job_id", "path", JOB_ID, "The job's id")


def job_json(view: JobView) -> dict[str, Any]:
    return {
        "id": view.id,
        "status": view.status,
        "step": view.step,
        "step_name": view.step_name,
        "percent": view.percent,
        "steps": [
            {
                "number": s.number,
                "name": s.name,
                "state": s.state,
                "started_at": iso(s.started_at),
                "ended_at": iso(s.ended_at),
                "message": s.message,
            }
            for s in view.steps
        ],
        "vmid": view.vmid,
        "hostname": view.hostname,
        "node_id": view.node_id,
        "node_name": view.node_name,
        "pve_node": view.pve_node,
        "template_id": view.template_id,
        "template_name": view.template_name,
        "content_digest": view.content_digest,
        "error": view.error,
        "attempts": view.attempts,
        "kept": view.kept,
        "retryable": view.retryable,
        "can_destroy": view.can_destroy,
        "created_at": iso(view.created_at),
        "started_at": iso(view.started_at),
        "finished_at": iso(view.finished_at),
    }


def _refused(result: creations.CreationResult) -> ApiError:
    field, message = next(iter(result.errors.items()))
    if result.unavailable:
        return ApiError(503 if field == "form" else 502, "unavailable", message, field)
    if field == "form":
        return ApiError(409, "conflict", message)
    return invalid(field, message)


async def _job(user_id: str, job_id: str) -> JobView:
    view = await jobs.get_job(user_id, job_id)
    if view is None:
        raise not_found(jobs.MSG_NOT_FOUND)
    return view


@API.operation(
    "POST",
    routes.API_CREATIONS,
    operation_id="submitCreation",
    summary="Create a container: queue a provisioning job (the wizard's submit)",
    tag="creations",
    body=BODY,
    body_required=True,
    response=obj({"job": JOB}),
    status=201,
    errors=(409, 502, 503),
    description=_BODY_TEXT + " 409: the user has the most jobs queued at once, or the "
    "template changed meanwhile. The answer's Location is the job.",
)
async def submit_creation_op(call: ApiCall) -> Any:
    result = await creations.submit(call.actor, call.body)
    if result.job_id is None:
        raise _refused(result)
    view = await _job(call.user_id, result.job_id)
    return JSONResponse(
        {"job": job_json(view)},
        status_code=201,
        headers={"Location": routes.api_creation(view.id), "Cache-Control": "no-store"},
    )


@API.operation(
    "POST",
    routes.API_CREATION_PREVIEW,
    operation_id="previewCreation",
    summary="What a submit of the same body would run (the wizard's review step)",
    tag="creations",
    body=BODY,
    body_required=True,
    response=obj(
        {
            "request": {"type": "object", "description": "the whole request, recipe included"},
            "proxmox_params": {"type": "object", "description": "POST /nodes/{node}/lxc"},
            "content_digest": {"type": "string"},
        }
    ),
    errors=(502, 503),
    description="Nothing is saved or held. Send `content_digest` with the submit to refuse "
    "it when the template changed in between.",
)
async def preview_creation_op(call: ApiCall) -> dict[str, Any]:
    found = await creations.preview(call.actor, call.body)
    if isinstance(found, creations.CreationResult):
        raise _refused(found)
    return {
        "request": json.loads(request_to_json(found.request)),
        "proxmox_params": found.params,
        "content_digest": found.content_digest,
    }


@API.operation(
    "GET",
    routes.API_CREATIONS,
    operation_id="listCreations",
    summary="The user's creation jobs, newest first",
    tag="creations",
    params=(
        Param(
            "active",
            "query",
            {"type": "boolean", "default": False},
            "Only queued, running and failed jobs",
        ),
    ),
    response=obj({"jobs": array(JOB)}),
)
async def list_creations_op(call: ApiCall) -> dict[str, Any]:
    found = await jobs.list_jobs(call.user_id, active_or_failed_only=call.params["active"])
    return {"jobs": [job_json(view) for view in found]}


@API.operation(
    "GET",
    routes.API_CREATION,
    operation_id="getCreation",
    summary="One creation job with its steps",
    tag="creations",
    params=(_JOB_PATH,),
    response=obj({"job": JOB}),
    errors=(404,),
)
async def get_creation_op(call: ApiCall) -> dict[str, Any]:
    return {"job": job_json(await _job(call.user_id, call.params["job_id"]))}


JobCall = Callable[[str, str], Awaitable[str | None]]
_CALLS: dict[str, JobCall] = {"retry": jobs.retry, "destroy": jobs.destroy, "keep": jobs.keep}


@API.operation(
    "POST",
    routes.API_CREATION_ACTION,
    operation_id="creationAction",
    summary="Retry a failed job from its failed step, destroy its half-built container, "
    "or keep it for debugging (the job page's buttons)",
    tag="creations",
    params=(_JOB_PATH, Param("action", "path", {"type": "string", "enum": list(ACTIONS)})),
    response=obj({"job": JOB}),
    errors=(404, 409, 503),
    description="409 when the job is not in a state that allows it (only a failed job can "
    "be retried, destroyed or kept) or Proxmox refused; the message says why.",
)
async def creation_action_op(call: ApiCall) -> dict[str, Any]:
    job_id, action = call.params["job_id"], call.params["action"]
    await _job(call.user_id, job_id)
    message = await _CALLS[action](call.user_id, job_id)
    if message == jobs.MSG_NOT_FOUND:
        raise not_found(message)
    if message == jobs.MSG_QUEUE_FAILED:
        raise ApiError(503, "unavailable", message)
    if message:
        raise ApiError(409, "conflict", message)
    return {"job": job_json(await _job(call.user_id, job_id))}


# -- Server-Sent Events ---------------------------------------------------------------------------


@API.operation(
    "GET",
    routes.API_CREATION_EVENTS,
    operation_id="followCreation",
    summary="The job's progress as Server-Sent Events: replay, then live, until it ends",
    tag="creations",
    params=(
        _JOB_PATH,
        AFTER_PARAM,
    ),
    response={"type": "string"},
    media_type="text/event-stream",
    errors=(404,),
    description="Events `status`, `step`, `line` and `result` carry the progress stream's "
    "entries (their `id` resumes the stream); a comment every 15 s of quiet keeps the "
    "connection open; `end` carries the finished job and closes the stream; `error` closes "
    "it when the key was revoked or expired meanwhile.",
)
async def follow_creation_op(call: ApiCall) -> StreamingResponse:
    job_id = call.params["job_id"]
    after = after_of(call)
    await _job(call.user_id, job_id)
    return await follow_response(
        call,
        job_id,
        after,
        lookup=jobs.get_job,
        end=lambda view: {"job": job_json(view) if view else None},
        keepalive=KEEPALIVE_SECONDS,
    )
