"""Templates: the ones the key's user may see (their own, shared ones, the catalog)."""

from __future__ import annotations

import dataclasses
from typing import Any

from lxc_manager import routes
from lxc_manager.api.framework import ApiCall, Param, not_found
from lxc_manager.templates.service import (
    MSG_NOT_FOUND,
    StoredTemplate,
    TemplateSummary,
    get_template,
    list_templates,
    owner_name,
)

from .registry import API
from .schemas import STRINGS, TIME, array, obj

TEMPLATE_ID: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}

SUMMARY = obj(
    {
        "id": TEMPLATE_ID,
        "slug": {"type": "string"},
        "name": {"type": "string"},
        "description": {"type": "string"},
        "tags": STRINGS,
        "os_template": {"type": "string"},
        "source": {"type": "string"},
        "scripts": {"type": "integer"},
        "files": {"type": "integer"},
        "packages": {"type": "integer"},
        "owner": {"type": "string"},
        "visibility": {"type": "string", "enum": ["private", "shared"]},
        "mine": {"type": "boolean"},
        "updated_at": TIME,
    }
)
DETAIL = obj(
    {
        "id": TEMPLATE_ID,
        "owner": {"type": "string"},
        "visibility": {"type": "string", "enum": ["private", "shared"]},
        "read_only": {"type": "boolean"},
        "version": {"type": "string"},
        "updated_at": TIME,
        "spec": {
            "type": "object",
            "description": "The template: resources, features, scripts, files, packages, "
            "buckets (as in the template editor)",
        },
    }
)


def summary_json(t: TemplateSummary) -> dict[str, Any]:
    return {
        "id": t.id,
        "slug": t.slug,
        "name": t.name,
        "description": t.description,
        "tags": list(t.tags),
        "os_template": t.os_template,
        "source": t.source,
        "scripts": t.scripts,
        "files": t.files,
        "packages": t.packages,
        "owner": owner_name(t.owner),
        "visibility": t.visibility,
        "mine": t.mine,
        "updated_at": t.updated_at.isoformat(),
    }


def detail_json(t: StoredTemplate) -> dict[str, Any]:
    spec = dataclasses.asdict(t.spec)
    spec.pop("source_path", None)  # a path on the server: not the user's business
    return {
        "id": t.id,
        "owner": owner_name(t.owner),
        "visibility": t.visibility,
        "read_only": t.read_only,
        "version": t.version,
        "updated_at": t.updated_at.isoformat(),
        "spec": spec,
    }


@API.operation(
    "GET",
    routes.API_TEMPLATES,
    operation_id="listTemplates",
    summary="The templates the user may use, by name",
    tag="templates",
    params=(
        Param(
            "search",
            "query",
            {"type": "string", "maxLength": 200, "default": ""},
            "Text in the name, description, OS template or a tag",
        ),
        Param(
            "tag",
            "query",
            {"type": "string", "maxLength": 100, "default": ""},
            "Only templates with this tag",
        ),
    ),
    response=obj({"templates": array(SUMMARY)}),
)
async def list_templates_op(call: ApiCall) -> dict[str, Any]:
    found = await list_templates(call.actor, call.params["search"], call.params["tag"])
    return {"templates": [summary_json(t) for t in found]}


@API.operation(
    "GET",
    routes.API_TEMPLATE,
    operation_id="getTemplate",
    summary="One template with its scripts, files and packages",
    tag="templates",
    params=(Param("template_id", "path", TEMPLATE_ID, "The template's id"),),
    response=DETAIL,
    errors=(404,),
)
async def get_template_op(call: ApiCall) -> dict[str, Any]:
    found = await get_template(call.actor, call.params["template_id"])
    if found is None:
        raise not_found(MSG_NOT_FOUND)
    return detail_json(found)
