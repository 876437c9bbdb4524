"""Issue 12, path 9 (sign-in half): refused sign-ins are counted, not written one audit
row each. Anyone who can reach the login page can send refusals; one row each would let
them fill the audit table and bury what matters in it."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlmodel import select

from lxc_manager.db.engine import session_scope
from lxc_manager.db.migrate import upgrade_head
from lxc_manager.db.models import AuditEvent
from lxc_manager.redis_client import async_client
from lxc_manager.security.refusals import refusal_count
from lxc_manager.settings import get_settings
from lxc_manager.signin import endpoints
from lxc_manager.signin.service import (
    UNKNOWN_ENDPOINT_TARGET,
    Credentials,
    Failed,
    SignInService,
)
from tests.conftest import reset_app_caches

ATTEMPTS = 500


@pytest.fixture
async def service(app_settings: Path, monkeypatch: pytest.MonkeyPatch) -> SignInService:
    monkeypatch.setenv("LXCM_LOGIN_LIMIT_WINDOW", "600")
    reset_app_caches()
    await asyncio.to_thread(upgrade_head)
    await async_client().flushdb()
    return SignInService(get_settings(), async_client())


def failed_login_rows() -> list[AuditEvent]:
    with session_scope() as db:
        return list(
            db.exec(
                select(AuditEvent)
                .where(AuditEvent.action == "login", AuditEvent.outcome == "failed")
                .order_by(AuditEvent.id)  # type: ignore[arg-type]
            )
        )


async def test_500_wrong_passwords_write_a_handful_of_rows_and_count_them_all(
    service: SignInService, simulator
) -> None:
    parts = urlsplit(simulator.api)
    assert parts.hostname and parts.port
    await asyncio.to_thread(
        endpoints.trust, parts.hostname, parts.port, simulator.tls_sha256, trusted_by="test"
    )
    label = f"endpoint:{parts.hostname}:{parts.port}"

    outcomes = await asyncio.gather(
        *[
            service.sign_in(
                Credentials(parts.hostname, parts.port, "root", "pam", "198.51.100.1"), f"pw{n}"
            )
            for n in range(ATTEMPTS)
        ]
    )
    assert all(isinstance(o, Failed) for o in outcomes)

    rows = failed_login_rows()
    assert len(rows) <= 5, [r.detail for r in rows]
    by_reason = Counter(r.detail.split(":", 1)[0] for r in rows)
    # 5 wrong passwords reached Proxmox (the per-user limit), 495 were refused unsent:
    # rows for the 1st wrong password, and the 1st, 10th and 100th refusal.
    assert by_reason == Counter({"authentication failure": 1, "rate limited": 3})
    # (concurrent attempts: the rows need not be written in the order of their counts)
    assert {r.detail.rsplit("(", 1)[1] for r in rows if r.detail.startswith("rate limited")} == {
        "first refusal of this kind here in a 600 s window)",
        "10 refusals of this kind here in this 600 s window)",
        "100 refusals of this kind here in this 600 s window)",
    }
    assert all(r.target == label and r.user_id == "root@pam" for r in rows)
    assert all("198.51.100.1" in r.detail and "pw" not in r.detail for r in rows)

    counts = {
        reason: await refusal_count(service.redis, "login", reason=reason, target=label)
        for reason in ("authentication failure", "rate limited")
    }
    assert counts == {"authentication failure": 5, "rate limited": ATTEMPTS - 5}


async def test_probing_hosts_that_are_not_enabled_is_counted_too(service: SignInService) -> None:
    """Each probe names another host:port (the sender's choice): still one counter."""
    await asyncio.to_thread(
        endpoints.trust, "127.0.0.1", 1, "00:" * 31 + "00", trusted_by="test"
    )  # not an empty install
    for n in range(ATTEMPTS):
        probe = Credentials(f"10.0.{n // 250}.{n % 250}", 8006, "root", "pam", "198.51.100.2")
        await service.sign_in(probe, "x")
    rows = failed_login_rows()
    # 20 probes (the per-client limit) answered "not enabled": rows at the 1st and 10th;
    # 480 refused by the limit: rows at the 1st, 10th and 100th.
    assert len(rows) == 5, [r.detail for r in rows]
    assert {r.target for r in rows} == {UNKNOWN_ENDPOINT_TARGET}
    assert "endpoint 10.0.0.0:8006" in rows[0].detail  # the first probe, named in its row
    counts = [
        await refusal_count(service.redis, "login", reason=reason, target=UNKNOWN_ENDPOINT_TARGET)
        for reason in ("endpoint not enabled for sign-in", "rate limited")
    ]
    assert counts == [20, ATTEMPTS - 20]
