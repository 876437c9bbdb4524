"""The simulator serves only what the official Proxmox VE API schema declares.

Every route and method the simulator serves must exist in the schema, every parameter it
accepts must be declared there with the same type, optionality, enum and limits, and the
keys of its property strings (net[n], rootfs, ...) must be keys of the official format.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
import pytest

from lxc_manager_simulator import api  # noqa: F401  (registers the routes)
from lxc_manager_simulator.params import Param
from lxc_manager_simulator.router import ROUTES
from lxc_manager_simulator.schema import methods_by_path, param_from_schema

SCHEMA_PATH = Path(__file__).resolve().parents[4] / "shared" / "reference" / "pve-api-schema.json"


@pytest.fixture(scope="module")
def official() -> dict[str, dict[str, dict[str, Any]]]:
    if not SCHEMA_PATH.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"the official API schema is missing: {SCHEMA_PATH}")
        pytest.skip(
            f"the official API schema is not beside the clone ({SCHEMA_PATH}); "
            "the conformance check needs it"
        )
    return methods_by_path(orjson.loads(SCHEMA_PATH.read_bytes()))


def _properties(official: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    info = official[path][method]
    return (info.get("parameters") or {}).get("properties") or {}


def test_the_simulator_serves_the_endpoints_of_the_issue() -> None:
    served = {(r.method, r.path) for r in ROUTES}
    assert len(served) == len(ROUTES), "a route is registered twice"
    for expected in [
        ("POST", "/access/ticket"),
        ("GET", "/cluster/resources"),
        ("POST", "/nodes/{node}/lxc"),
        ("PUT", "/nodes/{node}/lxc/{vmid}/config"),
        ("POST", "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}/rollback"),
        ("GET", "/nodes/{node}/tasks/{upid}/log"),
    ]:
        assert expected in served


def test_every_route_and_method_exists_in_the_schema(official) -> None:
    missing = [
        f"{r.method} {r.path}"
        for r in ROUTES
        if r.path not in official or r.method not in official[r.path]
    ]
    assert missing == []


def test_every_accepted_parameter_is_declared_alike(official) -> None:
    problems: list[str] = []
    for r in ROUTES:
        properties = _properties(official, r.path, r.method)
        for name, ours in r.params.items():
            where = f"{r.method} {r.path} {name}"
            if name not in properties:
                problems.append(f"{where}: not in the schema")
                continue
            problems += [
                f"{where}: {p}" for p in _differences(ours, param_from_schema(properties[name]))
            ]
    assert problems == []


def test_required_parameters_of_the_schema_are_required_here(official) -> None:
    problems = []
    for r in ROUTES:
        for name, prop in _properties(official, r.path, r.method).items():
            if not prop.get("optional") and name not in r.params:
                problems.append(f"{r.method} {r.path}: required '{name}' is not declared")
    assert problems == []


def test_proxied_routes_match_the_schema(official) -> None:
    wrong = [
        f"{r.method} {r.path}"
        for r in ROUTES
        if r.proxied != (official[r.path][r.method].get("proxyto") == "node")
    ]
    assert wrong == []


def test_world_access_only_where_the_schema_allows_it(official) -> None:
    for r in ROUTES:
        user = (official[r.path][r.method].get("permissions") or {}).get("user")
        assert (r.access == "world") == (user == "world"), f"{r.method} {r.path}"


def _differences(ours: Param, theirs: Param) -> list[str]:
    found = []
    if ours.type != theirs.type:
        found.append(f"type {ours.type} != {theirs.type}")
    if ours.optional != theirs.optional:
        found.append(f"optional {ours.optional} != {theirs.optional}")
    for attribute in ("enum", "minimum", "maximum", "min_length", "max_length", "requires"):
        mine, official = getattr(ours, attribute), getattr(theirs, attribute)
        if mine is not None and mine != official:
            found.append(f"{attribute} {mine!r} != {official!r}")
    if ours.format is not None and ours.format != theirs.format:
        found.append(f"format {ours.format} != {theirs.format}")
    if ours.property_format is not None:
        if theirs.property_format is None:
            found.append("property string where the schema has none")
        else:
            extra = set(ours.property_format) - set(theirs.property_format)
            found += [f"unknown property-string key '{k}'" for k in sorted(extra)]
            for key in set(ours.property_format) & set(theirs.property_format):
                found += [
                    f"[{key}] {d}"
                    for d in _differences(ours.property_format[key], theirs.property_format[key])
                ]
        if ours.default_key != theirs.default_key:
            found.append(f"default key {ours.default_key} != {theirs.default_key}")
    return found
