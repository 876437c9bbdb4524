"""Issue 12, path 8: login CSRF. A sign-in grant is redeemed only by a same-origin
navigation of the browser tab that signed in (it holds the grant's nonce cookie).

The attack: the attacker signs in with their own account, keeps the grant link their tab
was sent to, and gets a victim's browser to open it (a link in a mail, a page on another
site or on a sibling host). Had it worked, the victim would be signed in as the attacker
and would store their nodes' secrets in the attacker's account. The route runs in-process
with the real Redis; the grant comes from a real sign-in against the simulator.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.applications import Starlette

from lxc_manager.db.migrate import upgrade_head
from lxc_manager.http_routes import ROUTES
from lxc_manager.redis_client import async_client
from lxc_manager.security.sessions import COOKIE_NAME, GRANT_NONCE_COOKIE, get_session
from lxc_manager.settings import get_settings
from lxc_manager.signin.service import (
    ConfirmFingerprint,
    Credentials,
    SignedIn,
    SignInService,
)
from tests.conftest import reset_app_caches

ATTACKER_PAGE_SITES = ("cross-site", "same-site", "none", None)


@pytest.fixture
async def http(app_settings: Path) -> AsyncIterator[httpx.AsyncClient]:
    await asyncio.to_thread(upgrade_head)
    await async_client().flushdb()
    transport = httpx.ASGITransport(app=Starlette(routes=ROUTES))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:3000") as client:
        yield client


async def attacker_signs_in(simulator) -> SignedIn:
    """The attacker's own, real sign-in: what their tab would be sent to redeem."""
    parts = urlsplit(simulator.api)
    assert parts.hostname and parts.port
    creds = Credentials(parts.hostname, parts.port, "root", "pam", "192.0.2.66")
    service = SignInService(get_settings(), async_client())
    signed = await service.sign_in(creds, simulator.root_password)
    if isinstance(signed, ConfirmFingerprint):  # the first sign-in trusts the simulator
        signed = await service.sign_in(creds, simulator.root_password, signed.fingerprint)
    assert isinstance(signed, SignedIn)
    return signed


async def open_grant(
    http: httpx.AsyncClient, grant: str, fetch_site: str | None, nonce: str | None
) -> httpx.Response:
    headers = {}
    if fetch_site is not None:
        headers["Sec-Fetch-Site"] = fetch_site
    if nonce is not None:
        headers["Cookie"] = f"{GRANT_NONCE_COOKIE}={nonce}"
    return await http.get(f"/auth/complete?grant={grant}&next=/nodes", headers=headers)


def set_cookies(response: httpx.Response) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    for header in response.headers.get_list("set-cookie"):
        jar.load(header)
    return {name: morsel.value for name, morsel in jar.items()}


def assert_refused(response: httpx.Response) -> None:
    assert response.status_code == 303
    assert response.headers["location"] == "/login?expired=1"
    assert COOKIE_NAME not in set_cookies(response), "a session cookie was handed out"


@pytest.mark.parametrize("fetch_site", ATTACKER_PAGE_SITES)
async def test_a_grant_link_opened_elsewhere_signs_nobody_in(
    http: httpx.AsyncClient, simulator, fetch_site: str | None
) -> None:
    signed = await attacker_signs_in(simulator)
    assert_refused(await open_grant(http, signed.grant, fetch_site, nonce=None))


async def test_the_nonce_alone_is_not_enough_without_a_same_origin_navigation(
    http: httpx.AsyncClient, simulator
) -> None:
    signed = await attacker_signs_in(simulator)
    for fetch_site in ATTACKER_PAGE_SITES:
        assert_refused(await open_grant(http, signed.grant, fetch_site, signed.nonce))
    # Nothing was used up: the tab that signed in still completes its sign-in.
    response = await open_grant(http, signed.grant, "same-origin", signed.nonce)
    assert response.status_code == 303 and COOKIE_NAME in set_cookies(response)


async def test_a_same_origin_navigation_needs_the_tabs_nonce(
    http: httpx.AsyncClient, simulator
) -> None:
    signed = await attacker_signs_in(simulator)
    other = await attacker_signs_in(simulator)
    for nonce in (None, "", other.nonce, signed.nonce[:-2] + "xx"):
        assert_refused(await open_grant(http, signed.grant, "same-origin", nonce))


async def test_the_tab_that_signed_in_gets_its_session_once(
    http: httpx.AsyncClient, simulator
) -> None:
    signed = await attacker_signs_in(simulator)
    response = await open_grant(http, signed.grant, "same-origin", signed.nonce)
    assert response.status_code == 303 and response.headers["location"] == "/nodes"
    cookies = set_cookies(response)
    session = await get_session(async_client(), get_settings(), cookies[COOKIE_NAME])
    assert session is not None and session.username == "root@pam"
    [session_header] = [
        h for h in response.headers.get_list("set-cookie") if h.startswith(COOKIE_NAME + "=")
    ]
    assert "HttpOnly" in session_header and "SameSite=strict" in session_header
    # The nonce cookie is cleared, whatever the outcome.
    [nonce_header] = [
        h for h in response.headers.get_list("set-cookie") if h.startswith(GRANT_NONCE_COOKIE)
    ]
    assert "Max-Age=0" in nonce_header and "Path=/auth/complete" in nonce_header

    assert_refused(await open_grant(http, signed.grant, "same-origin", signed.nonce))


async def test_plain_http_on_a_lan_host_needs_the_nonce_all_the_same(
    http: httpx.AsyncClient, simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Browsers send no Sec-Fetch-Site to http://lxc.lan (not a trustworthy origin): the
    header may be missing there, but a wrong one is still refused and the nonce decides."""
    monkeypatch.setenv("LXCM_PUBLIC_URL", "http://lxc.lan:3000")
    reset_app_caches()
    signed = await attacker_signs_in(simulator)
    assert_refused(await open_grant(http, signed.grant, None, nonce=None))
    for fetch_site in ("cross-site", "same-site", "none"):
        assert_refused(await open_grant(http, signed.grant, fetch_site, signed.nonce))
    response = await open_grant(http, signed.grant, None, signed.nonce)
    assert response.status_code == 303 and COOKIE_NAME in set_cookies(response)
