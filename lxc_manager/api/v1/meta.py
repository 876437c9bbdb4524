"""`/api/v1/openapi.json` (the document, no key needed) and `/api/v1/me` (who the key is)."""

from __future__ import annotations

from typing import Any

from lxc_manager import routes
from lxc_manager.api.framework import ApiCall
from lxc_manager.api.openapi import document

from .registry import API, VERSION
from .schemas import obj


@API.operation(
    "GET",
    routes.API_OPENAPI,
    operation_id="getOpenApi",
    summary="This API's OpenAPI 3.1 document",
    tag="meta",
    auth=False,
)
async def openapi(_call: ApiCall) -> dict[str, Any]:
    return document(API.operations, VERSION)


@API.operation(
    "GET",
    routes.API_ME,
    operation_id="getMe",
    summary="Who the key acts as",
    tag="meta",
    response=obj(
        {
            "user_id": {"type": "string"},
            "username": {"type": "string"},
            "key_prefix": {"type": "string"},
            "admin": {"type": "boolean"},
        }
    ),
)
async def me(call: ApiCall) -> dict[str, Any]:
    assert call.principal is not None
    user_id = call.principal.user_id
    return {
        "user_id": user_id,
        "username": user_id.rsplit("@", 1)[0],
        "key_prefix": call.principal.prefix,
        "admin": call.actor.is_admin,
    }
