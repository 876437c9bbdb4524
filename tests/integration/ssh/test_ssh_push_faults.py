"""File push, the per-host session limit, and a connection cut by the simulator."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from lxc_manager.ssh import (
    FilePushFailed,
    RetryPolicy,
    SshConnectionLost,
    SshError,
    SshPool,
    SshTarget,
)

if TYPE_CHECKING:
    from tests.integration.ssh.conftest import SshSim

FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.05, max_delay=0.1)


async def _temp_files(pool: SshPool, target: SshTarget) -> list[str]:
    listing = await pool.run(target, ["ls", "-a", "/tmp"])
    assert listing.exit_status == 0, listing.stderr
    return [name for name in listing.stdout.split() if name.startswith("lxcm-push-")]


async def test_push_file_writes_content_mode_and_owner(
    pool: SshPool, target: SshTarget, ssh_sim: SshSim
) -> None:
    content = b'line 1\nit\'s "quoted" $(x)\n\x00\xffbinary\n' + bytes(range(256)) * 1024
    dest = "/etc/lxcm test.conf"
    await pool.push_file(
        target, ssh_sim.running, dest, content, mode=0o640, owner="www-data", group="www-data"
    )
    listing = await pool.pct_exec(target, ssh_sim.running, ["ls", "-l", dest])
    assert listing.exit_status == 0, listing.stderr
    perms, _, user, group = listing.stdout.split()[:4]
    assert (perms, user, group) == ("-rw-r-----", "www-data", "www-data")
    copied = await pool.pct_exec(target, ssh_sim.running, ["cat", dest])
    assert copied.stdout == content.decode("utf-8", "replace")
    head = await pool.pct_exec(target, ssh_sim.running, ["head", "-n", "2", dest])
    assert head.stdout == 'line 1\nit\'s "quoted" $(x)\n'
    length = await pool.pct_exec(target, ssh_sim.running, ["wc", "-c", dest])
    assert length.stdout.split()[0] == str(len(content))
    assert await _temp_files(pool, target) == []


async def test_push_file_defaults_to_root_and_0644(
    pool: SshPool, target: SshTarget, ssh_sim: SshSim
) -> None:
    await pool.push_file(target, ssh_sim.running, "/root/plain.txt", b"plain\n")
    listing = await pool.pct_exec(target, ssh_sim.running, ["ls", "-l", "/root/plain.txt"])
    perms, _, user, group = listing.stdout.split()[:4]
    assert (perms, user, group) == ("-rw-r--r--", "root", "root")


async def test_a_refused_push_raises_and_still_removes_the_temp_file(
    pool: SshPool, target: SshTarget, ssh_sim: SshSim
) -> None:
    with pytest.raises(FilePushFailed) as caught:
        await pool.push_file(target, ssh_sim.stopped, "/etc/x.conf", b"x")
    assert caught.value.exit_status != 0
    assert "can only push files to a running CT" in caught.value.stderr
    assert await _temp_files(pool, target) == []


async def test_a_cut_connection_is_a_clean_error_and_the_next_call_reconnects(
    pool: SshPool, target: SshTarget, ssh_sim: SshSim, faults: Callable[..., Any]
) -> None:
    assert (await pool.run(target, ["true"])).exit_status == 0
    first = next(iter(pool._connections.values()))
    faults(ssh_disconnect_next=1)
    with pytest.raises(SshError) as caught:
        await pool.pct_exec(target, ssh_sim.running, ["sh", "-c", "echo one; echo two"])
    assert isinstance(caught.value, SshConnectionLost)
    result = await pool.pct_exec(target, ssh_sim.running, ["echo", "again"])
    assert (result.exit_status, result.stdout) == (0, "again\n")
    second = next(iter(pool._connections.values()))
    assert second is not first and not first.usable


async def test_a_cut_stream_is_a_clean_error(
    pool: SshPool, target: SshTarget, ssh_sim: SshSim, faults: Callable[..., Any]
) -> None:
    faults(ssh_disconnect_next=1)
    with pytest.raises(SshConnectionLost):
        async with pool.pct_exec_stream(
            target, ssh_sim.running, ["sh", "-c", "echo one; sleep 0.2; echo two"]
        ) as stream:
            async for _ in stream:
                pass
    assert stream.exit_status is None
    assert (await pool.run(target, ["true"])).exit_status == 0


async def test_the_per_host_session_limit_is_honoured(target: SshTarget) -> None:
    async with SshPool(max_sessions_per_host=2, retry=FAST_RETRY) as pool:
        await pool.verify(target)
        started = time.monotonic()
        results = await asyncio.gather(*(pool.run(target, ["sleep", "0.3"]) for _ in range(6)))
        elapsed = time.monotonic() - started
        assert [result.exit_status for result in results] == [0] * 6
        assert pool.limiter.peak(target.host, target.port) == 2  # type: ignore[attr-defined]
    assert 0.85 <= elapsed < 3.0  # three rounds of two, not one round of six


async def test_the_default_limit_is_four_sessions(target: SshTarget) -> None:
    async with SshPool(retry=FAST_RETRY) as pool:
        await asyncio.gather(*(pool.run(target, ["sleep", "0.2"]) for _ in range(8)))
        assert pool.limiter.peak(target.host, target.port) == 4  # type: ignore[attr-defined]
