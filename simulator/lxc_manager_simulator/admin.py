"""The simulator's own admin API (`/_sim/...`, loopback clients only): faults, clock, reset.

Served on every endpoint's HTTPS port (acting on that endpoint) and on the plain-HTTP
admin port (acting on `?endpoint=N`, default 0), which stays reachable while an endpoint
refuses connections.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson

from .httpserver import Request, Response
from .model import Cluster, PveError, param_error

if TYPE_CHECKING:
    from .api import ApiApp


def is_loopback(address: str) -> bool:
    return address.startswith(("127.", "::ffff:127.")) or address == "::1"


class AdminApi:
    def __init__(self, app: ApiApp) -> None:
        self.app = app
        # set by the CLI: apply an endpoint's mode (refuse -> close listener), reseed a cluster
        self.on_mode_change: Callable[[Cluster], None] | None = None
        self.reseed: Callable[[Cluster], None] | None = None

    async def handle(self, cluster: Cluster, request: Request) -> Response:
        if not is_loopback(request.peer):
            return _json(403, {"data": None, "message": "admin API is loopback only\n"})
        try:
            body = _body(request)
            return _json(200, {"data": self._dispatch(cluster, request, body)})
        except PveError as exc:
            payload: dict[str, Any] = {"data": None, "message": exc.message + "\n"}
            if exc.errors:
                payload["errors"] = exc.errors
            return _json(exc.status, payload)

    def _dispatch(self, cluster: Cluster, request: Request, body: dict[str, Any]) -> Any:
        key = (request.method, request.path.rstrip("/"))
        if key == ("GET", "/_sim/faults"):
            return faults_view(cluster)
        if key == ("POST", "/_sim/faults"):
            return self._set_faults(cluster, body)
        if key == ("POST", "/_sim/advance"):
            return _advance(cluster, body)
        if key == ("POST", "/_sim/reset"):
            return self._reset(cluster, body)
        if key == ("GET", "/_sim/state"):
            return state_view(cluster)
        raise PveError(404, f"no admin route {request.method} {request.path}")

    def _set_faults(self, cluster: Cluster, body: dict[str, Any]) -> Any:
        body = dict(body)
        node_change = _node_change(cluster, body)
        old_mode = cluster.faults.mode
        cluster.faults.update(body)
        if node_change is not None:
            node, online, unreachable_as, hang = node_change
            if online is not None:
                cluster.set_node_online(node, online, unreachable_as)
            if hang is not None:
                cluster.set_node_hanging(node, hang)
        cluster.changed()
        if cluster.faults.mode != old_mode and self.on_mode_change is not None:
            self.on_mode_change(cluster)
        return faults_view(cluster)

    def _reset(self, cluster: Cluster, body: dict[str, Any]) -> Any:
        old_mode = cluster.faults.mode
        cluster.reset_faults()
        if body.get("state"):
            if self.reseed is None:
                raise PveError(500, "reseeding is not available")
            self.reseed(cluster)
        if old_mode != cluster.faults.mode and self.on_mode_change is not None:
            self.on_mode_change(cluster)
        return faults_view(cluster)


UNREACHABLE_AS = ("no-route", "timeout")


def _node_change(
    cluster: Cluster, body: dict[str, Any]
) -> tuple[str, bool | None, str, bool | None] | None:
    """Pops `node` + `online` (+ `unreachable`: no-route | timeout) and/or `hang` from a
    faults body -> (node, online, unreachable_as, hang)."""
    keys = ("node", "online", "unreachable", "hang")
    if not any(k in body for k in keys):
        return None
    node, online, hang = body.pop("node", None), body.pop("online", None), body.pop("hang", None)
    unreachable_as = body.pop("unreachable", "no-route")
    errors = {}
    if node not in cluster.nodes:
        errors["node"] = f"unknown node; one of {', '.join(cluster.nodes)}"
    if online is None and hang is None:
        errors["online"] = "online and/or hang is required with node"
    if online is not None and not isinstance(online, bool):
        errors["online"] = "true or false"
    if hang is not None and not isinstance(hang, bool):
        errors["hang"] = "true or false"
    if unreachable_as not in UNREACHABLE_AS:
        errors["unreachable"] = f"one of {', '.join(UNREACHABLE_AS)}"
    if errors:
        raise param_error(errors)
    return str(node), online, str(unreachable_as), hang


def _advance(cluster: Cluster, body: dict[str, Any]) -> Any:
    seconds = body.get("seconds")
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
        raise param_error({"seconds": "non-negative number"})
    cluster.advance(float(seconds))
    return {"offset": cluster.clock.offset, "now": cluster.clock.now()}


def faults_view(cluster: Cluster) -> dict[str, Any]:
    return {
        **cluster.faults.to_dict(),
        "nodes": {name: node.online for name, node in cluster.nodes.items()},
        "hanging": [name for name, node in cluster.nodes.items() if node.hanging],
        "clock_offset": cluster.clock.offset,
    }


def state_view(cluster: Cluster) -> dict[str, Any]:
    return {
        "name": cluster.name,
        "nodes": [{"node": n.name, "online": n.online} for n in cluster.nodes.values()],
        "containers": [
            {"vmid": c.vmid, "node": c.node, "status": c.status, "name": c.name}
            for c in sorted(cluster.containers.values(), key=lambda c: c.vmid)
        ],
        "vms": [
            {"vmid": v.vmid, "node": v.node, "status": v.status, "name": v.name}
            for v in sorted(cluster.vms.values(), key=lambda v: v.vmid)
        ],
        "tasks": len(cluster.tasks),
        "clock_offset": cluster.clock.offset,
    }


def _body(request: Request) -> dict[str, Any]:
    if not request.body.strip():
        return {}
    try:
        body = orjson.loads(request.body)
    except orjson.JSONDecodeError as exc:
        raise PveError(400, "the body must be a JSON object") from exc
    if not isinstance(body, dict):
        raise PveError(400, "the body must be a JSON object")
    return body


def _json(status: int, payload: dict[str, Any]) -> Response:
    return Response(status, orjson.dumps(payload))
