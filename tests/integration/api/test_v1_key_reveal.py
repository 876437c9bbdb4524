"""Showing a new key once (`/auth/api-key`): only to its user's session, from the app's own
page, once; the Redis entry is sealed. Each attack is performed: another user's session,
no session, another site's page, a second fetch."""

from __future__ import annotations

from pathlib import Path

import httpx
from starlette.applications import Starlette

from lxc_manager import redis_client
from lxc_manager.api import reveal
from lxc_manager.api.mount import api_routes
from lxc_manager.routes import API_KEY_ONCE
from lxc_manager.security.sessions import COOKIE_NAME, create_session
from lxc_manager.settings import get_settings

KEY = "lxcm_0123456789ab_" + "k" * 43
ORIGIN = "http://127.0.0.1:3000"


async def _session(username: str) -> str:
    return await create_session(
        redis_client.async_client(),
        get_settings(),
        username=username,
        endpoint_id="ep1",
        endpoint_label="pve:8006",
        is_admin=False,
    )


def _client() -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=Starlette(routes=api_routes()))
    return httpx.AsyncClient(transport=transport, base_url="http://app")


async def _fetch(
    http: httpx.AsyncClient, ticket: str, session: str | None, **headers: str
) -> httpx.Response:
    sent = {"origin": ORIGIN, "sec-fetch-site": "same-origin", **headers}
    if session:
        sent["cookie"] = f"{COOKIE_NAME}={session}"
    return await http.post(API_KEY_ONCE, json={"ticket": ticket}, headers=sent)


async def test_the_key_is_handed_once_to_its_user_only(api_db: Path) -> None:
    mine, theirs = await _session("root@pam"), await _session("alice@pve")
    ticket = await reveal.stash("root@pam@ep1", KEY)
    stored = await redis_client.async_client().get(reveal.PREFIX + reveal._digest(ticket))
    assert stored is not None and KEY not in stored.decode() and "k" * 20 not in stored.decode()
    async with _client() as http:
        assert (await _fetch(http, ticket, theirs)).status_code == 404  # another user
        assert (await _fetch(http, ticket, None)).status_code == 404  # signed out
        foreign = await _fetch(http, ticket, mine, origin="https://evil.example")
        assert foreign.status_code == 404
        cross = await _fetch(http, ticket, mine, **{"sec-fetch-site": "cross-site"})
        assert cross.status_code == 404
        assert (await _fetch(http, "wrong-ticket", mine)).status_code == 404
        answer = await _fetch(http, ticket, mine)
        assert answer.status_code == 200 and answer.json() == {"key": KEY}
        assert answer.headers["cache-control"] == "no-store"
        assert (await _fetch(http, ticket, mine)).status_code == 404  # once
