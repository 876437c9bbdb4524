"""The client's requests and models agree with the official Proxmox API schema.

The schema lives in ../shared/reference (never copied into the repository). In CI it must
be there (the test fails without it); elsewhere the test skips and says why.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import pydantic
import pytest

from lxc_manager.proxmox import (
    ClusterNode,
    ClusterResource,
    LxcConfig,
    LxcInterface,
    LxcStatus,
    NodeInfo,
    NodeNetwork,
    Storage,
    StorageContent,
    TaskStatus,
    Version,
)

SCHEMA_PATH = Path(__file__).resolve().parents[3].parent / "shared/reference/pve-api-schema.json"

# Fields real Proxmox VE 8 sends that the schema does not declare.
UNDECLARED = {
    LxcStatus: {"swap", "ha"},  # swap: both answers carry it; ha: status/current only
    NodeInfo: {"disk", "maxdisk"},
    StorageContent: {"content"},
    TaskStatus: {"tokenid"},  # pve-manager PVE/API2/Tasks.pm $convert_token_task
}


@cache
def schema_index() -> dict[str, dict[str, Any]]:
    if not SCHEMA_PATH.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must have the official schema at {SCHEMA_PATH}")
        pytest.skip(f"the official schema is not beside the clone ({SCHEMA_PATH})")
    index: dict[str, dict[str, Any]] = {}

    def walk(nodes: list[dict[str, Any]]) -> None:
        for node in nodes:
            index[node["path"]] = node
            walk(node.get("children", []))

    walk(json.loads(SCHEMA_PATH.read_text()))
    return index


def returned_properties(path: str) -> set[str]:
    returns = schema_index()[path]["info"]["GET"]["returns"]
    shape = returns.get("items", returns)
    return set(shape.get("properties", {}))


def wire_names(model: type[pydantic.BaseModel]) -> set[str]:
    return {field.alias or name for name, field in model.model_fields.items()}


@pytest.mark.parametrize(
    ("path", "model"),
    [
        ("/version", Version),
        ("/cluster/status", ClusterNode),
        ("/cluster/resources", ClusterResource),
        ("/nodes", NodeInfo),
        ("/nodes/{node}/network", NodeNetwork),
        ("/nodes/{node}/storage", Storage),
        ("/nodes/{node}/storage/{storage}/content", StorageContent),
        ("/nodes/{node}/lxc", LxcStatus),
        ("/nodes/{node}/lxc/{vmid}/status/current", LxcStatus),
        ("/nodes/{node}/lxc/{vmid}/config", LxcConfig),
        ("/nodes/{node}/lxc/{vmid}/interfaces", LxcInterface),
        ("/nodes/{node}/tasks/{upid}/status", TaskStatus),
    ],
)
def test_model_fields_exist_in_the_schema(path: str, model: type[pydantic.BaseModel]) -> None:
    unknown = wire_names(model) - returned_properties(path) - UNDECLARED.get(model, set())
    assert unknown == set()


def test_access_ticket_parameters() -> None:
    """login() sends username + password; complete_two_factor() adds tfa-challenge."""
    post = schema_index()["/access/ticket"]["info"]["POST"]
    parameters = post["parameters"]["properties"]
    assert {"username", "password", "tfa-challenge", "realm"} <= set(parameters)
    required = {name for name, spec in parameters.items() if not spec.get("optional")}
    assert required == {"username", "password"}
    assert {"ticket", "CSRFPreventionToken", "username"} <= set(post["returns"]["properties"])


def test_typed_calls_use_existing_endpoints() -> None:
    index = schema_index()
    for path, method in [
        ("/access/permissions", "GET"),
        ("/cluster/nextid", "GET"),
        ("/nodes/{node}/lxc", "POST"),
        ("/nodes/{node}/lxc/{vmid}", "DELETE"),
        ("/nodes/{node}/lxc/{vmid}/status/start", "POST"),
        ("/nodes/{node}/lxc/{vmid}/status/stop", "POST"),
        ("/nodes/{node}/lxc/{vmid}/status/shutdown", "POST"),
        ("/nodes/{node}/lxc/{vmid}/status/reboot", "POST"),
    ]:
        assert method in index[path]["info"], (method, path)
    assert (
        "purge" in index["/nodes/{node}/lxc/{vmid}"]["info"]["DELETE"]["parameters"]["properties"]
    )
    assert "type" in index["/cluster/resources"]["info"]["GET"]["parameters"]["properties"]
