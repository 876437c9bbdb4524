"""Plain HTTP routes served next to the Reflex app on the same port."""

from __future__ import annotations

import logging

from sqlalchemy import text
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route

from lxc_manager.db.engine import get_engine
from lxc_manager.redis_client import RedisDb, async_client
from lxc_manager.security import audit
from lxc_manager.security.origins import browsers_send_fetch_metadata
from lxc_manager.security.sessions import (
    COOKIE_NAME,
    GRANT_NONCE_COOKIE,
    GRANT_NONCE_PATH,
    cookie_from_header,
    delete_session,
    get_session,
    redeem_grant,
    safe_next,
    session_id_from_cookie_header,
)
from lxc_manager.settings import get_settings

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


AUTH_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _same_origin_navigation(request: Request) -> bool:
    """Only the app's own page may send a tab here: not a link, a bookmark or another site.

    Browsers send no `Sec-Fetch-Site` to a plain-http origin that is not loopback, so
    there (and only there) its absence is accepted; the tab's nonce cookie still decides.
    """
    site = request.headers.get("sec-fetch-site")
    if site is None:
        return not browsers_send_fetch_metadata(get_settings())
    return site == "same-origin"


def _forget_nonce(response: RedirectResponse) -> RedirectResponse:
    response.delete_cookie(
        GRANT_NONCE_COOKIE,
        path=GRANT_NONCE_PATH,
        httponly=False,
        samesite="strict",
        secure=get_settings().secure_cookies,
    )
    return response


async def complete_sign_in(request: Request) -> RedirectResponse:
    """Exchange a single-use sign-in grant for the HttpOnly session cookie, then load `next`.

    Redeemed only by a same-origin navigation of the tab that signed in (it carries the
    grant's nonce cookie): a grant link opened anywhere else signs nobody in (login CSRF).
    """
    session_id = None
    if _same_origin_navigation(request):
        session_id = await redeem_grant(
            async_client(RedisDb.APP),
            request.query_params.get("grant"),
            cookie_from_header(request.headers.get("cookie"), GRANT_NONCE_COOKIE),
        )
    if session_id is None:
        log.info(
            "sign-in grant refused (fetch site %r)", request.headers.get("sec-fetch-site", "")[:40]
        )
        return _forget_nonce(
            RedirectResponse("/login?expired=1", status_code=303, headers=AUTH_HEADERS)
        )
    settings = get_settings()
    response = RedirectResponse(
        safe_next(request.query_params.get("next")), status_code=303, headers=AUTH_HEADERS
    )
    response.set_cookie(
        COOKIE_NAME,
        session_id,
        max_age=settings.session_lifetime,
        path="/",
        httponly=True,
        samesite="strict",
        secure=settings.secure_cookies,
    )
    return _forget_nonce(response)


async def sign_out(request: Request) -> RedirectResponse:
    """Delete the session (every tab of it ends) and clear the cookie."""
    redis = async_client(RedisDb.APP)
    session_id = session_id_from_cookie_header(request.headers.get("cookie"))
    session = await get_session(redis, get_settings(), session_id, touch=False)
    await delete_session(redis, session_id)
    if session is not None:
        await run_in_threadpool(
            audit.record,
            "logout",
            user_id=session.user_id,
            target=f"endpoint:{session.endpoint_label}",
        )
    response = RedirectResponse("/login", status_code=303, headers=AUTH_HEADERS)
    response.delete_cookie(
        COOKIE_NAME,
        path="/",
        httponly=True,
        samesite="strict",
        secure=get_settings().secure_cookies,
    )
    return response


ROUTES = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route("/auth/complete", complete_sign_in, methods=["GET"]),
    Route("/auth/logout", sign_out, methods=["GET", "POST"]),
]
