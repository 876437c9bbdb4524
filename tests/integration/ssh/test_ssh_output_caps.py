"""Output of commands in containers is bounded (issue 12 path 10): what `run`/`pct_exec`
collect stops at LXCM_MAX_SSH_OUTPUT_BYTES with a clear message; streamed output is not
stopped, but each line is cut at 64 KiB. Against the simulator's SSH server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from lxc_manager.settings import get_settings
from lxc_manager.ssh import LocalSessionLimiter, SshOutputTooLarge, SshPool, SshTarget
from lxc_manager.ssh.results import MAX_LINE_BYTES

if TYPE_CHECKING:
    from tests.integration.ssh.conftest import SshSim

CAP = 64 * 1024
MESSAGE = "The command's output was larger than 64 KiB; it was stopped."


@pytest.fixture
def small_cap(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """LXCM_MAX_SSH_OUTPUT_BYTES=64 KiB for pools made in the test."""
    monkeypatch.setenv("LXCM_MAX_SSH_OUTPUT_BYTES", str(CAP))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def in_use(pool: SshPool, target: SshTarget) -> int:
    assert isinstance(pool.limiter, LocalSessionLimiter)
    return pool.limiter.in_use(target.host, target.port)


async def test_a_command_printing_more_than_the_cap_is_stopped_with_a_message(
    small_cap: None, target: SshTarget, ssh_sim: SshSim
) -> None:
    async with SshPool(connect_timeout=5, command_timeout=20) as pool:
        assert pool.max_output_bytes == CAP  # from the setting
        with pytest.raises(SshOutputTooLarge) as caught:
            await pool.pct_exec(target, ssh_sim.running, ["seq", "1", "200000"])  # 1.3 MB
        assert caught.value.user_message == MESSAGE
        assert in_use(pool, target) == 0  # the channel was closed, its slot is free

        with pytest.raises(SshOutputTooLarge):  # stderr counts as well
            await pool.pct_exec(target, ssh_sim.running, ["sh", "-c", "seq 1 200000 >&2"])

        # Under the cap nothing changes, and the pool is as usable as before.
        result = await pool.pct_exec(target, ssh_sim.running, ["seq", "1", "5000"])
        assert result.ok and result.stdout.splitlines()[-1] == "5000"
        assert len(result.stdout) < CAP


async def test_a_smaller_cap_per_call(target: SshTarget, ssh_sim: SshSim) -> None:
    async with SshPool(connect_timeout=5, command_timeout=20) as pool:
        assert pool.max_output_bytes == get_settings().max_ssh_output_bytes == 4 * 1024 * 1024
        seq = ["seq", "1", "2000"]  # 8893 bytes
        assert (await pool.pct_exec(target, ssh_sim.running, seq)).ok
        with pytest.raises(SshOutputTooLarge) as caught:
            await pool.pct_exec(target, ssh_sim.running, seq, max_output=4096)
        assert caught.value.user_message == (
            "The command's output was larger than 4 KiB; it was stopped."
        )


async def test_streamed_output_is_cut_per_line_not_stopped(
    small_cap: None, target: SshTarget, ssh_sim: SshSim
) -> None:
    long_line = "A" * (300 * 1024)
    path = "/root/long-line.txt"
    async with SshPool(connect_timeout=5, command_timeout=20) as pool:
        await pool.push_file(
            target, ssh_sim.running, path, f"before\n{long_line}\nafter\n".encode()
        )
        async with pool.pct_exec_stream(target, ssh_sim.running, ["cat", path]) as stream:
            lines = [line.text async for line in stream]
        assert stream.exit_status == 0
        assert lines[0] == "before" and lines[2:] == ["after"]
        assert lines[1] == "A" * MAX_LINE_BYTES + " … [line cut at 64 KiB]"

        # A stream is not held to the collected-output cap: 1.3 MB arrive whole.
        async with pool.pct_exec_stream(target, ssh_sim.running, ["seq", "1", "200000"]) as s:
            count = 0
            async for line in s:
                count += 1
                last = line.text
        assert (s.exit_status, count, last) == (0, 200000, "200000")
        await pool.pct_exec(target, ssh_sim.running, ["rm", "-f", path])
