"""The official Proxmox VE API schema (`--schema PATH`): parameter declarations per route.

The schema file is the api-viewer data: a tree of nodes with `path`, `children` and
`info.{GET,POST,PUT,DELETE}.parameters.properties`. It is read at start-up, never copied.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from .params import Param

Declarations = dict[str, Param]


def load_schema(path: str | Path) -> list[dict[str, Any]]:
    data = orjson.loads(Path(path).read_bytes())
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a list of API nodes")
    return data


def iter_nodes(nodes: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for node in nodes:
        yield node
        yield from iter_nodes(node.get("children") or [])


def methods_by_path(nodes: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """path -> method -> method info."""
    return {node["path"]: node.get("info") or {} for node in iter_nodes(nodes)}


def param_from_schema(prop: dict[str, Any]) -> Param:
    fmt = prop.get("format")
    property_format = None
    default_key = None
    if isinstance(fmt, dict):
        property_format = {key: param_from_schema(sub) for key, sub in fmt.items()}
        default_key = next((key for key, sub in fmt.items() if sub.get("default_key")), None)
        fmt = None
    enum = prop.get("enum")
    return Param(
        type=str(prop.get("type", "string")),
        optional=bool(prop.get("optional", 0)),
        minimum=_number(prop.get("minimum")),
        maximum=_number(prop.get("maximum")),
        enum=tuple(str(e) for e in enum) if enum else None,
        min_length=prop.get("minLength"),
        max_length=prop.get("maxLength"),
        pattern=prop.get("pattern"),
        format=fmt if isinstance(fmt, str) else None,
        property_format=property_format,
        default_key=default_key,
        requires=prop.get("requires") if isinstance(prop.get("requires"), str) else None,
    )


def _number(value: object) -> float | None:
    if value is None:
        return None
    try:
        return float(str(value))
    except ValueError:
        return None


def declarations_for(nodes: list[dict[str, Any]], path: str, method: str) -> Declarations | None:
    """The official parameter declarations of `method path`, or None if not in the schema."""
    info = methods_by_path(nodes).get(path, {}).get(method)
    if info is None:
        return None
    properties = (info.get("parameters") or {}).get("properties") or {}
    return {name: param_from_schema(prop) for name, prop in properties.items()}


def all_declarations(nodes: list[dict[str, Any]]) -> dict[tuple[str, str], Declarations]:
    result: dict[tuple[str, str], Declarations] = {}
    for path, info in methods_by_path(nodes).items():
        for method, details in info.items():
            properties = (details.get("parameters") or {}).get("properties") or {}
            result[(path, method)] = {n: param_from_schema(p) for n, p in properties.items()}
    return result
