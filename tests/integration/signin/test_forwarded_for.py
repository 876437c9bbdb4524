"""Who the client is, as the sign-in page sees it (LXCM_TRUSTED_PROXIES), through the real
event processor and Redis: a forged X-Forwarded-For never buys fresh sign-in attempts.

The attack: a client rotates the address it claims in X-Forwarded-For on every attempt, to
get a fresh per-client budget each time (password spraying past LXCM_LOGIN_LIMIT_PER_CLIENT).
Directly connected, its header is ignored; through the trusted proxy (Caddy in
deploy/compose.yaml), only the address the proxy appended counts. Real clients behind the
proxy, on the other hand, each have their own budget.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from lxc_manager.db.migrate import upgrade_head
from lxc_manager.pages.login.state import LoginState
from lxc_manager.redis_client import async_client
from lxc_manager.signin.service import NOT_ENABLED
from tests.conftest import reset_app_caches
from tests.support.reflex_events import event_processor

PER_CLIENT = 3
PROXY = "10.0.0.2"
ATTACKER = "192.0.2.50"
FORM = {"host": "not-allowed.example", "port": "8006", "username": "root", "realm": "pam"}


@pytest.fixture
async def attempt(
    app_settings: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Callable[..., Any]]:
    monkeypatch.setenv("LXCM_LOGIN_ALLOWED_HOSTS", "pve.allowed.example:8006")
    monkeypatch.setenv("LXCM_LOGIN_LIMIT_PER_CLIENT", str(PER_CLIENT))
    monkeypatch.setenv("LXCM_LOGIN_LIMIT_WINDOW", "600")
    monkeypatch.setenv("LXCM_TRUSTED_PROXIES", PROXY)
    reset_app_caches()
    await asyncio.to_thread(upgrade_head)
    await async_client().flushdb()
    async with event_processor() as make:

        async def sign_in_from(peer: str, forwarded: str | None = None) -> str:
            """One sign-in attempt (a refused host: it costs the client, never reaches a
            Proxmox); returns the error the page shows."""
            headers = {"x-forwarded-for": forwarded} if forwarded is not None else {}
            tab = make("/login", None, ip=peer, extra_headers=headers)
            await tab.open()
            await tab.fire(LoginState.submit_credentials, form={**FORM, "password": "guess"})
            return str((await tab.state(LoginState)).error)

        yield sign_in_from


def limited(error: str) -> bool:
    return error.startswith("Too many attempts")


async def test_a_direct_client_forging_x_forwarded_for_is_still_one_client(
    attempt: Callable[..., Any],
) -> None:
    errors = [await attempt(ATTACKER, f"198.51.100.{i}") for i in range(PER_CLIENT + 1)]
    assert errors[:PER_CLIENT] == [NOT_ENABLED] * PER_CLIENT
    assert limited(errors[PER_CLIENT]), errors
    # a header naming the proxy itself does not help either
    assert limited(await attempt(ATTACKER, PROXY))


async def test_through_the_proxy_forged_entries_left_of_it_are_ignored(
    attempt: Callable[..., Any],
) -> None:
    # the client writes a fresh fake address; the proxy appends the one it saw
    errors = [await attempt(PROXY, f"198.51.100.{i}, 203.0.113.9") for i in range(PER_CLIENT + 1)]
    assert errors[:PER_CLIENT] == [NOT_ENABLED] * PER_CLIENT
    assert limited(errors[PER_CLIENT]), errors
    # another real client behind the same proxy has its own budget
    assert await attempt(PROXY, "203.0.113.10") == NOT_ENABLED
