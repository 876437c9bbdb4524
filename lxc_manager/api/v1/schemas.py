"""JSON Schemas shared by the endpoint declarations, and the converters to JSON values."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lxc_manager.provisioning.request_fields import VMID_MAX, VMID_MIN

NODE_ID: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
VMID: dict[str, Any] = {"type": "integer", "minimum": VMID_MIN, "maximum": VMID_MAX}
TIME: dict[str, Any] = {"type": "string", "format": "date-time"}
TIME_OR_NULL: dict[str, Any] = {"type": ["string", "null"], "format": "date-time"}
STRINGS: dict[str, Any] = {"type": "array", "items": {"type": "string"}}


def obj(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    """An object schema; every property is required unless `required` says otherwise."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
    }


def array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
