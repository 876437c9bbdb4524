"""Decoding the Proxmox client's answers: JSON bodies, login tickets and typed models.

An answer that does not fit its model raises `ProxmoxError("unexpected answer to PATH: ...")`
naming the wrong fields, never their values.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

import orjson
import pydantic

from .errors import ProxmoxError
from .models import LoginResult

M = TypeVar("M", bound=pydantic.BaseModel)


def _json_or_none(content: bytes) -> Any:
    if not content:
        return None
    try:  # orjson: a 5000-container /cluster/resources parses in a third of the time
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        pass
    try:  # what orjson refuses but Python's json takes (other encodings, huge integers)
        return json.loads(content)
    except ValueError:
        return None


def _truthy(value: Any) -> bool:
    return value not in (None, 0, "0", False, "")


def _login_result(data: Mapping[str, Any]) -> LoginResult:
    cap = data.get("cap")
    return LoginResult(
        username=str(data.get("username", "")),
        ticket=str(data["ticket"]),
        csrf_token=str(data.get("CSRFPreventionToken", "")),
        cap=cap if isinstance(cap, dict) else {},
        clustername=str(data["clustername"]) if data.get("clustername") else None,
    )


def _items(data: Any, path: str) -> list[Mapping[str, Any]]:
    if not isinstance(data, list):
        raise ProxmoxError(f"unexpected answer to {path}: not a list")
    return [item for item in data if isinstance(item, dict)]


def _parse(model: type[M], data: Any, path: str) -> M:
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise ProxmoxError(f"unexpected answer to {path}: {_summary(exc)}") from None


def _parse_list(model: type[M], data: Any, path: str) -> list[M]:
    return [_parse(model, item, path) for item in _items(data, path)]


def _summary(exc: pydantic.ValidationError) -> str:
    """Which fields were wrong, without the values (they could be anything)."""
    problems: Iterable[str] = (
        f"{'.'.join(str(p) for p in err['loc']) or 'answer'}: {err['msg']}"
        for err in exc.errors(include_input=False, include_url=False)
    )
    return "; ".join(problems)
