"""Showing a new API key once without putting it in a Reflex state var.

The Settings page's create handler stashes the new key here, sealed with the app's keyring
and bound to the user, under a random single-use ticket that lives `TICKET_TTL` seconds;
only the ticket enters the page's state. The page's own script then POSTs the ticket to
`routes.API_KEY_ONCE` (same origin, with the HttpOnly session cookie) and writes the key
into the dialog's DOM: the route hands it out once, to the same signed-in user, and
forgets it. State vars are sent to the browser and pickled into Redis (DESIGN §3.4), a
sealed, seconds-long Redis entry is not; the ticket alone is worth nothing without the
user's session.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import secrets

from starlette.requests import Request
from starlette.responses import JSONResponse

from lxc_manager.nodes.secrets import keyring
from lxc_manager.redis_client import RedisDb, async_client
from lxc_manager.security.crypto import DecryptionError
from lxc_manager.security.origins import allowed_origins, browsers_send_fetch_metadata
from lxc_manager.security.sessions import get_session, session_id_from_cookie_header
from lxc_manager.settings import get_settings

log = logging.getLogger(__name__)

PREFIX = "api-key-once:"
TICKET_TTL = 120
HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _digest(ticket: str) -> str:
    return hashlib.sha256(ticket.encode()).hexdigest()


def _associated(user_id: str, ticket: str) -> str:
    return f"api-key-once:{user_id}:{_digest(ticket)}"


async def stash(user_id: str, key: str) -> str:
    """Keep `key` for one fetch by `user_id`; return the ticket that fetches it."""
    ticket = secrets.token_urlsafe(24)
    ring = await asyncio.to_thread(keyring)  # may read the key file
    sealed = ring.encrypt(key, _associated(user_id, ticket))
    await async_client(RedisDb.APP).set(PREFIX + _digest(ticket), sealed, ex=TICKET_TTL)
    return ticket


async def take(user_id: str, ticket: str) -> str | None:
    """The stashed key, once, for the user it was stashed for; None otherwise."""
    if not ticket or len(ticket) > 64:
        return None
    redis = async_client(RedisDb.APP)
    name = PREFIX + _digest(ticket)
    sealed = await redis.get(name)
    if sealed is None:
        return None
    text = sealed.decode() if isinstance(sealed, bytes) else str(sealed)
    ring = await asyncio.to_thread(keyring)
    try:
        key = ring.decrypt(text, _associated(user_id, ticket))
    except DecryptionError:
        return None  # another user's ticket: it stays for its owner
    if not await redis.delete(name):
        return None  # fetched concurrently: only one of the two gets it
    return key


def _same_origin(request: Request) -> bool:
    settings = get_settings()
    site = request.headers.get("sec-fetch-site")
    if site is not None and site != "same-origin":
        return False
    if site is None and browsers_send_fetch_metadata(settings):
        return False
    return request.headers.get("origin") in allowed_origins(settings)


async def reveal_once(request: Request) -> JSONResponse:
    """POST {"ticket": ...} from the app's own page: {"key": ...} once, else 404."""
    gone = JSONResponse({"error": "gone"}, status_code=404, headers=HEADERS)
    if not _same_origin(request):
        log.info("api key reveal refused: not the app's own page")
        return gone
    session_id = session_id_from_cookie_header(request.headers.get("cookie"))
    session = await get_session(async_client(RedisDb.APP), get_settings(), session_id)
    if session is None:
        return gone
    try:
        body = json.loads(await request.body())
        ticket = body.get("ticket") if isinstance(body, dict) else None
    except ValueError:
        ticket = None
    key = await take(session.user_id, ticket) if isinstance(ticket, str) else None
    if key is None:
        return gone
    return JSONResponse({"key": key}, headers=HEADERS)
