"""The `/api/v1` route framework: declared operations, bearer keys, rate limit, JSON errors.

An endpoint is one `Operation` (method, path, summary, parameters, body and answer schemas)
and an async handler taking an `ApiCall`. `ApiRegistry.routes()` turns them into Starlette
routes; `openapi.document()` turns the same declarations into the OpenAPI document, so a
route and its documentation cannot drift apart.

Every answer is JSON. Every error is `{"error": {"code", "message", "field"}}`:
401 for a missing, malformed, unknown, revoked or expired key (one message for all),
404 for what the key's user does not have (another user's node or container is "not found",
never "forbidden"), 422 with the field for bad input, 429 with `Retry-After` past the key's
rate limit, 500 without details (they are in the log). The key is read from the
`Authorization: Bearer` header only, never from the URL, and never logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lxc_manager.redis_client import RedisDb, async_client
from lxc_manager.security import ratelimit
from lxc_manager.security.actor import Actor
from lxc_manager.security.clients import client_address, rate_limit_subject
from lxc_manager.security.sessions import DISABLED_ENDPOINTS_KEY
from lxc_manager.settings import get_settings

from . import keys
from .keys import Principal

__all__ = [
    "ApiCall",
    "ApiError",
    "ApiRegistry",
    "Operation",
    "Param",
    "error_body",
    "error_response",
    "invalid",
    "not_found",
]

log = logging.getLogger(__name__)

NO_STORE = {"Cache-Control": "no-store"}
MAX_BODY_BYTES = 256 * 1024
RATE_PREFIX = "api-rate:"
# Refused keys per client address and minute before the address is answered 429 (and
# before refusals stop being audited: a flood of bad keys must not flood the audit trail).
AUTH_FAILURES_PER_CLIENT = 30
AUTH_FAILURE_WINDOW = 60
MSG_UNAUTHENTICATED = (
    "A valid API key is required: send `Authorization: Bearer <key>` "
    "(the key may be wrong, revoked or expired)"
)

# INCR the window's counter (set its expiry on the first hit); answer the count and the TTL.
_COUNT_SCRIPT = """
local used = redis.call('INCR', KEYS[1])
if used == 1 then redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1])) end
local ttl = redis.call('TTL', KEYS[1])
return {used, ttl}
"""


class ApiError(Exception):
    """An error answer: raise it from a handler (or a helper it calls)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = dict(headers or {})


def not_found(message: str = "Not found") -> ApiError:
    return ApiError(404, "not_found", message)


def invalid(field: str, message: str) -> ApiError:
    return ApiError(422, "invalid", message, field)


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field}}


def error_response(error: ApiError) -> JSONResponse:
    return JSONResponse(
        error_body(error.code, error.message, error.field),
        status_code=error.status,
        headers={**NO_STORE, **error.headers},
    )


@dataclass(frozen=True)
class Param:
    """A path or query parameter; `schema` is its JSON Schema (integer, string, boolean)."""

    name: str
    where: Literal["path", "query"]
    schema: Mapping[str, Any]
    description: str = ""
    required: bool = False


@dataclass
class ApiCall:
    """What a handler gets: the request, who acts, and the parsed parameters and body."""

    request: Request
    principal: Principal | None
    params: dict[str, Any]
    body: Any

    @property
    def actor(self) -> Actor:
        if self.principal is None:
            raise RuntimeError("an operation without authentication has no actor")
        return self.principal.actor

    @property
    def user_id(self) -> str:
        return self.actor.user_id


Handler = Callable[[ApiCall], Awaitable[Any]]


@dataclass(frozen=True)
class Operation:
    """One endpoint's declaration: what the route serves and the OpenAPI entry says."""

    method: str
    path: str  # e.g. "/api/v1/containers/{node_id}/{vmid}" (lxc_manager.routes)
    operation_id: str
    summary: str
    tag: str
    handler: Handler
    params: tuple[Param, ...] = ()
    body: Mapping[str, Any] | None = None  # JSON Schema of the request body
    body_required: bool = False
    response: Mapping[str, Any] = field(default_factory=lambda: {"type": "object"})
    status: int = 200
    auth: bool = True
    errors: tuple[int, ...] = ()  # error statuses besides 401/422/429 (e.g. 404, 409)
    media_type: str = "application/json"  # of the 2xx answer (SSE: "text/event-stream")
    description: str = ""


# -- parameters and bodies ------------------------------------------------------------------


def _parse_value(param: Param, raw: str) -> Any:
    schema = param.schema
    kind = schema.get("type", "string")
    name = param.name
    if kind == "integer":
        text = raw.strip()
        if not text.lstrip("-").isdigit() or len(text) > 18:
            raise invalid(name, f"{name} must be a whole number")
        value: Any = int(text)
        low, high = schema.get("minimum"), schema.get("maximum")
        if (low is not None and value < low) or (high is not None and value > high):
            raise invalid(name, f"{name} must be from {low} to {high}")
        return value
    if kind == "boolean":
        lowered = raw.strip().lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
        raise invalid(name, f"{name} must be true or false")
    value = raw
    if "enum" in schema and value not in schema["enum"]:
        raise invalid(name, f"{name} must be one of: {', '.join(map(str, schema['enum']))}")
    max_length = schema.get("maxLength")
    if max_length is not None and len(value) > max_length:
        raise invalid(name, f"{name} is longer than {max_length} characters")
    return value


def parse_params(operation: Operation, request: Request) -> dict[str, Any]:
    values: dict[str, Any] = {}
    declared = {p.name for p in operation.params if p.where == "query"}
    for name in request.query_params:
        if name not in declared:
            raise invalid(name, f"Unknown query parameter {name!r}")
    for param in operation.params:
        source = request.path_params if param.where == "path" else request.query_params
        raw = source.get(param.name)
        if raw is None or (param.where == "query" and raw == "" and not param.required):
            if param.required:
                raise invalid(param.name, f"{param.name} is required")
            if "default" in param.schema:
                values[param.name] = param.schema["default"]
            continue
        values[param.name] = _parse_value(param, str(raw))
    return values


async def read_json_body(operation: Operation, request: Request) -> Any:
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(413, "too_large", f"The body is larger than {MAX_BODY_BYTES} bytes")
    if not raw.strip():
        if operation.body_required:
            raise invalid("body", "A JSON body is required")
        return {}
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise invalid("body", "The body is not valid JSON") from None
    if not isinstance(value, dict):
        raise invalid("body", "The body must be a JSON object")
    allowed = set((operation.body or {}).get("properties", {}))
    for name in value:
        if name not in allowed:
            raise invalid(name, f"Unknown field {name!r}")
    return value


# -- authentication and rate limits ---------------------------------------------------------


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _client(request: Request) -> str:
    peer = request.client.host if request.client else ""
    return client_address(peer, request.headers, get_settings())


def _unauthenticated() -> ApiError:
    return ApiError(
        401, "unauthenticated", MSG_UNAUTHENTICATED, headers={"WWW-Authenticate": "Bearer"}
    )


async def _refuse_key(request: Request, key: str | None, reason: str) -> ApiError:
    """Count the refusal against the client address; audit it while under that limit."""
    client = _client(request)
    limit = ratelimit.Limit(
        "api-client", rate_limit_subject(client), AUTH_FAILURES_PER_CLIENT, AUTH_FAILURE_WINDOW
    )
    try:
        await ratelimit.consume(async_client(RedisDb.APP), limit)
    except ratelimit.RateLimited as exc:
        return _too_many(exc.retry_after)
    log.info("api: key refused (%s) from %s", reason, client)
    if key is not None:
        try:
            await asyncio.to_thread(keys.audit_refusal, key, reason, client)
        except Exception:
            log.exception("api: audit of a refused key failed")
    return _unauthenticated()


def _too_many(retry_after: int) -> ApiError:
    return ApiError(
        429,
        "rate_limited",
        f"Too many requests: try again in {retry_after} s",
        headers={"Retry-After": str(max(1, retry_after))},
    )


async def _endpoint_disabled(endpoint_id: str) -> bool:
    if not endpoint_id:
        return False
    member = await async_client(RedisDb.APP).sismember(DISABLED_ENDPOINTS_KEY, endpoint_id)  # type: ignore[misc]  # redis-py's sync/async union
    return bool(member)


async def authenticate(request: Request) -> Principal:
    """The principal of the request's key, or ApiError 401 (429 for a flooding client)."""
    key = _bearer(request)
    if key is None:
        raise await _refuse_key(request, None, "missing")
    found = await keys.authenticate(key)
    if isinstance(found, str):
        raise await _refuse_key(request, key, found)
    if await _endpoint_disabled(found.endpoint_id):
        raise await _refuse_key(request, key, "sign-in endpoint disabled")
    return found


async def take_rate(principal: Principal) -> None:
    """Count one request against the key's window; ApiError 429 past the limit."""
    settings = get_settings()
    window = settings.api_rate_window
    slot = int(time.time() // window)
    key = f"{RATE_PREFIX}{principal.key_id}:{slot}"
    used, ttl = await async_client(RedisDb.APP).eval(_COUNT_SCRIPT, 1, key, window + 1)  # type: ignore[misc]  # redis-py's sync/async union
    if int(used) > settings.api_rate_limit:
        raise _too_many(int(ttl) if int(ttl) > 0 else window)


# -- the registry ---------------------------------------------------------------------------


class ApiRegistry:
    """Every operation of the API, in declaration order."""

    def __init__(self) -> None:
        self.operations: list[Operation] = []

    def add(self, operation: Operation) -> Operation:
        for other in self.operations:
            if (other.method, other.path) == (operation.method, operation.path):
                raise ValueError(f"{operation.method} {operation.path} is declared twice")
            if other.operation_id == operation.operation_id:
                raise ValueError(f"operation id {operation.operation_id} is declared twice")
        self.operations.append(operation)
        return operation

    def operation(self, method: str, path: str, **declaration: Any) -> Callable[[Handler], Handler]:
        """Decorator: `@API.operation("GET", routes.API_NODES, operation_id=..., ...)`."""

        def register(handler: Handler) -> Handler:
            self.add(Operation(method=method, path=path, handler=handler, **declaration))
            return handler

        return register

    def routes(self, prefix: str) -> list[Route]:
        """One Starlette route per operation, then a JSON 404/405 for the rest of `prefix`."""
        routes = [
            Route(op.path, _endpoint(op), methods=[op.method], name=op.operation_id)
            for op in self.operations
        ]
        known = list(routes)

        async def unknown(request: Request) -> Response:
            path = request.url.path
            allowed = sorted(
                {
                    op.method
                    for op, route in zip(self.operations, known, strict=True)
                    if route.path_regex.match(path)
                }
            )
            if allowed:
                error = ApiError(
                    405,
                    "method_not_allowed",
                    f"Method not allowed (use {', '.join(allowed)})",
                    headers={"Allow": ", ".join(allowed)},
                )
                return error_response(error)
            return error_response(ApiError(404, "not_found", "No such API route"))

        routes.append(Route(prefix + "/{rest:path}", unknown, methods=_ALL_METHODS))
        return routes


_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def _endpoint(operation: Operation) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            principal = None
            if operation.auth:
                principal = await authenticate(request)
                await take_rate(principal)
            params = parse_params(operation, request)
            body = None
            if operation.method in ("POST", "PUT", "PATCH"):
                body = await read_json_body(operation, request)
            result = await operation.handler(ApiCall(request, principal, params, body))
        except ApiError as error:
            return error_response(error)
        except Exception:
            log.exception("api: %s %s failed", operation.method, operation.path)
            return error_response(ApiError(500, "internal", "Internal error (see the server log)"))
        if isinstance(result, Response):
            return result
        return JSONResponse(result, status_code=operation.status, headers=NO_STORE)

    endpoint.__name__ = operation.operation_id
    return endpoint
