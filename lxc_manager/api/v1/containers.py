"""Containers: list (the dashboard's listing and filters), get one, lifecycle actions.

The listing is the dashboard's own (`containers.list_containers`: every cluster at once,
each within its deadline) viewed through the dashboard's filters (`containers.view`).
Actions go through the same lifecycle service as the dashboard's buttons (`run_action`:
the user's own node, the container's lock, the audit trail).
"""

from __future__ import annotations

import asyncio
from typing import Any

from lxc_manager import routes
from lxc_manager.api.framework import ApiCall, ApiError, Param, not_found
from lxc_manager.containers import ACTIONS, ContainerRow, list_containers, run_action
from lxc_manager.containers.lifecycle import MSG_BUSY, MSG_NODE_NOT_FOUND
from lxc_manager.containers.listing import row_from_resource
from lxc_manager.containers.view import ALL, SEARCH_MAX, SORTS, ListingQuery, listing_view
from lxc_manager.nodes import NodeNotFound, client_for, get_node
from lxc_manager.proxmox.errors import ClientUnavailable, ProxmoxError

from .registry import API
from .schemas import NODE_ID, STRINGS, VMID, array, obj

MSG_NO_CONTAINER = "No such container on this node"
PER_PAGE_MAX = 500

CONTAINER = obj(
    {
        "node_id": NODE_ID,
        "node_name": {"type": "string"},
        "pve_node": {"type": "string"},
        "vmid": VMID,
        "name": {"type": "string"},
        "status": {"type": "string"},
        "cpu": {"type": "number"},
        "maxcpu": {"type": "integer"},
        "mem": {"type": "integer"},
        "maxmem": {"type": "integer"},
        "disk": {"type": "integer"},
        "maxdisk": {"type": "integer"},
        "uptime": {"type": "integer"},
        "tags": STRINGS,
        "template": {"type": "boolean"},
        "ip": {"type": "string"},
        "last_known": {"type": "boolean"},
        "ha": {"type": "boolean"},
    }
)
PROBLEM = obj({"node_id": NODE_ID, "node_name": {"type": "string"}, "message": {"type": "string"}})
_PATH = (
    Param("node_id", "path", NODE_ID, "One of the user's node ids (GET /api/v1/nodes)"),
    Param("vmid", "path", VMID, "The container's VMID"),
)


def container_json(row: ContainerRow) -> dict[str, Any]:
    data = row._asdict()
    data.pop("key")
    data["tags"] = list(row.tags)
    return data


def _filter(name: str, description: str) -> Param:
    return Param(name, "query", {"type": "string", "maxLength": 200, "default": ALL}, description)


@API.operation(
    "GET",
    routes.API_CONTAINERS,
    operation_id="listContainers",
    summary="Every container the user's nodes reach, with the dashboard's filters",
    tag="containers",
    params=(
        _filter("node", "Only this node's containers (a node name)"),
        _filter("status", "Only this status (running, stopped, ...)"),
        _filter("tag", "Only containers with this tag"),
        Param(
            "search",
            "query",
            {"type": "string", "maxLength": SEARCH_MAX, "default": ""},
            "Text in the name, VMID, IP or a tag",
        ),
        Param("sort", "query", {"type": "string", "enum": list(SORTS), "default": "name"}, "Order"),
        Param("page", "query", {"type": "integer", "minimum": 0, "maximum": 10**6, "default": 0}),
        Param(
            "per_page",
            "query",
            {"type": "integer", "minimum": 1, "maximum": PER_PAGE_MAX, "default": 50},
        ),
    ),
    response=obj(
        {
            "containers": array(CONTAINER),
            "matching": {"type": "integer"},
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
            "total": {"type": "integer"},
            "running": {"type": "integer"},
            "stopped": {"type": "integer"},
            "problems": array(PROBLEM),
        }
    ),
    description="A node that does not answer in time costs only its own containers: they "
    "are listed as last seen (`last_known`, status unknown) and the node is in `problems`.",
)
async def list_containers_op(call: ApiCall) -> dict[str, Any]:
    p = call.params
    listing = await list_containers(call.user_id)
    query = ListingQuery(
        node=p["node"], status=p["status"], tag=p["tag"], search=p["search"],
        sort=p["sort"], page=p["page"],
    )  # fmt: skip
    view = listing_view(listing.containers, query, page_size=p["per_page"])
    return {
        "containers": [container_json(row) for row in view.shown],
        "matching": view.matching,
        "page": view.page,
        "per_page": p["per_page"],
        "total": view.total,
        "running": view.running,
        "stopped": view.stopped,
        "problems": [
            {"node_id": x.node_id, "node_name": x.node_name, "message": x.message}
            for x in listing.problems
        ],
    }


def _unavailable(error: Exception) -> ApiError:
    message = getattr(error, "user_message", "") or "The node could not be reached"
    return ApiError(502, "node_unavailable", str(message))


async def find_container(user_id: str, node_id: int, vmid: int) -> ContainerRow:
    """The container `vmid` as the user's node `node_id` sees it; 404 for another user's
    node or a container that node does not reach, 502 when the node does not answer."""
    try:
        node = await get_node(user_id, node_id)
        client = await asyncio.to_thread(client_for, user_id, node_id)
    except NodeNotFound:
        raise not_found(MSG_NODE_NOT_FOUND) from None
    except ClientUnavailable as exc:
        raise _unavailable(exc) from None
    try:
        async with client as pve:
            resources = await pve.cluster_resources(type="vm")
    except ProxmoxError as exc:
        raise _unavailable(exc) from None
    for resource in resources:
        if resource.vmid == vmid:
            row = row_from_resource(node, resource)
            if row is not None:
                return row
    raise not_found(MSG_NO_CONTAINER)


@API.operation(
    "GET",
    routes.API_CONTAINER,
    operation_id="getContainer",
    summary="One container, through one of the user's nodes",
    tag="containers",
    params=_PATH,
    response=CONTAINER,
    errors=(404, 502),
)
async def get_container_op(call: ApiCall) -> dict[str, Any]:
    row = await find_container(call.user_id, call.params["node_id"], call.params["vmid"])
    return container_json(row)


@API.operation(
    "POST",
    routes.API_CONTAINER_ACTION,
    operation_id="containerAction",
    summary="Start, shut down, stop or reboot a container and wait for Proxmox's task",
    tag="containers",
    params=(
        *_PATH,
        Param("action", "path", {"type": "string", "enum": list(ACTIONS)}, "What to do"),
    ),
    body=obj(
        {
            "timeout": {"type": "integer", "minimum": 0, "maximum": 3600},
            "force": {"type": "boolean"},
        },
        required=[],
    ),
    response=obj(
        {
            "ok": {"type": "boolean"},
            "message": {"type": "string"},
            "upid": {"type": ["string", "null"]},
            "task_log": STRINGS,
        }
    ),
    errors=(404, 409, 502),
    description="`timeout` (seconds, default 60) bounds a shutdown (and the shutdown part "
    "of a reboot); `force` stops the container when the shutdown times out. The answer "
    "comes when Proxmox's task has ended; a failed task answers 409 with its message.",
)
async def container_action_op(call: ApiCall) -> dict[str, Any]:
    node_id, vmid, action = call.params["node_id"], call.params["vmid"], call.params["action"]
    timeout, force = _action_options(call.body or {})
    row = await find_container(call.user_id, node_id, vmid)
    result = await run_action(
        call.user_id, node_id, row.pve_node, vmid, action, shutdown_timeout=timeout, force=force
    )
    if result.ok:
        return {
            "ok": True,
            "message": result.message,
            "upid": result.upid,
            "task_log": list(result.task_log),
        }
    if result.message == MSG_NODE_NOT_FOUND:
        raise not_found(result.message)
    code = "busy" if result.message == MSG_BUSY else "action_failed"
    raise ApiError(409, code, result.message)


def _action_options(body: dict[str, Any]) -> tuple[int, bool]:
    timeout = body.get("timeout", 60)
    if isinstance(timeout, bool) or not isinstance(timeout, int) or not 0 <= timeout <= 3600:
        raise ApiError(
            422, "invalid", "timeout must be a whole number of seconds (0-3600)", "timeout"
        )
    force = body.get("force", False)
    if not isinstance(force, bool):
        raise ApiError(422, "invalid", "force must be true or false", "force")
    return timeout, force
