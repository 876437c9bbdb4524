"""Host-key pinning, authentication, connection reuse and error mapping against the
simulator's SSH server."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncssh
import pytest

from lxc_manager.ssh import (
    HostKeyMismatch,
    HostKeyNotPinned,
    RetryPolicy,
    SshAuthFailed,
    SshPool,
    SshTarget,
    SshUnreachable,
    fetch_host_key,
)
from lxc_manager.ssh import connect as connect_module
from lxc_manager.ssh import pool as pool_module

if TYPE_CHECKING:
    from tests.integration.ssh.conftest import SshSim

FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.05, max_delay=0.1)


OTHER_FINGERPRINT = "SHA256:" + "A" * 43


@pytest.fixture
def userauth_requests(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every SSH user-auth request the client sends (method names: none, password, ...)."""
    sent: list[bytes] = []
    original = asyncssh.connection.SSHConnection.send_userauth_request

    async def spy(self: Any, method: bytes, *args: bytes, **kwargs: Any) -> Any:
        sent.append(method)
        return await original(self, method, *args, **kwargs)

    monkeypatch.setattr(asyncssh.connection.SSHConnection, "send_userauth_request", spy)
    return sent


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> list[SshTarget]:
    """Every connection the pool opens (one entry per attempt)."""
    opened: list[SshTarget] = []
    original = connect_module.open_connection

    async def spy(target: SshTarget, **kwargs: Any) -> Any:
        opened.append(target)
        return await original(target, **kwargs)

    monkeypatch.setattr(pool_module, "open_connection", spy)
    return opened


async def test_first_use_reads_the_fingerprint_of_the_ready_line(ssh_sim: SshSim) -> None:
    fingerprint = await fetch_host_key(ssh_sim.host, ssh_sim.port, timeout=5)
    assert fingerprint == ssh_sim.fingerprint
    assert fingerprint.startswith("SHA256:") and len(fingerprint) == 50


async def test_the_pinned_key_authenticates(
    pool: SshPool, target: SshTarget, userauth_requests: list[bytes]
) -> None:
    await pool.verify(target)
    # the spy sees the real attempt (keyboard-interactive or password carry the password)
    assert set(userauth_requests) & {b"password", b"keyboard-interactive"}


async def test_a_wrong_pinned_key_is_refused_before_any_auth(
    pool: SshPool, ssh_sim: SshSim, userauth_requests: list[bytes], connects: list[SshTarget]
) -> None:
    impostor_pin = ssh_sim.target(host_key_fingerprint=OTHER_FINGERPRINT)
    with pytest.raises(HostKeyMismatch) as caught:
        await pool.run(impostor_pin, ["true"])
    assert caught.value.expected == OTHER_FINGERPRINT
    assert caught.value.actual == ssh_sim.fingerprint
    assert userauth_requests == []
    assert len(connects) == 1  # never retried
    assert ssh_sim.password not in str(caught.value)


async def test_an_unpinned_target_is_refused_and_told_the_key(
    pool: SshPool, ssh_sim: SshSim, userauth_requests: list[bytes]
) -> None:
    with pytest.raises(HostKeyNotPinned) as caught:
        await pool.verify(ssh_sim.target(host_key_fingerprint=None))
    assert caught.value.actual == ssh_sim.fingerprint
    assert userauth_requests == []


async def test_a_wrong_password_is_an_auth_failure_and_not_retried(
    pool: SshPool, ssh_sim: SshSim, connects: list[SshTarget]
) -> None:
    wrong = "not-the-" + ssh_sim.password
    with pytest.raises(SshAuthFailed) as caught:
        await pool.run(ssh_sim.target(password=wrong), ["true"])
    assert len(connects) == 1
    assert wrong not in str(caught.value) and wrong not in repr(caught.value)
    assert caught.value.user_message == "SSH authentication to the Proxmox host failed."


async def test_a_private_key_that_cannot_be_loaded_is_an_auth_failure(
    pool: SshPool, ssh_sim: SshSim, connects: list[SshTarget]
) -> None:
    key_text = asyncssh.generate_private_key("ssh-ed25519").export_private_key("pkcs8-pem")
    encrypted = asyncssh.import_private_key(key_text).export_private_key(
        "pkcs8-pem", passphrase="right-phrase"
    )
    target = ssh_sim.target(password=None, private_key=encrypted.decode(), passphrase="wrong")
    with pytest.raises(SshAuthFailed, match="could not be loaded") as caught:
        await pool.verify(target)
    assert "wrong" not in str(caught.value).replace("wrong passphrase", "")
    assert connects == [target]  # refused locally, before the network, never retried


async def test_a_key_the_server_does_not_know_is_refused(pool: SshPool, ssh_sim: SshSim) -> None:
    key_text = asyncssh.generate_private_key("ssh-ed25519").export_private_key("openssh")
    with pytest.raises(SshAuthFailed):
        await pool.verify(ssh_sim.target(password=None, private_key=key_text.decode()))


async def test_connections_are_reused(
    pool: SshPool, target: SshTarget, connects: list[SshTarget]
) -> None:
    for _ in range(3):
        assert (await pool.run(target, ["true"])).exit_status == 0
    assert len(connects) == 1
    other_user_creds = SshTarget(
        target.host, target.port, password="x", host_key_fingerprint=target.host_key_fingerprint
    )
    with pytest.raises(SshAuthFailed):
        await pool.verify(other_user_creds)  # other credentials: never the pooled connection
    assert len(connects) == 2


async def test_an_unreachable_host_is_retried_with_backoff(
    ssh_sim: SshSim, closed_port: int, connects: list[SshTarget]
) -> None:
    policy = RetryPolicy(attempts=3, base_delay=0.1, factor=2, max_delay=1)
    async with SshPool(retry=policy) as pool:
        started = time.monotonic()
        with pytest.raises(SshUnreachable) as caught:
            await pool.run(ssh_sim.target(port=closed_port), ["true"])
        elapsed = time.monotonic() - started
    assert len(connects) == 3
    assert 0.3 <= elapsed < 2.0  # waited 0.1 + 0.2 between the attempts
    assert f"127.0.0.1:{closed_port}" in str(caught.value)
    with pytest.raises(SshUnreachable):
        await fetch_host_key("127.0.0.1", closed_port, timeout=2)


async def test_no_secret_reaches_a_log_line_or_an_error(
    caplog: pytest.LogCaptureFixture, ssh_sim: SshSim, closed_port: int
) -> None:
    key_text = asyncssh.generate_private_key("ssh-ed25519").export_private_key("pkcs8-pem")
    passphrase = "phrase-" + ssh_sim.password
    encrypted = (
        asyncssh.import_private_key(key_text)
        .export_private_key("pkcs8-pem", passphrase=passphrase)
        .decode()
    )
    wrong_password = "wrong-" + ssh_sim.password
    attempts = [
        ssh_sim.target(),
        ssh_sim.target(password=wrong_password),
        ssh_sim.target(password=None, private_key=encrypted, passphrase=passphrase),
        ssh_sim.target(password=None, private_key=encrypted, passphrase="bad-" + passphrase),
        ssh_sim.target(host_key_fingerprint=OTHER_FINGERPRINT),
        ssh_sim.target(port=closed_port),
    ]
    texts: list[str] = []
    with caplog.at_level(logging.DEBUG):
        async with SshPool(retry=FAST_RETRY) as pool:
            for attempt in attempts:
                texts.append(repr(attempt))
                try:
                    await pool.run(attempt, ["echo", "hello"])
                except Exception as exc:
                    texts += [str(exc), repr(exc), str(exc.__cause__), repr(exc.__context__)]
    assert "SSH connect to" in caplog.text  # the failures were logged
    everything = caplog.text + "\n".join(texts)
    key_lines = [line for line in encrypted.splitlines() if "-----" not in line]
    for secret in (ssh_sim.password, wrong_password, passphrase, *key_lines):
        assert secret not in everything


async def test_private_keys_authenticate(start_sim: Any, tmp_path: Path) -> None:
    plain = asyncssh.generate_private_key("ssh-ed25519")
    protected = asyncssh.generate_private_key("ecdsa-sha2-nistp256")
    authorized = tmp_path / "authorized_keys"
    authorized.write_bytes(plain.export_public_key() + protected.export_public_key())
    sim = start_sim(
        ["--port", "0", "--ssh-port", "0", "--nodes", "1", "--containers", "0", "--vms", "0",
         "--log-level", "WARNING", "--ssh-authorized-key", str(authorized)]
    )  # fmt: skip
    host, _, port = sim.ready["ssh"].rpartition(":")
    fingerprint = await fetch_host_key(host, int(port), timeout=5)
    assert fingerprint == sim.ready["ssh_host_key"]
    targets = [
        SshTarget(host, int(port), private_key=plain.export_private_key("openssh").decode(),
                  host_key_fingerprint=fingerprint),
        SshTarget(host, int(port), host_key_fingerprint=fingerprint,
                  private_key=protected.export_private_key("pkcs8-pem", "pass-1").decode(),
                  passphrase="pass-1"),
    ]  # fmt: skip
    async with SshPool(retry=FAST_RETRY) as pool:
        for target in targets:
            result = await pool.run(target, ["whoami"])
            assert (result.exit_status, result.stdout) == (0, "root\n")
        stranger = asyncssh.generate_private_key("ssh-ed25519").export_private_key("openssh")
        with pytest.raises(SshAuthFailed):
            await pool.verify(SshTarget(host, int(port), private_key=stranger.decode(),
                                        host_key_fingerprint=fingerprint))  # fmt: skip
