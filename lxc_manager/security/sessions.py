"""Server-side sessions in Redis (DESIGN §3.1).

The browser holds only a random session id (256 bits) in an HttpOnly cookie. Redis keeps
the session under the SHA-256 of that id, so a copy of the Redis data holds no usable
cookie. A session ends after its absolute lifetime (at most 2 h) or after the idle
timeout, whichever comes first; logout deletes it, which ends it in every tab.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import asdict, dataclass
from http.cookies import SimpleCookie

from redis.asyncio import Redis

from lxc_manager.settings import Settings

COOKIE_NAME = "lxc-session"
SESSION_PREFIX = "session:"
GRANT_PREFIX = "login-grant:"
GRANT_TTL_SECONDS = 30
GRANT_NONCE_COOKIE = "lxc-grant-nonce"
GRANT_NONCE_PATH = "/auth/complete"


DISABLED_ENDPOINTS_KEY = "sign-in-endpoints:disabled"  # see lxc_manager.signin.endpoints


@dataclass(frozen=True)
class Session:
    user_id: str  # "<proxmox user>@<sign-in endpoint id>", e.g. "root@pam@3f9c0a1e2b4d5c6f"
    username: str  # the Proxmox user, e.g. "root@pam"
    endpoint_id: str
    endpoint_label: str  # host:port, for display
    created: float
    last_seen: float
    is_admin: bool  # Sys.Modify on / at the sign-in endpoint, or named in LXCM_ADMINS

    @property
    def display_name(self) -> str:
        return self.username


def _key(session_id: str) -> str:
    return SESSION_PREFIX + hashlib.sha256(session_id.encode()).hexdigest()


def _ttl(session: Session, settings: Settings, now: float) -> int:
    absolute_left = session.created + settings.session_lifetime - now
    return int(min(settings.session_idle_timeout, absolute_left))


def _is_valid_id(session_id: str) -> bool:
    return 32 <= len(session_id) <= 128 and all(c.isalnum() or c in "-_" for c in session_id)


def _load(raw: bytes | str) -> Session | None:
    """A stored session, or None for one written by an older version (other fields)."""
    try:
        return Session(**json.loads(raw))
    except (TypeError, ValueError):
        return None


async def create_session(
    redis: Redis,
    settings: Settings,
    *,
    username: str,
    endpoint_id: str,
    endpoint_label: str,
    is_admin: bool,
) -> str:
    """Store a new session and return its id (a new id at every login: no fixation)."""
    now = time.time()
    session = Session(
        user_id=f"{username}@{endpoint_id}",
        username=username,
        endpoint_id=endpoint_id,
        endpoint_label=endpoint_label,
        created=now,
        last_seen=now,
        is_admin=is_admin,
    )
    session_id = secrets.token_urlsafe(32)
    await redis.set(_key(session_id), json.dumps(asdict(session)), ex=_ttl(session, settings, now))
    return session_id


async def get_session(
    redis: Redis, settings: Settings, session_id: str | None, touch: bool = True
) -> Session | None:
    """The live session for `session_id`; None when it has ended.

    `touch=True` (a user's action) refreshes the idle timer; automatic refreshes and
    background loops pass `touch=False`, so an open tab alone never keeps a session alive.
    A session whose sign-in endpoint was disabled ends here, at its next event.
    """
    if not session_id or not _is_valid_id(session_id):
        return None
    async with redis.pipeline(transaction=False) as pipe:
        pipe.get(_key(session_id))
        pipe.smembers(DISABLED_ENDPOINTS_KEY)
        raw, disabled = await pipe.execute()
    if raw is None:
        return None
    session = _load(raw)
    now = time.time()
    if (
        session is None
        or _endpoint_disabled(session, disabled)
        or _ttl(session, settings, now) <= 0
        or now - session.last_seen > settings.session_idle_timeout
    ):
        await redis.delete(_key(session_id))
        return None
    ttl = _ttl(session, settings, now)
    if touch:
        refreshed = Session(**{**asdict(session), "last_seen": now})
        # SET ... XX refreshes only an existing key, so a concurrent logout is never undone.
        await redis.set(_key(session_id), json.dumps(asdict(refreshed)), ex=ttl, xx=True)
        return refreshed
    return session


def _endpoint_disabled(session: Session, disabled: set[bytes] | set[str]) -> bool:
    return any(
        (item.decode() if isinstance(item, bytes) else item) == session.endpoint_id
        for item in disabled
    )


async def delete_session(redis: Redis, session_id: str | None) -> None:
    if session_id and _is_valid_id(session_id):
        await redis.delete(_key(session_id))


@dataclass(frozen=True)
class Grant:
    """A single-use, seconds-long grant that `/auth/complete` exchanges for the cookie.

    `token` travels in the URL; `nonce` is handed only to the browser tab that signed in
    and must come back as the `lxc-grant-nonce` cookie, so a grant link alone, sent to or
    opened by anyone else, redeems nothing (login CSRF, DESIGN §3.1).
    """

    token: str
    nonce: str


# A grant record is "<sha256(nonce)> <session id>"; GET, compare and DEL in one step.
REDEEM_SCRIPT = """
local value = redis.call('GET', KEYS[1])
if not value then return false end
local space = string.find(value, ' ', 1, true)
if not space or string.sub(value, 1, space - 1) ~= ARGV[1] then return false end
redis.call('DEL', KEYS[1])
return string.sub(value, space + 1)
"""


def _nonce_digest(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


async def create_grant(redis: Redis, session_id: str) -> Grant:
    grant = Grant(secrets.token_urlsafe(32), secrets.token_urlsafe(32))
    await redis.set(
        GRANT_PREFIX + grant.token,
        f"{_nonce_digest(grant.nonce)} {session_id}",
        ex=GRANT_TTL_SECONDS,
    )
    return grant


async def redeem_grant(redis: Redis, token: str | None, nonce: str | None) -> str | None:
    """The session id of a grant whose nonce matches; the grant is then used up.

    A wrong or missing nonce consumes nothing: whoever holds only the link cannot spoil
    the sign-in of the tab it belongs to.
    """
    if not token or not _is_valid_id(token) or not nonce or not _is_valid_id(nonce):
        return None
    value = await redis.eval(REDEEM_SCRIPT, 1, GRANT_PREFIX + token, _nonce_digest(nonce))  # type: ignore[misc]  # redis-py's sync/async union
    return value.decode() if isinstance(value, bytes) else value


def cookie_from_header(cookie_header: str | None, name: str) -> str | None:
    if not cookie_header:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(cookie_header)
    except Exception:
        return None
    morsel = jar.get(name)
    return morsel.value if morsel is not None else None


def session_id_from_cookie_header(cookie_header: str | None) -> str | None:
    return cookie_from_header(cookie_header, COOKIE_NAME)


def safe_next(path: str | None, default: str = "/") -> str:
    """Only a local absolute path may be a post-login destination (no open redirect)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return default
    if any(ord(c) < 0x20 for c in path) or path.startswith("/login") or path.startswith("/auth/"):
        return default
    return path
