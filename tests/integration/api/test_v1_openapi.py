"""The OpenAPI document: valid OpenAPI 3.1 in structure, every route in it, every documented
operation served by the real app (granian, the app's own routes, on one port)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from lxc_manager import routes as urls
from lxc_manager.api import v1
from lxc_manager.api.openapi import document
from lxc_manager.embedded_redis import EmbeddedRedis
from tests.support.api import assert_error
from tests.support.backend import running_backend

JSON_TYPES = {"object", "array", "string", "integer", "number", "boolean", "null"}
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def _doc() -> dict[str, Any]:
    return document(v1.API.operations, v1.VERSION)


def _schemas(node: Any) -> list[dict[str, Any]]:
    """Every dict under `node` that has a `type` (the schemas, nested ones too)."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if "type" in node and not isinstance(node["type"], dict):
            found.append(node)
        for value in node.values():
            found += _schemas(value)
    elif isinstance(node, list):
        for value in node:
            found += _schemas(value)
    return found


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def _resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def test_the_document_is_well_formed_openapi_3_1() -> None:
    doc = _doc()
    assert doc["openapi"] == "3.1.0" and doc["info"]["title"] and doc["info"]["version"]
    assert doc["components"]["securitySchemes"]["apiKey"] == {"type": "http", "scheme": "bearer"}
    operation_ids: list[str] = []
    for path, item in doc["paths"].items():
        assert path.startswith(urls.API_V1 + "/")
        templated = set(re.findall(r"{([^}]+)}", path))
        for method, op in item.items():
            assert method in METHODS
            operation_ids.append(op["operationId"])
            assert op["summary"] and op["tags"] and op["responses"]
            params = op.get("parameters", [])
            in_path = {p["name"] for p in params if p["in"] == "path"}
            assert in_path == templated, (path, method)
            assert all(p["required"] for p in params if p["in"] == "path")
            assert len({(p["name"], p["in"]) for p in params}) == len(params)
            assert all(p["in"] in {"path", "query", "header", "cookie"} for p in params)
            success = [code for code in op["responses"] if code.startswith("2")]
            assert len(success) == 1 and op["responses"][success[0]]["content"]
            for code, answer in op["responses"].items():
                assert re.fullmatch(r"[1-5]\d\d", code) and answer["description"]
            if op.get("security") != []:
                assert {"401", "429"} <= set(op["responses"]), (path, method)
            if params or "requestBody" in op:
                assert "422" in op["responses"], (path, method)
    assert len(operation_ids) == len(set(operation_ids))
    for ref in _refs(doc):
        assert _resolve(doc, ref) is not None
    for schema in _schemas(doc["paths"]) + _schemas(doc["components"]["schemas"]):
        kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        assert set(kinds) <= JSON_TYPES, schema
        for name in schema.get("required", []):
            assert name in schema.get("properties", {}), (name, schema)


def test_every_route_is_documented_and_every_documented_operation_is_a_route() -> None:
    doc = _doc()
    documented = {(method.upper(), path) for path, item in doc["paths"].items() for method in item}
    routed = {
        (method, route.path)
        for route in v1.routes()
        if route.path != urls.API_V1 + "/{rest:path}"
        for method in (route.methods or ()) - {"HEAD"}
    }
    assert documented == routed
    declared = {value for name, value in vars(urls).items() if name.startswith("API_")}
    assert {path for _, path in routed} <= declared  # URLs are spelt in routes.py


def _sample_path(path: str, op: dict[str, Any]) -> str:
    def value(match: re.Match[str]) -> str:
        param = next(p for p in op["parameters"] if p["name"] == match.group(1))
        schema = param["schema"]
        if "enum" in schema:
            return str(schema["enum"][0])
        return str(schema.get("minimum", 1)) if schema.get("type") == "integer" else "x"

    return re.sub(r"{([^}]+)}", value, path)


@pytest.mark.timeout(120)
def test_the_served_app_answers_every_documented_operation(
    tmp_path: Path, redis_server: EmbeddedRedis
) -> None:
    with (
        running_backend(tmp_path, redis_server.url) as backend,
        httpx.Client(base_url=backend.base_url, timeout=10) as http,
    ):
        served = http.get(urls.API_OPENAPI)
        assert served.status_code == 200
        assert served.json() == _doc()
        for path, item in served.json()["paths"].items():
            for method, op in item.items():
                if op.get("security") == []:
                    continue
                answer = http.request(method.upper(), _sample_path(path, op))
                # the route exists in the app and asks for a key before anything else
                assert_error(answer, 401, "unauthenticated")
        assert_error(http.get(urls.API_V1 + "/no-such-thing"), 404, "not_found")
