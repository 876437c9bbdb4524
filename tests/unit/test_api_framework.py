"""The API framework's pure parts: parameter parsing, declarations, the 404/405 answers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from lxc_manager.api.framework import ApiCall, ApiError, ApiRegistry, Operation, Param, _parse_value
from lxc_manager.api.keys import key_prefix

INT = Param("n", "query", {"type": "integer", "minimum": 1, "maximum": 10})
FLAG = Param("f", "query", {"type": "boolean"})
CHOICE = Param("c", "query", {"type": "string", "enum": ["a", "b"]})
SHORT = Param("s", "query", {"type": "string", "maxLength": 3})


@pytest.mark.parametrize(
    ("param", "raw", "value"),
    [(INT, "1", 1), (INT, " 10 ", 10), (FLAG, "true", True), (FLAG, "0", False),
     (CHOICE, "b", "b"), (SHORT, "abc", "abc")],
)  # fmt: skip
def test_good_values_parse(param: Param, raw: str, value: Any) -> None:
    assert _parse_value(param, raw) == value


@pytest.mark.parametrize(
    ("param", "raw"),
    [(INT, "0"), (INT, "11"), (INT, "1.5"), (INT, "x"), (INT, "9" * 40), (FLAG, "maybe"),
     (CHOICE, "c"), (SHORT, "abcd")],
)  # fmt: skip
def test_bad_values_are_422_naming_the_parameter(param: Param, raw: str) -> None:
    with pytest.raises(ApiError) as raised:
        _parse_value(param, raw)
    assert (raised.value.status, raised.value.code, raised.value.field) == (
        422,
        "invalid",
        param.name,
    )


async def _ok(_call: ApiCall) -> dict[str, Any]:
    return {}


def test_an_operation_is_declared_once() -> None:
    registry = ApiRegistry()
    registry.add(Operation("GET", "/api/v1/x", "getX", "x", "t", _ok))
    with pytest.raises(ValueError, match="declared twice"):
        registry.add(Operation("GET", "/api/v1/x", "getX2", "x", "t", _ok))
    with pytest.raises(ValueError, match="declared twice"):
        registry.add(Operation("POST", "/api/v1/x", "getX", "x", "t", _ok))


async def test_unknown_paths_and_methods_answer_json() -> None:
    registry = ApiRegistry()
    registry.add(Operation("GET", "/api/v1/things/{id}", "getThing", "x", "t", _ok, auth=False))
    transport = httpx.ASGITransport(app=Starlette(routes=registry.routes("/api/v1")))
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
        assert (await http.get("/api/v1/things/1")).status_code == 200
        missing = await http.get("/api/v1/other")
        wrong = await http.post("/api/v1/things/1")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert wrong.status_code == 405 and wrong.headers["allow"] == "GET"


def test_key_prefix_reads_only_well_formed_keys() -> None:
    good = "lxcm_0123456789ab_" + "A" * 43
    assert key_prefix(good) == "0123456789ab"
    for bad in ("", good + "A", good.upper(), "lxcm_0123456789ab_" + "A" * 42, " " + good):
        assert key_prefix(bad) is None
