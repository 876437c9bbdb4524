"""Sign-in endpoints as a team meets them: roles from Proxmox, disabling instead of
deleting, ids that are never handed out twice, and the first-use trust happening once.

Real simulators over HTTPS, a real Redis and SQLite. The attack of issue 12 path 1: an
ordinary user removes the real endpoint and adds a fake Proxmox (that says yes to any
password for root@pam) which gets the old id, then signs in as the real root@pam.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from lxc_manager.db.migrate import upgrade_head
from lxc_manager.nodes import service as nodes
from lxc_manager.redis_client import async_client
from lxc_manager.security.sessions import Session, get_session, redeem_grant
from lxc_manager.settings import get_settings
from lxc_manager.signin import endpoints
from lxc_manager.signin.service import (
    NOT_ENABLED,
    ConfirmFingerprint,
    Credentials,
    Failed,
    SignedIn,
    SignInService,
)
from tests.conftest import reset_app_caches

QUIET_SIM = ("--port", "0", "--ssh-port", "0", "--auth-failure-delay", "0")


def creds(api: str, username: str = "root", realm: str = "pam") -> Credentials:
    parts = urlsplit(api)
    assert parts.hostname and parts.port
    return Credentials(parts.hostname, parts.port, username, realm, "10.1.2.3")


@pytest.fixture
async def service(app_settings: Path) -> AsyncIterator[SignInService]:
    reset_app_caches()
    await asyncio.to_thread(upgrade_head)
    redis = async_client()
    await redis.flushdb()
    yield SignInService(get_settings(), redis)
    await redis.aclose()


async def signed_in(service: SignInService, c: Credentials, password: str) -> tuple[str, Session]:
    outcome = await service.sign_in(c, password)
    if isinstance(outcome, ConfirmFingerprint):
        outcome = await service.sign_in(c, password, outcome.fingerprint)
    assert isinstance(outcome, SignedIn), outcome
    session_id = await redeem_grant(service.redis, outcome.grant, outcome.nonce)
    assert session_id is not None
    session = await get_session(service.redis, service.settings, session_id)
    assert session is not None
    return session_id, session


async def test_roles_come_from_proxmox_and_lxcm_admins(
    service: SignInService, simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, root = await signed_in(service, creds(simulator.api), simulator.root_password)
    assert root.is_admin  # Administrator on / holds Sys.Modify
    auditor_name = simulator.auditor_user.split("@")[0]
    auditor_creds = creds(simulator.api, auditor_name, "pve")
    _, auditor = await signed_in(service, auditor_creds, simulator.auditor_password)
    assert not auditor.is_admin  # PVEAuditor on /: no Sys.Modify

    monkeypatch.setenv(
        "LXCM_ADMINS", f"{simulator.auditor_user}@{auditor_creds.host}:{auditor_creds.port}"
    )
    reset_app_caches()
    named = SignInService(get_settings(), async_client())
    _, auditor = await signed_in(named, auditor_creds, simulator.auditor_password)
    assert auditor.is_admin


async def test_two_simultaneous_first_sign_ins_trust_exactly_one_endpoint(
    service: SignInService, start_sim
) -> None:
    others = [
        await asyncio.to_thread(start_sim, [*QUIET_SIM, "--user", f"root@pam:pw{i}"])
        for i in range(2)
    ]
    fingerprints = [str(o.ready["tls_sha256"]) for o in others]
    outcomes = await asyncio.gather(
        *(
            service.sign_in(creds(str(o.ready["api"])), f"pw{i}", fingerprints[i])
            for i, o in enumerate(others)
        )
    )
    assert sorted(type(o).__name__ for o in outcomes) == ["Failed", "SignedIn"]
    assert [o for o in outcomes if isinstance(o, Failed)] == [Failed(NOT_ENABLED, "host")]
    assert len(endpoints.list_all()) == 1


async def test_disabling_ends_sessions_refuses_sign_in_and_enabling_restores_users(
    service: SignInService, simulator
) -> None:
    c = creds(simulator.api)
    session_id, session = await signed_in(service, c, simulator.root_password)
    created = await nodes.create_node(
        session.user_id,
        nodes.NodeInput(
            name="lab",
            host=c.host,
            port=c.port,
            token_id=simulator.token_id,
            token_secret=simulator.token_secret,
            tls_fingerprint=simulator.tls_sha256,
        ),
    )
    assert isinstance(created, nodes.NodeView), created

    await asyncio.to_thread(endpoints.set_enabled, session.endpoint_id, False, "admin@pam@x")
    await endpoints.publish_disabled(service.redis)
    assert await get_session(service.redis, service.settings, session_id) is None
    assert await service.sign_in(c, simulator.root_password) == Failed(NOT_ENABLED, "host")

    await asyncio.to_thread(endpoints.set_enabled, session.endpoint_id, True, "admin@pam@x")
    await endpoints.publish_disabled(service.redis)
    _, again = await signed_in(service, c, simulator.root_password)
    assert again.user_id == session.user_id
    assert [n.name for n in await nodes.list_nodes(again.user_id)] == ["lab"]


async def test_a_fake_proxmox_enabled_later_never_inherits_the_real_root(
    service: SignInService, simulator, start_sim
) -> None:
    """Even when an administrator enables a server that says yes to root@pam, its users
    are other users: ids are random and never reused, and nothing is ever deleted."""
    _, real_root = await signed_in(service, creds(simulator.api), simulator.root_password)
    fake = await asyncio.to_thread(start_sim, [*QUIET_SIM, "--user", "root@pam:anything"])
    fake_creds = creds(str(fake.ready["api"]))
    # Not enabled: an ordinary first use is over once one endpoint was trusted.
    assert await service.sign_in(fake_creds, "anything") == Failed(NOT_ENABLED, "host")
    await asyncio.to_thread(
        endpoints.trust, fake_creds.host, fake_creds.port, str(fake.ready["tls_sha256"]), "admin"
    )
    _, fake_root = await signed_in(service, fake_creds, "anything")
    assert fake_root.username == real_root.username == "root@pam"
    assert fake_root.user_id != real_root.user_id
    assert fake_root.endpoint_id != real_root.endpoint_id
    assert len(fake_root.endpoint_id) == 16 and not fake_root.endpoint_id.isdigit()


async def test_with_every_endpoint_disabled_a_new_server_is_not_trusted_on_first_use(
    service: SignInService, simulator, start_sim
) -> None:
    """Before: removing the only endpoint made the installation "empty" again, so the next
    sign-in, to any server, was trusted on first use and got the freed integer id."""
    _, real_root = await signed_in(service, creds(simulator.api), simulator.root_password)
    await asyncio.to_thread(endpoints.set_enabled, real_root.endpoint_id, False, "admin@pam@x")
    fake = await asyncio.to_thread(start_sim, [*QUIET_SIM, "--user", "root@pam:anything"])
    fake_creds = creds(str(fake.ready["api"]))
    first = await service.sign_in(fake_creds, "anything")
    assert first == Failed(NOT_ENABLED, "host")
    again = await service.sign_in(fake_creds, "anything", str(fake.ready["tls_sha256"]))
    assert again == Failed(NOT_ENABLED, "host")
    assert [e.id for e in endpoints.list_all()] == [real_root.endpoint_id]
