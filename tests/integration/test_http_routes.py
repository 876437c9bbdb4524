"""/healthz and /readyz against a real database and a real Redis."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from lxc_manager.db.migrate import upgrade_head
from lxc_manager.embedded_redis import free_port
from lxc_manager.http_routes import ROUTES
from tests.conftest import reset_app_caches


def client() -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=Starlette(routes=ROUTES))
    return httpx.AsyncClient(transport=transport, base_url="http://app")


@pytest.mark.usefixtures("app_settings")
async def test_healthz_and_readyz_ok() -> None:
    await asyncio.to_thread(upgrade_head)  # blocking: off the loop (slow-callback guard)
    async with client() as http:
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        response = await http.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}
    assert response.headers["cache-control"] == "no-store"


async def test_readyz_names_what_failed(
    app_settings: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{app_settings}/missing-dir/db/x.db/../y.db")
    (app_settings / "missing-dir").mkdir(parents=True)
    (app_settings / "missing-dir" / "db").write_text("a file where a directory should be")
    reset_app_caches()
    async with client() as http:
        response = await http.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["failed"] == ["database", "redis"]
    assert "Traceback" not in response.text and "Error" not in response.text
