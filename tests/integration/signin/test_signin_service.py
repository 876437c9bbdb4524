"""The sign-in flow against the simulator over real HTTPS, a real Redis and SQLite."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pyotp
import pytest

from lxc_manager.db.migrate import upgrade_head
from lxc_manager.embedded_redis import free_port
from lxc_manager.redis_client import async_client
from lxc_manager.security import audit
from lxc_manager.security.sessions import get_session, redeem_grant
from lxc_manager.settings import get_settings
from lxc_manager.signin import endpoints
from lxc_manager.signin.service import (
    CERTIFICATE_CHANGED,
    INVALID_CREDENTIALS,
    NOT_ENABLED,
    ConfirmFingerprint,
    Credentials,
    Failed,
    SignedIn,
    SignInService,
    TwoFactorNeeded,
)
from tests.conftest import reset_app_caches


def host_port(api: str) -> tuple[str, int]:
    parts = urlsplit(api)
    assert parts.hostname and parts.port
    return parts.hostname, parts.port


@pytest.fixture
async def service(
    app_settings: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[SignInService]:
    monkeypatch.setenv("LXCM_LOGIN_LIMIT_WINDOW", "2")
    reset_app_caches()
    await asyncio.to_thread(upgrade_head)
    redis = async_client()
    await redis.flushdb()
    yield SignInService(get_settings(), redis)
    await redis.aclose()


def creds(
    api: str, username: str = "root", realm: str = "pam", client_ip: str = "10.9.8.7"
) -> Credentials:
    host, port = host_port(api)
    return Credentials(host, port, username, realm, client_ip)


async def sign_in_first_use(service: SignInService, c: Credentials, password: str) -> SignedIn:
    first = await service.sign_in(c, password)
    assert isinstance(first, ConfirmFingerprint)
    outcome = await service.sign_in(c, password, first.fingerprint)
    assert isinstance(outcome, SignedIn), outcome
    return outcome


async def test_first_use_trust_then_known_endpoint(service: SignInService, simulator) -> None:
    c = creds(simulator.api)
    first = await service.sign_in(c, simulator.root_password)
    assert first == ConfirmFingerprint(simulator.tls_sha256)
    assert endpoints.list_all() == []  # nothing trusted before a successful sign-in

    outcome = await service.sign_in(c, simulator.root_password, simulator.tls_sha256)
    assert isinstance(outcome, SignedIn)
    [endpoint] = endpoints.list_all()
    assert (endpoint.host, endpoint.port, endpoint.tls_fingerprint) == (
        c.host,
        c.port,
        simulator.tls_sha256,
    )
    assert endpoint.trusted_by == "root@pam" and endpoint.cluster_name == simulator.cluster

    session_id = await redeem_grant(service.redis, outcome.grant, outcome.nonce)
    assert (
        session_id is not None
        and await redeem_grant(service.redis, outcome.grant, outcome.nonce) is None
    )  # single use
    session = await get_session(service.redis, service.settings, session_id)
    assert session is not None and session.user_id == f"root@pam@{endpoint.id}"
    assert (
        0
        < await service.redis.ttl(f"session:{hashlib.sha256(session_id.encode()).hexdigest()}")
        <= 7200
    )

    again = await service.sign_in(c, simulator.root_password)  # known now: no confirmation
    assert isinstance(again, SignedIn)
    assert [e.action for e in audit.recent()][:2] == ["login", "login"]


async def test_wrong_password_says_nothing_more(service: SignInService, simulator) -> None:
    c = creds(simulator.api)
    await sign_in_first_use(service, c, simulator.root_password)
    outcome = await service.sign_in(c, "not-the-password")
    assert outcome == Failed(INVALID_CREDENTIALS)
    failure = audit.recent()[0]
    assert failure.outcome == "failed" and "authentication failure" in failure.detail
    assert "not-the-password" not in failure.detail


async def test_unconfirmed_fingerprint_is_asked_again(service: SignInService, simulator) -> None:
    c = creds(simulator.api)
    outcome = await service.sign_in(c, simulator.root_password, "AA:BB")
    assert outcome == ConfirmFingerprint(simulator.tls_sha256)
    assert endpoints.list_all() == []


async def test_unreachable_host(service: SignInService) -> None:
    c = Credentials("127.0.0.1", free_port(), "root", "pam", "10.0.0.1")
    outcome = await service.sign_in(c, "pw")
    assert outcome == Failed(f"Unable to reach Proxmox at 127.0.0.1:{c.port}", "host")


async def test_changed_certificate_blocks_sign_in(service: SignInService, simulator) -> None:
    c = creds(simulator.api)
    await asyncio.to_thread(endpoints.trust, c.host, c.port, "00:" * 31 + "00", trusted_by="test")
    outcome = await service.sign_in(c, simulator.root_password)
    assert isinstance(outcome, Failed) and outcome.message.startswith(CERTIFICATE_CHANGED)
    assert simulator.tls_sha256 in outcome.message and "00:00:00" in outcome.message
    assert "trust-endpoint" in outcome.message


async def test_other_endpoint_refused_after_first_trust(
    service: SignInService, simulator, start_sim
) -> None:
    await sign_in_first_use(service, creds(simulator.api), simulator.root_password)
    other = await asyncio.to_thread(
        start_sim,
        ["--port", "0", "--ssh-port", "0", "--user", "root@pam:other", "--auth-failure-delay", "0"],
    )
    outcome = await service.sign_in(creds(other.ready["api"]), "other")
    assert outcome == Failed(NOT_ENABLED, "host")


async def test_two_allowed_endpoints_are_two_users(
    service: SignInService, simulator, start_sim, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = await asyncio.to_thread(
        start_sim,
        ["--port", "0", "--ssh-port", "0", "--user", "root@pam:other", "--auth-failure-delay", "0"],
    )
    a, b = host_port(simulator.api), host_port(other.ready["api"])
    monkeypatch.setenv("LXCM_LOGIN_ALLOWED_HOSTS", f"{a[0]}:{a[1]},{b[0]}:{b[1]}")
    reset_app_caches()
    service = SignInService(get_settings(), async_client())
    users = []
    for api, password in ((simulator.api, simulator.root_password), (other.ready["api"], "other")):
        signed = await sign_in_first_use(service, creds(api), password)
        session_id = await redeem_grant(service.redis, signed.grant, signed.nonce)
        session = await get_session(service.redis, service.settings, session_id)
        assert session is not None
        users.append(session.user_id)
    assert users[0] != users[1] and all(u.startswith("root@pam@") for u in users)
    stranger = await asyncio.to_thread(
        start_sim, ["--port", "0", "--ssh-port", "0", "--auth-failure-delay", "0"]
    )
    assert await service.sign_in(creds(stranger.ready["api"]), "x") == Failed(NOT_ENABLED, "host")


async def test_two_factor_with_totp_and_recovery_key(service: SignInService, simulator) -> None:
    await sign_in_first_use(service, creds(simulator.api), simulator.root_password)
    c = creds(simulator.api, username=simulator.tfa_user.split("@")[0], realm="pve")
    step = await service.sign_in(c, simulator.tfa_password)
    assert isinstance(step, TwoFactorNeeded)
    assert await service.complete_two_factor(
        step.pending_id, "000000", False, c.client_ip
    ) == Failed("Invalid code", "code")
    done = await service.complete_two_factor(
        step.pending_id, pyotp.TOTP(simulator.totp_secret).now(), False, c.client_ip
    )
    assert isinstance(done, SignedIn)
    assert isinstance(
        await service.complete_two_factor(step.pending_id, "123456", False, c.client_ip), Failed
    )  # used up

    step = await service.sign_in(c, simulator.tfa_password)
    assert isinstance(step, TwoFactorNeeded)
    done = await service.complete_two_factor(
        step.pending_id, simulator.recovery_keys[1], True, c.client_ip
    )
    assert isinstance(done, SignedIn)


async def test_rate_limit_kicks_in_and_recovers(service: SignInService, simulator) -> None:
    c = creds(simulator.api, client_ip="10.1.1.1")
    await sign_in_first_use(service, c, simulator.root_password)
    for _ in range(service.settings.login_limit_per_user):
        assert await service.sign_in(c, "wrong") == Failed(INVALID_CREDENTIALS)
    limited = await service.sign_in(c, simulator.root_password)
    assert (
        isinstance(limited, Failed)
        and limited.message == "Too many attempts, try again in 1 minute"
    )
    await asyncio.sleep(service.settings.login_limit_window + 0.2)
    assert isinstance(await service.sign_in(c, simulator.root_password), SignedIn)
