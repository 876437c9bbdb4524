"""Helpers for tests of the HTTP API (`/api/v1`): a user's key and a client for the routes.

    key = make_key("root@pam@1")                 # the whole key, as the Settings page shows it
    async with api_client() as http:             # the app's API routes over ASGI (no server)
        await http.get("/api/v1/nodes", headers=bearer(key))

`expire_key` moves a key's expiry into the past (the database's clock is not ours).
For a real server, `running_backend` (tests/support/backend.py) serves the same routes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlmodel import select
from starlette.applications import Starlette

from lxc_manager.api import keys
from lxc_manager.api.mount import api_routes
from lxc_manager.db.engine import session_scope
from lxc_manager.db.models import ApiKey


def make_key(user_id: str, name: str = "test key", endpoint_id: str = "") -> str:
    """A new key of `user_id` (blocking: call it through asyncio.to_thread in async tests)."""
    result = keys.create_key_sync(user_id, endpoint_id, name)
    assert result.ok, result.errors
    return result.secret


def expire_key(key: str) -> None:
    prefix = keys.key_prefix(key)
    with session_scope() as session:
        row = session.exec(select(ApiKey).where(ApiKey.prefix == prefix)).one()
        row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
        session.add(row)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def api_client() -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=Starlette(routes=api_routes()))
    return httpx.AsyncClient(transport=transport, base_url="http://app", timeout=60)


def assert_error(response: httpx.Response, status: int, code: str, field: Any = None) -> None:
    """The answer is the API's error shape with this status, code and field."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "field"}
    assert body["error"]["code"] == code and body["error"]["field"] == field
    assert body["error"]["message"] and "Traceback" not in response.text
