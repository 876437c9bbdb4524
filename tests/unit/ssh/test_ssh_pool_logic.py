"""Pool pieces that need no server: the session limiter, error mapping, output decoding."""

from __future__ import annotations

import asyncio

import asyncssh
import pytest

from lxc_manager.ssh import (
    HostKeyMismatch,
    HostKeyNotPinned,
    LocalSessionLimiter,
    SshAuthFailed,
    SshPool,
    SshTarget,
    SshUnreachable,
)
from lxc_manager.ssh.connect import PinningClient, map_connect_error
from lxc_manager.ssh.results import decode_line

PIN = "SHA256:" + "B" * 43
TARGET = SshTarget("pve1", 22, password="secret-pw", host_key_fingerprint=PIN)


async def test_the_limiter_caps_sessions_per_host_and_not_across_hosts() -> None:
    limiter = LocalSessionLimiter(per_host=2)
    release = asyncio.Event()

    async def hold(host: str) -> None:
        async with limiter.slot(host, 22):
            await release.wait()

    tasks = [asyncio.create_task(hold("a")) for _ in range(5)]
    tasks += [asyncio.create_task(hold("B")) for _ in range(2)]
    await asyncio.sleep(0.01)
    assert limiter.in_use("a", 22) == 2
    assert limiter.in_use("b", 22) == 2  # host names are case-insensitive
    release.set()
    await asyncio.gather(*tasks)
    assert (limiter.peak("a", 22), limiter.in_use("a", 22)) == (2, 0)
    assert limiter.peak("a", 2222) == 0


def test_the_default_limit_is_four_and_must_be_positive() -> None:
    assert SshPool().limiter.per_host == 4  # type: ignore[attr-defined]
    assert SshPool(max_sessions_per_host=9).limiter.per_host == 9  # type: ignore[attr-defined]
    with pytest.raises(ValueError):
        LocalSessionLimiter(0)


def test_host_key_failures_map_to_mismatch_or_not_pinned() -> None:
    client = PinningClient(PIN)
    client.presented = "SHA256:" + "C" * 43
    error = map_connect_error(asyncssh.HostKeyNotVerifiable("no"), TARGET, client)
    assert isinstance(error, HostKeyMismatch)
    assert (error.expected, error.actual) == (PIN, client.presented)
    unpinned = PinningClient(None)
    unpinned.presented = PIN
    error = map_connect_error(asyncssh.HostKeyNotVerifiable("no"), TARGET, unpinned)
    assert isinstance(error, HostKeyNotPinned) and error.actual == PIN


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (asyncssh.PermissionDenied("denied"), SshAuthFailed),
        (ConnectionRefusedError(111, "Connection refused"), SshUnreachable),
        (TimeoutError(), SshUnreachable),
        (asyncssh.ConnectionLost("gone"), SshUnreachable),
        (asyncssh.ProtocolError("bad banner"), SshUnreachable),
    ],
)
def test_connect_errors_are_typed(exc: Exception, kind: type[Exception]) -> None:
    error = map_connect_error(exc, TARGET, PinningClient(PIN))
    assert type(error) is kind
    assert "pve1:22" in str(error)
    assert "secret-pw" not in str(error)


def test_the_pinning_client_compares_fingerprints() -> None:
    key = asyncssh.generate_private_key("ssh-ed25519")
    fingerprint = key.get_fingerprint("sha256")
    assert PinningClient(fingerprint).validate_host_public_key("h", "1.2.3.4", 22, key)
    other = PinningClient(PIN)
    assert not other.validate_host_public_key("h", "1.2.3.4", 22, key)
    assert other.presented == fingerprint
    assert not PinningClient(None).validate_host_public_key("h", "1.2.3.4", 22, key)


@pytest.mark.parametrize(
    ("raw", "text"),
    [(b"a\n", "a"), (b"a\r\n", "a"), (b"last", "last"), (b"\n", ""), (b"\xff\n", "\ufffd")],
)
def test_output_lines_lose_only_their_line_break(raw: bytes, text: str) -> None:
    assert decode_line(raw) == text


def test_a_pool_belongs_to_one_event_loop() -> None:
    pool = SshPool()

    async def use() -> None:
        pool._check_loop()

    asyncio.run(use())
    with pytest.raises(RuntimeError, match="event loop"):
        asyncio.run(use())


async def test_a_closed_pool_refuses_work() -> None:
    pool = SshPool()
    await pool.close()
    with pytest.raises(RuntimeError, match="closed"):
        await pool.run(TARGET, ["true"])
