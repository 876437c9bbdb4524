"""Sessions in a real Redis: lifetimes, idle timeout, logout, grants, cookie parsing, next."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from lxc_manager.redis_client import async_client
from lxc_manager.security import sessions
from lxc_manager.settings import get_settings
from tests.conftest import reset_app_caches


@pytest.fixture
async def redis(app_settings: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("LXCM_SESSION_IDLE_TIMEOUT", "60")
    monkeypatch.setenv("LXCM_SESSION_LIFETIME", "300")
    reset_app_caches()
    client = async_client()
    await client.flushdb()
    yield client
    await client.aclose()


class Clock:
    def __init__(self, monkeypatch: pytest.MonkeyPatch, start: float = 1_000_000.0) -> None:
        self.now = start
        monkeypatch.setattr(sessions.time, "time", lambda: self.now)


async def new_session(redis) -> str:
    return await sessions.create_session(
        redis,
        get_settings(),
        username="root@pam",
        endpoint_id="3f9c0a1e2b4d5c6f",
        endpoint_label="pve:8006",
        is_admin=False,
    )


async def test_session_is_stored_hashed_with_a_ttl(redis) -> None:
    session_id = await new_session(redis)
    assert len(session_id) >= 43  # 256 bits, URL-safe base64
    key = "session:" + hashlib.sha256(session_id.encode()).hexdigest()
    assert await redis.exists(key) and not await redis.exists("session:" + session_id)
    assert 0 < await redis.ttl(key) <= 60
    session = await sessions.get_session(redis, get_settings(), session_id)
    assert session is not None and session.user_id == "root@pam@3f9c0a1e2b4d5c6f"
    assert await new_session(redis) != session_id  # a new id every time


async def test_idle_timeout_ends_the_session(redis, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock(monkeypatch)
    session_id = await new_session(redis)
    clock.now += 50
    assert await sessions.get_session(redis, get_settings(), session_id) is not None  # activity
    clock.now += 50
    assert await sessions.get_session(redis, get_settings(), session_id) is not None
    clock.now += 61
    assert await sessions.get_session(redis, get_settings(), session_id) is None
    assert await redis.dbsize() == 0


async def test_absolute_lifetime_ends_an_active_session(
    redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(monkeypatch)
    session_id = await new_session(redis)
    for _ in range(5):
        clock.now += 55
        assert await sessions.get_session(redis, get_settings(), session_id) is not None
    clock.now += 30  # 305 s after creation: past the 300 s lifetime despite activity
    assert await sessions.get_session(redis, get_settings(), session_id) is None


async def test_delete_ends_it_and_garbage_ids_are_refused(redis) -> None:
    session_id = await new_session(redis)
    await sessions.delete_session(redis, session_id)
    assert await sessions.get_session(redis, get_settings(), session_id) is None
    for bad in (None, "", "x", "a" * 500, "../../etc", "session:*"):
        assert await sessions.get_session(redis, get_settings(), bad) is None


async def test_grants_are_single_use_and_need_their_nonce(redis) -> None:
    grant = await sessions.create_grant(redis, "sid-" + "a" * 40)
    key = sessions.GRANT_PREFIX + grant.token
    assert 0 < await redis.ttl(key) <= sessions.GRANT_TTL_SECONDS
    assert grant.nonce not in (await redis.get(key)).decode()  # only its hash is stored
    other = await sessions.create_grant(redis, "sid-" + "b" * 40)
    for nonce in (None, "", other.nonce, grant.nonce[:-1] + "x"):
        assert await sessions.redeem_grant(redis, grant.token, nonce) is None
    assert await sessions.redeem_grant(redis, grant.token, grant.nonce) == "sid-" + "a" * 40
    assert await sessions.redeem_grant(redis, grant.token, grant.nonce) is None
    assert await sessions.redeem_grant(redis, None, grant.nonce) is None


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("lxc-session=abc; other=1", "abc"),
        ("other=1", None),
        (None, None),
        ('lxc-session="quoted"', "quoted"),
    ],
)
def test_cookie_header_parsing(header: str | None, expected: str | None) -> None:
    assert sessions.session_id_from_cookie_header(header) == expected


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/templates", "/templates"),
        ("/settings/nodes?x=1", "/settings/nodes?x=1"),
        ("https://elsewhere.example", "/"),
        ("//elsewhere.example", "/"),
        ("/\\elsewhere.example", "/"),
        ("javascript:alert(1)", "/"),
        ("/login", "/"),
        ("/auth/logout", "/"),
        (None, "/"),
    ],
)
def test_safe_next(target: str | None, expected: str) -> None:
    assert sessions.safe_next(target) == expected
