"""`/api/v1` authentication, rate limits and error shapes, through the app's own routes
(real Redis, real database). Each attack is performed: no key, a forged key, a revoked or
expired key, a key of a disabled sign-in endpoint, a flood of requests and of bad keys."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from lxc_manager import redis_client
from lxc_manager.api import framework, keys
from lxc_manager.db.engine import session_scope
from lxc_manager.db.models import ApiKey, AuditEvent
from lxc_manager.security.sessions import DISABLED_ENDPOINTS_KEY
from tests.conftest import reset_app_caches
from tests.support.api import api_client, assert_error, bearer, expire_key, make_key

USER_A = "root@pam@1"
ME = "/api/v1/me"


def _audit(action: str) -> list[AuditEvent]:
    with session_scope() as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)))


async def test_a_valid_key_acts_as_its_user_without_admin(key_a: str) -> None:
    async with api_client() as http:
        response = await http.get(ME, headers=bearer(key_a))
    assert response.status_code == 200, response.text
    assert response.json() == {
        "user_id": USER_A,
        "username": "root@pam",
        "key_prefix": keys.key_prefix(key_a),
        "admin": False,
    }
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Basic cm9vdDpwdw==",
        "Bearer",
        "Bearer not-a-key",
        "Bearer lxcm_000000000000_" + "A" * 43,
    ],
)
async def test_missing_or_forged_keys_are_401(api_db: Path, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    async with api_client() as http:
        response = await http.get(ME, headers=headers)
    assert_error(response, 401, "unauthenticated")
    assert response.headers["www-authenticate"] == "Bearer"


async def test_a_key_with_the_right_prefix_and_a_wrong_secret_is_401_and_audited(
    key_a: str,
) -> None:
    forged = key_a[: -len("A" * 43)] + "B" * 43
    async with api_client() as http:
        assert_error(await http.get(ME, headers=bearer(forged)), 401, "unauthenticated")
    [event] = await asyncio.to_thread(_audit, "api_key.use")
    assert event.user_id == USER_A and event.outcome == "failed"
    assert event.detail.startswith("mismatch") and forged[-43:] not in event.detail


async def test_revoked_and_expired_keys_stop_working(api_db: Path) -> None:
    revoked, expired = await asyncio.gather(
        asyncio.to_thread(make_key, USER_A, "revoked"), asyncio.to_thread(make_key, USER_A, "old")
    )
    async with api_client() as http:
        assert (await http.get(ME, headers=bearer(revoked))).status_code == 200
        assert (await http.get(ME, headers=bearer(expired))).status_code == 200
        [view] = [k for k in await keys.list_keys(USER_A) if k.name == "revoked"]
        assert await keys.revoke_key(USER_A, view.id)
        await asyncio.to_thread(expire_key, expired)
        assert_error(await http.get(ME, headers=bearer(revoked)), 401, "unauthenticated")
        assert_error(await http.get(ME, headers=bearer(expired)), 401, "unauthenticated")
    details = sorted(e.detail.split()[0] for e in await asyncio.to_thread(_audit, "api_key.use"))
    assert details == ["expired", "revoked"]


async def test_a_key_of_a_disabled_sign_in_endpoint_is_401(api_db: Path) -> None:
    key = await asyncio.to_thread(make_key, USER_A, "ci", "endpoint-x")
    redis = redis_client.async_client()
    async with api_client() as http:
        assert (await http.get(ME, headers=bearer(key))).status_code == 200
        await redis.sadd(DISABLED_ENDPOINTS_KEY, "endpoint-x")  # type: ignore[misc]
        try:
            assert_error(await http.get(ME, headers=bearer(key)), 401, "unauthenticated")
        finally:
            await redis.srem(DISABLED_ENDPOINTS_KEY, "endpoint-x")  # type: ignore[misc]
        assert (await http.get(ME, headers=bearer(key))).status_code == 200


async def test_each_key_is_rate_limited_with_retry_after(
    api_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LXCM_API_RATE_LIMIT", "3")
    monkeypatch.setenv("LXCM_API_RATE_WINDOW", "60")
    reset_app_caches()
    first, second = await asyncio.gather(
        asyncio.to_thread(make_key, USER_A, "one"), asyncio.to_thread(make_key, USER_A, "two")
    )
    async with api_client() as http:
        answers = await asyncio.gather(*(http.get(ME, headers=bearer(first)) for _ in range(6)))
        assert sorted(r.status_code for r in answers) == [200, 200, 200, 429, 429, 429]
        limited = next(r for r in answers if r.status_code == 429)
        assert_error(limited, 429, "rate_limited")
        assert 1 <= int(limited.headers["retry-after"]) <= 61
        # another key of the same user has its own budget
        assert (await http.get(ME, headers=bearer(second))).status_code == 200


async def test_a_flood_of_bad_keys_is_limited_per_client_and_audits_a_bounded_number(
    key_a: str,
) -> None:
    forged = key_a[:-43] + "C" * 43
    async with api_client() as http:
        answers = [await http.get(ME, headers=bearer(forged)) for _ in range(40)]
    statuses = [r.status_code for r in answers]
    assert statuses[: framework.AUTH_FAILURES_PER_CLIENT] == [401] * 30
    assert set(statuses[framework.AUTH_FAILURES_PER_CLIENT :]) == {429}
    assert "retry-after" in answers[-1].headers
    audited = await asyncio.to_thread(_audit, "api_key.use")
    assert len(audited) == framework.AUTH_FAILURES_PER_CLIENT


async def test_keys_never_reach_a_log_line(key_a: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    forged = key_a[:-43] + "D" * 43
    async with api_client() as http:
        await http.get(ME, headers=bearer(key_a))
        await http.get(ME, headers=bearer(forged))
        await http.get("/api/v1/containers/1/100", headers=bearer(key_a))
    text = caplog.text
    assert key_a[-43:] not in text and forged[-43:] not in text


async def test_unknown_routes_methods_and_parameters_answer_json_errors(key_a: str) -> None:
    async with api_client() as http:
        assert_error(await http.get("/api/v1/nope", headers=bearer(key_a)), 404, "not_found")
        wrong = await http.delete("/api/v1/nodes", headers=bearer(key_a))
        assert_error(wrong, 405, "method_not_allowed")
        assert wrong.headers["allow"] == "GET"
        odd = await http.get("/api/v1/nodes?colour=red", headers=bearer(key_a))
        assert_error(odd, 422, "invalid", "colour")


async def test_last_used_is_recorded(key_a: str) -> None:
    async with api_client() as http:
        assert (await http.get(ME, headers=bearer(key_a))).status_code == 200

    def last_used() -> Any:
        with session_scope() as session:
            return session.exec(select(ApiKey.last_used_at)).one()

    assert await asyncio.to_thread(last_used) is not None
