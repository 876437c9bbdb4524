"""The OpenAPI 3.1 document of `/api/v1`, generated from the operations' declarations."""

from __future__ import annotations

from typing import Any

from .framework import Operation

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "field"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "field": {"type": ["string", "null"]},
            },
        }
    },
}

_ERROR_TEXT = {
    401: "The API key is missing, malformed, unknown, revoked or expired",
    404: "Not found (another user's resources are not found either)",
    405: "Method not allowed",
    409: "The request conflicts with the resource's state",
    413: "The body is too large",
    422: "Bad input: `field` names the parameter or body field",
    429: "Rate limit reached: see the Retry-After header",
    500: "Internal error",
    502: "A Proxmox node could not be reached or refused the request",
}


def _error_response(status: int) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": _ERROR_TEXT.get(status, "Error"),
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if status == 429:
        answer["headers"] = {
            "Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}
        }
    return answer


def _operation(op: Operation) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "tags": [op.tag],
    }
    if op.description:
        entry["description"] = op.description
    if op.params:
        entry["parameters"] = [
            {
                "name": p.name,
                "in": p.where,
                "required": p.where == "path" or p.required,
                "description": p.description,
                "schema": dict(p.schema),
            }
            for p in op.params
        ]
    if op.body is not None:
        entry["requestBody"] = {
            "required": op.body_required,
            "content": {"application/json": {"schema": dict(op.body)}},
        }
    responses: dict[str, Any] = {
        str(op.status): {
            "description": "Success",
            "content": {op.media_type: {"schema": dict(op.response)}},
        }
    }
    statuses = set(op.errors) | {500}
    if op.auth:
        statuses |= {401, 429}
    if op.params or op.body is not None:
        statuses.add(422)
    for status in sorted(statuses):
        responses[str(status)] = _error_response(status)
    entry["responses"] = responses
    if not op.auth:
        entry["security"] = []
    return entry


def document(operations: list[Operation], version: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op)
    tags = sorted({op.tag for op in operations})
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "LXC Manager API",
            "version": version,
            "description": (
                "Personal API keys (Settings → API keys) act as their user, without "
                "administrator rights. Send `Authorization: Bearer <key>`. Errors are "
                '`{"error": {"code", "message", "field"}}`.'
            ),
        },
        "tags": [{"name": tag} for tag in tags],
        "security": [{"apiKey": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": ERROR_SCHEMA},
        },
    }
