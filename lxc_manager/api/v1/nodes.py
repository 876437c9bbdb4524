"""`GET /api/v1/nodes`: the key's user's Proxmox nodes (no secrets), optionally probed."""

from __future__ import annotations

from typing import Any

from lxc_manager import routes
from lxc_manager.api.framework import ApiCall, Param
from lxc_manager.nodes import NodeView, Probe, list_nodes, probe_nodes

from .registry import API
from .schemas import NODE_ID, STRINGS, TIME, array, obj

PROBE_TIMEOUT = 5.0

NODE = obj(
    {
        "id": NODE_ID,
        "name": {"type": "string"},
        "address": {"type": "string"},
        "token_id": {"type": "string"},
        "is_default": {"type": "boolean"},
        "cluster_name": {"type": "string"},
        "pve_nodes": STRINGS,
        "has_ssh": {"type": "boolean"},
        "created_at": TIME,
        "probe": {
            "type": ["object", "null"],
            "properties": {
                "reachable": {"type": "boolean"},
                "latency_ms": {"type": ["number", "null"]},
                "error": {"type": "string"},
                "ssh": {"type": "string"},
            },
        },
    }
)


def node_json(node: NodeView, probe: Probe | None = None) -> dict[str, Any]:
    return {
        "id": node.id,
        "name": node.name,
        "address": node.address,
        "token_id": node.token_id,
        "is_default": node.is_default,
        "cluster_name": node.cluster_name,
        "pve_nodes": list(node.pve_nodes),
        "has_ssh": node.has_ssh,
        "created_at": node.created_at.isoformat(),
        "probe": None
        if probe is None
        else {
            "reachable": probe.reachable,
            "latency_ms": probe.latency_ms,
            "error": probe.error,
            "ssh": probe.ssh,
        },
    }


@API.operation(
    "GET",
    routes.API_NODES,
    operation_id="listNodes",
    summary="The user's Proxmox nodes, the default first",
    tag="nodes",
    params=(
        Param(
            "probe",
            "query",
            {"type": "boolean", "default": False},
            "Also test each node's API and SSH now (all nodes at once, 5 s each at most)",
        ),
    ),
    response=obj({"nodes": array(NODE)}),
)
async def list_nodes_op(call: ApiCall) -> dict[str, Any]:
    nodes = await list_nodes(call.user_id)
    probes = await probe_nodes(call.user_id, PROBE_TIMEOUT) if call.params["probe"] else {}
    return {"nodes": [node_json(node, probes.get(node.id)) for node in nodes]}
