"""The route table of the `/api2/json` API: path templates, parameter declarations, handlers."""

from __future__ import annotations

import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .model import Cluster, Container, PveError
from .params import Param

if TYPE_CHECKING:
    from .auth import Identity
    from .httpserver import Request

Access = Literal["world", "user"]


@dataclass
class Envelope:
    """A handler result with extra top-level fields besides `data` (e.g. `total`)."""

    data: Any
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class RawBody:
    """A handler result that is already the serialised `{"data": ...}` body."""

    body: bytes


@dataclass
class Ctx:
    cluster: Cluster
    identity: Identity | None
    params: dict[str, Any]
    request: Request
    services: Any  # api.ApiApp: settings and caches shared by the handlers

    @property
    def user(self) -> Identity:
        if self.identity is None:
            raise PveError(401, "No ticket")
        return self.identity

    @property
    def node(self) -> str:
        return str(self.params["node"])

    def container(self) -> Container:
        """The container `vmid` on `node`, as PVE finds it: by its config file on that node."""
        vmid = int(self.params["vmid"])
        ct = self.cluster.find_container(vmid)
        if ct is None or ct.node != self.node:
            raise PveError(
                500, f"Configuration file 'nodes/{self.node}/lxc/{vmid}.conf' does not exist"
            )
        return ct


Handler = Callable[[Ctx], Awaitable[Any]]


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # template, e.g. /nodes/{node}/lxc/{vmid}
    params: dict[str, Param]
    handler: Handler
    access: Access = "user"
    proxied: bool = False  # proxied to the PVE node: 595 when that node is offline

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(s for s in self.path.split("/") if s)


ROUTES: list[Route] = []


def route(
    method: str,
    path: str,
    params: dict[str, Param],
    *,
    access: Access = "user",
    proxied: bool = False,
) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        ROUTES.append(Route(method, path, params, handler, access, proxied))
        return handler

    return register


class Router:
    """Finds the route of a request path; `{name}` segments become path parameters."""

    def __init__(self, routes: list[Route]) -> None:
        self.static: dict[tuple[str, str], Route] = {}
        self.dynamic: dict[tuple[str, int], list[Route]] = {}
        self.paths: set[str] = set()
        for r in routes:
            self.paths.add(r.path)
            if "{" in r.path:
                self.dynamic.setdefault((r.method, len(r.segments)), []).append(r)
            else:
                self.static[(r.method, r.path)] = r

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        found = self.static.get((method, path))
        if found is not None:
            return found, {}
        segments = [s for s in path.split("/") if s]
        for candidate in self.dynamic.get((method, len(segments)), ()):
            captured = _capture(candidate.segments, segments)
            if captured is not None:
                return candidate, captured
        return None


def _capture(template: tuple[str, ...], segments: list[str]) -> dict[str, str] | None:
    captured: dict[str, str] = {}
    for expected, actual in zip(template, segments, strict=True):
        if expected.startswith("{"):
            captured[expected[1:-1]] = urllib.parse.unquote(actual)
        elif expected != actual:
            return None
    return captured
