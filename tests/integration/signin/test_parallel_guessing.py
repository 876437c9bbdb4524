"""Issue 12, path 4: parallel guessing. Hundreds of concurrent sign-in attempts (passwords
or two-factor codes) must not reach Proxmox more often than the limits allow.

The simulator sits behind a counting TCP pass-through (tests/support/tcp_counter.py), so
"contacted Proxmox" is counted where it happens: connections arriving at the server.
The simulator waits 0.1 s before answering a wrong password or code, as Proxmox does,
which leaves every concurrent attempt time to slip past a check-then-count limit.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pyotp
import pytest

from lxc_manager.db.migrate import upgrade_head
from lxc_manager.redis_client import async_client
from lxc_manager.settings import get_settings
from lxc_manager.signin import endpoints
from lxc_manager.signin.service import (
    INVALID_CREDENTIALS,
    Credentials,
    Failed,
    SignedIn,
    SignInService,
    TwoFactorNeeded,
)
from tests.conftest import reset_app_caches
from tests.support.tcp_counter import CountingProxy, counting_proxy

ATTACKERS = 200
CODE_ATTEMPTS_PER_CHALLENGE = 5


@pytest.fixture
def limits(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    def set_limits(per_user: int = 5, per_client: int = 20) -> None:
        monkeypatch.setenv("LXCM_LOGIN_LIMIT_PER_USER", str(per_user))
        monkeypatch.setenv("LXCM_LOGIN_LIMIT_PER_CLIENT", str(per_client))
        monkeypatch.setenv("LXCM_LOGIN_LIMIT_WINDOW", "600")
        reset_app_caches()

    return set_limits


@pytest.fixture
async def proxy(app_settings: Path, simulator) -> AsyncIterator[CountingProxy]:
    """The simulator behind a counting pass-through, trusted as a sign-in endpoint."""
    await asyncio.to_thread(upgrade_head)
    await async_client().flushdb()
    host, port = simulator.api.removeprefix("https://").rsplit(":", 1)
    async with counting_proxy(host, int(port)) as counting:
        await asyncio.to_thread(
            endpoints.trust, "127.0.0.1", counting.port, simulator.tls_sha256, trusted_by="test"
        )
        yield counting


def service() -> SignInService:
    return SignInService(get_settings(), async_client())


def creds(
    proxy: CountingProxy, username: str = "root", realm: str = "pam", client: str = ""
) -> Credentials:
    return Credentials("127.0.0.1", proxy.port, username, realm, client or "198.51.100.7")


def messages(outcomes: list[object]) -> Counter[str]:
    return Counter(o.message if isinstance(o, Failed) else type(o).__name__ for o in outcomes)


async def test_concurrent_wrong_passwords_for_one_user_reach_proxmox_at_most_the_limit(
    limits: Callable[..., None], proxy: CountingProxy, simulator
) -> None:
    limits(per_user=5, per_client=1000)
    sign_in = service()
    outcomes = await asyncio.gather(
        *[sign_in.sign_in(creds(proxy), f"guess-{n}") for n in range(ATTACKERS)]
    )
    # At most the limit; exactly the limit here, which also shows the counter counts.
    assert proxy.connections == 5, f"{proxy.connections} guesses reached Proxmox"
    seen = messages(outcomes)
    assert seen[INVALID_CREDENTIALS] == proxy.connections
    assert seen["Too many attempts, try again in 10 minutes"] == ATTACKERS - proxy.connections

    # The right password is refused too while the window lasts: guessing stays closed.
    before = proxy.connections
    assert messages([await sign_in.sign_in(creds(proxy), simulator.root_password)]) == Counter(
        {"Too many attempts, try again in 10 minutes": 1}
    )
    assert proxy.connections == before


async def test_concurrent_attempts_from_many_addresses_are_still_limited_per_user(
    limits: Callable[..., None], proxy: CountingProxy
) -> None:
    limits(per_user=5, per_client=1000)
    sign_in = service()
    await asyncio.gather(
        *[
            sign_in.sign_in(creds(proxy, client=f"10.{n // 250}.{n % 250}.1"), "guess")
            for n in range(ATTACKERS)
        ]
    )
    assert proxy.connections == 5, f"{proxy.connections} guesses reached Proxmox"


async def test_concurrent_spraying_over_many_users_is_limited_per_client(
    limits: Callable[..., None], proxy: CountingProxy
) -> None:
    limits(per_user=1000, per_client=20)
    sign_in = service()
    await asyncio.gather(
        *[
            sign_in.sign_in(creds(proxy, username=f"user{n}"), "Summer2024!")
            for n in range(ATTACKERS)
        ]
    )
    assert proxy.connections == 20, f"{proxy.connections} guesses reached Proxmox"


async def test_concurrent_codes_reach_proxmox_at_most_five_times_per_challenge(
    limits: Callable[..., None], proxy: CountingProxy, simulator
) -> None:
    """The attacker knows the password, not the second factor: one challenge, 200 codes."""
    limits(per_user=1000, per_client=1000)  # only the challenge's own limit is left
    sign_in = service()
    tfa = creds(proxy, username=simulator.tfa_user.split("@")[0], realm="pve")
    step = await sign_in.sign_in(tfa, simulator.tfa_password)
    assert isinstance(step, TwoFactorNeeded)
    before = proxy.connections

    right = pyotp.TOTP(simulator.totp_secret).now()
    wrong = [f"{(int(right) + n) % 1_000_000:06d}" for n in range(1, ATTACKERS + 1)]
    outcomes = await asyncio.gather(
        *[
            sign_in.complete_two_factor(step.pending_id, code, False, tfa.client_ip)
            for code in wrong
        ]
    )
    contacts = proxy.connections - before
    assert contacts == CODE_ATTEMPTS_PER_CHALLENGE, f"{contacts} codes reached Proxmox"
    assert not any(isinstance(o, SignedIn) for o in outcomes)

    # The challenge is used up: even the right code now asks to start again, unsent.
    done = await sign_in.complete_two_factor(step.pending_id, right, False, tfa.client_ip)
    assert isinstance(done, Failed) and "enter your credentials again" in done.message
    assert proxy.connections - before == contacts


async def test_fifth_wrong_code_ends_the_challenge(
    limits: Callable[..., None], proxy: CountingProxy, simulator
) -> None:
    limits(per_user=1000, per_client=1000)
    sign_in = service()
    tfa = creds(proxy, username=simulator.tfa_user.split("@")[0], realm="pve")
    step = await sign_in.sign_in(tfa, simulator.tfa_password)
    assert isinstance(step, TwoFactorNeeded)
    answers = [
        await sign_in.complete_two_factor(step.pending_id, "000000", False, tfa.client_ip)
        for _ in range(CODE_ATTEMPTS_PER_CHALLENGE)
    ]
    assert answers[:-1] == [Failed("Invalid code", "code")] * (CODE_ATTEMPTS_PER_CHALLENGE - 1)
    assert isinstance(answers[-1], Failed) and "enter your credentials again" in answers[-1].message
    right = pyotp.TOTP(simulator.totp_secret).now()
    again = await sign_in.complete_two_factor(step.pending_id, right, False, tfa.client_ip)
    assert isinstance(again, Failed) and "enter your credentials again" in again.message

    # Starting again from the password works (the right code then signs in).
    step = await sign_in.sign_in(tfa, simulator.tfa_password)
    assert isinstance(step, TwoFactorNeeded)
    done = await sign_in.complete_two_factor(step.pending_id, right, False, tfa.client_ip)
    assert isinstance(done, SignedIn)


async def test_a_pending_challenge_counts_as_an_attempt(
    limits: Callable[..., None], proxy: CountingProxy, simulator
) -> None:
    """Starting over after the password step must not hand out fresh challenges for free."""
    limits(per_user=3, per_client=1000)
    sign_in = service()
    tfa = creds(proxy, username=simulator.tfa_user.split("@")[0], realm="pve")
    for _ in range(3):
        assert isinstance(await sign_in.sign_in(tfa, simulator.tfa_password), TwoFactorNeeded)
    before = proxy.connections
    refused = await sign_in.sign_in(tfa, simulator.tfa_password)
    assert isinstance(refused, Failed) and refused.message.startswith("Too many attempts")
    assert proxy.connections == before
