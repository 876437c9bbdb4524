"""Plain HTTP routes served next to the Reflex app on the same port."""

from __future__ import annotations

import logging

from sqlalchemy import text
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from lxc_manager.db.engine import get_engine
from lxc_manager.redis_client import RedisDb, async_client

log = logging.getLogger(__name__)

NO_STORE = {"Cache-Control": "no-store"}


async def healthz(_request: Request) -> JSONResponse:
    """Liveness: the process answers."""
    return JSONResponse({"status": "ok"}, headers=NO_STORE)


def _check_database() -> None:
    with get_engine().connect() as connection:
        connection.execute(text("SELECT 1"))


async def _check_redis() -> None:
    if not await async_client(RedisDb.APP).ping():  # type: ignore[misc]  # redis-py's sync/async union
        raise ConnectionError("redis did not answer PING")


async def readyz(_request: Request) -> JSONResponse:
    """Readiness: the database and Redis answer. 503 names what failed (details in the log)."""
    checks: dict[str, str] = {}
    try:
        await run_in_threadpool(_check_database)
        checks["database"] = "ok"
    except Exception:
        log.exception("readiness: database check failed")
        checks["database"] = "unavailable"
    try:
        await _check_redis()
        checks["redis"] = "ok"
    except Exception:
        log.exception("readiness: redis check failed")
        checks["redis"] = "unavailable"
    ready = all(value == "ok" for value in checks.values())
    body: dict[str, object] = {"status": "ok" if ready else "unavailable", "checks": checks}
    if not ready:
        body["failed"] = sorted(name for name, value in checks.items() if value != "ok")
    return JSONResponse(body, status_code=200 if ready else 503, headers=NO_STORE)


ROUTES = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
]
