"""The HTTPS API under `/api2/json` (and the loopback-only admin API under `/_sim/`).

One `ApiApp` serves every endpoint of the simulation; each endpoint's HTTP server calls
`handle(cluster, request)`. Order of checks as in pveproxy: route, authentication (and
CSRF), the PVE node (unknown / offline -> 595), parameters, then the handler.
"""

from __future__ import annotations

import asyncio
import logging
import urllib.parse
from typing import Any

import orjson

from . import (  # noqa: F401 (routes)
    auth,
    endpoints_access,
    endpoints_backup,
    endpoints_cluster,
    endpoints_console,
    endpoints_ha,
    endpoints_lxc,
)
from .admin import AdminApi
from .console import Consoles, Upgrade
from .httpserver import Request, Response
from .model import Cluster, PveError, Simulation
from .params import Param, verify
from .router import ROUTES, Ctx, Envelope, RawBody, Route, Router
from .schema import declarations_for

log = logging.getLogger("lxc_manager_simulator.api")

API_PREFIX = "/api2/json"
JSON = "application/json;charset=UTF-8"
PROXY_TIMEOUT = 30.0  # seconds pveproxy waits for a member (AnyEvent.pm proxy_request)


class Unauthorized(Exception):
    """401 with an empty body (what pveproxy answers to missing or bad credentials)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BodyCache:
    """Serialised bodies valid until the cluster changes or the simulated second turns."""

    def __init__(self) -> None:
        self._stamp: tuple[int, int] | None = None
        self._bodies: dict[object, bytes] = {}

    def _refresh(self, cluster: Cluster) -> None:
        stamp = (cluster.generation, int(cluster.clock.now()))
        if stamp != self._stamp:
            self._stamp = stamp
            self._bodies.clear()

    def get(self, cluster: Cluster, key: object) -> bytes | None:
        self._refresh(cluster)
        return self._bodies.get(key)

    def put(self, key: object, body: bytes) -> None:
        self._bodies[key] = body


class ClusterCache:
    def __init__(self, cluster: Cluster, cache: BodyCache) -> None:
        self.cluster = cluster
        self._cache = cache

    def get(self, key: object) -> bytes | None:
        return self._cache.get(self.cluster, key)

    def put(self, key: object, body: bytes) -> None:
        self._cache.put(key, body)


class ApiApp:
    def __init__(
        self,
        simulation: Simulation,
        *,
        auth_failure_delay: float = 3.0,
        schema: list[dict[str, Any]] | None = None,
        proxy_timeout: float = PROXY_TIMEOUT,
    ) -> None:
        self.simulation = simulation
        self.auth_failure_delay = auth_failure_delay
        self.proxy_timeout = proxy_timeout
        self.router = Router(ROUTES)
        self.declarations = self._declarations(schema)
        self._caches: dict[int, BodyCache] = {}
        self.admin = AdminApi(self)
        self.consoles = Consoles()

    @staticmethod
    def _declarations(
        schema: list[dict[str, Any]] | None,
    ) -> dict[tuple[str, str], dict[str, Param]]:
        """The embedded declarations, or with `--schema` the official ones."""
        result: dict[tuple[str, str], dict[str, Param]] = {}
        for r in ROUTES:
            official = declarations_for(schema, r.path, r.method) if schema else None
            result[(r.path, r.method)] = official if official is not None else r.params
        return result

    def cache(self, cluster: Cluster) -> ClusterCache:
        return ClusterCache(cluster, self._caches.setdefault(cluster.index, BodyCache()))

    async def handle(self, cluster: Cluster, request: Request) -> Response:
        if request.path.startswith("/_sim/"):
            return await self.admin.handle(cluster, request)
        if not request.path.startswith(API_PREFIX + "/"):
            return error_response(PveError(404, f"no such file '{request.path}'"))
        await self._inject_latency(cluster)
        cluster.settle()
        with_message = cluster.pve.error_message_in_body
        if cluster.faults.error_rate and cluster.rng.random() < cluster.faults.error_rate:
            failure = PveError(500, "simulated failure (error rate fault)")
            return error_response(failure, with_message=with_message)
        try:
            return ok_response(await self._dispatch(cluster, request))
        except Unauthorized as exc:
            return Response(401, b"", reason=exc.reason)
        except PveError as exc:
            if exc.status in (595, 596):  # pveproxy's proxy errors: reason phrase, empty body
                return Response(exc.status, b"", reason=exc.message)
            return error_response(exc, with_message=with_message)

    async def _inject_latency(self, cluster: Cluster) -> None:
        faults = cluster.faults
        delay = faults.latency_ms + (
            cluster.rng.uniform(0, faults.jitter_ms) if faults.jitter_ms else 0
        )
        if delay > 0:
            await asyncio.sleep(delay / 1000)

    async def _dispatch(self, cluster: Cluster, request: Request) -> Any:
        path = request.path[len(API_PREFIX) :].rstrip("/") or "/"
        found = self.router.match(request.method, path)
        if found is not None and not cluster.pve.route_exists(request.method, found[0].path):
            found = None  # a route of a later release (--pve-version, versions.py)
        if found is None:
            raise PveError(501, f"Method '{request.method} {path}' not implemented")
        route, path_params = found
        identity = None if route.access == "world" else self._authenticate(cluster, request)
        if "node" in path_params:
            _check_node(cluster, route, path_params["node"])
            await self._proxy_wait(cluster, route, path_params["node"])
        raw = _raw_params(request)
        raw.update(path_params)
        params = verify(self.declarations[(route.path, route.method)], raw)
        ctx = Ctx(cluster=cluster, identity=identity, params=params, request=request, services=self)
        return await route.handler(ctx)

    async def _proxy_wait(self, cluster: Cluster, route: Route, node: str) -> None:
        """A member pveproxy cannot get an answer from: AnyEvent::HTTP (timeout 30 s in
        pve-http-server src/PVE/APIServer/AnyEvent.pm proxy_request) ends with 595 while
        connecting ("Connection timed out" to a silent host) and 596 once connected
        (a member whose pveproxy never answers). `--proxy-timeout` scales the wait."""
        pve_node = cluster.nodes[node]
        if not route.proxied or (pve_node.online and not pve_node.hanging):
            return
        await asyncio.sleep(self.proxy_timeout)
        raise PveError(596 if pve_node.online else 595, "Connection timed out")

    def _authenticate(self, cluster: Cluster, request: Request) -> auth.Identity:
        header = request.headers.get("authorization", "")
        if header.startswith("PVEAPIToken"):
            identity = auth.identity_from_token_header(cluster, header)
            if identity is None:
                raise Unauthorized("invalid token value!")
            return identity
        ticket = _ticket_of(request, header)
        if not ticket:
            raise Unauthorized("No ticket")
        userid = auth.verify_ticket(cluster, ticket)
        if userid is None:
            raise Unauthorized("invalid PVE ticket")
        if request.method != "GET":
            csrf = request.headers.get("csrfpreventiontoken", "")
            if not csrf or not auth.verify_csrf_token(cluster, csrf, userid):
                raise Unauthorized("Permission denied - invalid csrf token")
        return auth.Identity(userid=userid, by_ticket=True)


def _ticket_of(request: Request, header: str) -> str | None:
    if header.startswith("PVEAuthCookie="):
        return urllib.parse.unquote(header[len("PVEAuthCookie=") :].strip())
    for part in request.headers.get("cookie", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == "PVEAuthCookie":
            return urllib.parse.unquote(value)
    return None


def _check_node(cluster: Cluster, route: Route, node: str) -> None:
    pve_node = cluster.nodes.get(node)
    if pve_node is None:
        raise PveError(
            500,
            f"hostname lookup '{node}' failed - failed to get address info "
            f"for: {node}: Name or service not known",
        )
    if route.proxied and not pve_node.online and pve_node.unreachable_as == "no-route":
        raise PveError(595, "No route to host")  # AnyEvent::HTTP connect error: 595 + "$!"


def _raw_params(request: Request) -> dict[str, Any]:
    raw: dict[str, Any] = (
        dict(urllib.parse.parse_qsl(request.query, keep_blank_values=True)) if request.query else {}
    )
    if not request.body:
        return raw
    content_type = request.headers.get("content-type", "")
    if "json" in content_type:
        try:
            body = orjson.loads(request.body)
        except orjson.JSONDecodeError as exc:
            raise PveError(400, "malformed JSON request body") from exc
        if not isinstance(body, dict):
            raise PveError(400, "the JSON request body must be an object")
        raw.update(body)
    else:
        raw.update(
            urllib.parse.parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True)
        )
    return raw


def ok_response(result: Any) -> Response:
    if isinstance(result, Upgrade):  # a WebSocket: the connection is handed over
        return Response(101, upgrade=result.run)
    if isinstance(result, RawBody):
        return Response(200, result.body)
    if isinstance(result, Envelope):
        return Response(200, orjson.dumps({**result.extra, "data": result.data}))
    return Response(200, orjson.dumps({"data": result}))


def error_response(error: PveError, *, with_message: bool = True) -> Response:
    """PVE's error answer. `message` in the body only since libpve-http-server-perl 5.2.0
    (src/PVE/APIServer/Formatter/Standard.pm); older servers have it in the reason phrase
    only."""
    body: dict[str, Any] = {"data": None}
    if with_message:
        body["message"] = error.message.rstrip("\n") + "\n"
    if error.errors:
        body["errors"] = error.errors
    return Response(error.status, orjson.dumps(body), reason=error.message.split("\n")[0])
