"""Commands on the host and in containers: exit codes, output, stdin, quoting, streaming,
timeouts."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import pytest

from lxc_manager.ssh import (
    OutputLine,
    RetryPolicy,
    SshPool,
    SshTarget,
    SshTimeout,
)

if TYPE_CHECKING:
    from tests.integration.ssh.conftest import SshSim

FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.05, max_delay=0.1)


async def test_host_command_pct_list(pool: SshPool, target: SshTarget, ssh_sim: SshSim) -> None:
    result = await pool.run(target, ["pct", "list"])
    assert result.exit_status == 0, result.stderr
    rows = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines()[1:]}
    assert rows[str(ssh_sim.running)] == "running"
    assert rows[str(ssh_sim.stopped)] == "stopped"


@pytest.mark.parametrize(("argv", "status"), [(["true"], 0), (["false"], 1),
                                              (["sh", "-c", "exit 7"], 7)])  # fmt: skip
async def test_the_exit_status_is_the_commands(
    pool: SshPool, target: SshTarget, ssh_sim: SshSim, argv: list[str], status: int
) -> None:
    result = await pool.pct_exec(target, ssh_sim.running, argv)
    assert result.exit_status == status
    assert result.ok is (status == 0)


async def test_stdout_and_stderr_are_separate(
    pool: SshPool, target: SshTarget, ssh_sim: SshSim
) -> None:
    result = await pool.pct_exec(
        target, ssh_sim.running, ["sh", "-c", "echo to-out; echo to-err >&2; echo more-out"]
    )
    assert result.stdout == "to-out\nmore-out\n"
    assert result.stderr == "to-err\n"


async def test_stdin_reaches_the_command(pool: SshPool, target: SshTarget, ssh_sim: SshSim) -> None:
    text = "first line\nsecond 'line' $(x)\n"
    assert (await pool.pct_exec(target, ssh_sim.running, ["cat"], stdin=text)).stdout == text
    counted = await pool.pct_exec(target, ssh_sim.running, ["wc", "-l"], stdin=text.encode())
    assert counted.stdout.strip() == "2"
    empty = await pool.pct_exec(target, ssh_sim.running, ["cat"], timeout=5)
    assert (empty.exit_status, empty.stdout) == (0, "")  # EOF is sent even without stdin


async def test_arguments_arrive_intact(pool: SshPool, target: SshTarget, ssh_sim: SshSim) -> None:
    nasty = 'it\'s; $(rm -rf /) "q"'
    result = await pool.pct_exec(target, ssh_sim.running, ["printf", "%s", nasty])
    assert result.stdout == nasty
    words = ["a b", "`id`", "$HOME", "*", "x|y&z", "-n", "ünï ✓", "semi;colon", "\\n"]
    echoed = await pool.pct_exec(target, ssh_sim.running, ["printf", "[%s]\\n", *words])
    assert echoed.stdout.splitlines() == [f"[{word}]" for word in words]
    on_host = await pool.run(target, ["printf", "%s", nasty])
    assert on_host.stdout == nasty


async def test_a_stopped_container_gives_pcts_error(
    pool: SshPool, target: SshTarget, ssh_sim: SshSim
) -> None:
    result = await pool.pct_exec(target, ssh_sim.stopped, ["echo", "hi"])
    assert result.exit_status != 0
    assert result.stdout == ""
    assert "not running" in result.stderr


async def test_an_unknown_container_gives_pcts_error(pool: SshPool, target: SshTarget) -> None:
    result = await pool.pct_exec(target, 999_999_998, ["true"])
    assert result.exit_status != 0
    assert "does not exist" in result.stderr


async def test_output_streams_line_by_line_as_it_arrives(
    pool: SshPool, target: SshTarget, ssh_sim: SshSim
) -> None:
    script = "echo a; sleep 0.3; echo b >&2; sleep 0.3; printf c; exit 3"
    arrivals: list[tuple[float, OutputLine]] = []
    started = time.monotonic()
    async with pool.pct_exec_stream(target, ssh_sim.running, ["sh", "-c", script]) as stream:
        assert stream.exit_status is None
        async for line in stream:
            arrivals.append((time.monotonic() - started, line))
    assert [line for _, line in arrivals] == [
        OutputLine("stdout", "a"),
        OutputLine("stderr", "b"),
        OutputLine("stdout", "c"),
    ]
    times = [when for when, _ in arrivals]
    assert times[1] - times[0] >= 0.2 and times[2] - times[1] >= 0.2
    assert stream.exit_status == 3


async def test_a_stream_takes_stdin_too(pool: SshPool, target: SshTarget, ssh_sim: SshSim) -> None:
    stream = pool.pct_exec_stream(target, ssh_sim.running, ["cat"], stdin="x\ny\n", timeout=5)
    assert [line async for line in stream] == [OutputLine("stdout", "x"), OutputLine("stdout", "y")]
    assert stream.exit_status == 0


async def test_leaving_a_stream_early_frees_its_session(target: SshTarget, ssh_sim: SshSim) -> None:
    async with SshPool(max_sessions_per_host=1, retry=FAST_RETRY) as pool:
        started = time.monotonic()
        async with pool.pct_exec_stream(
            target, ssh_sim.running, ["sh", "-c", "echo first; sleep 5; echo never"]
        ) as stream:
            async for line in stream:
                assert line.text == "first"
                break
        assert stream.exit_status is None
        result = await asyncio.wait_for(pool.pct_exec(target, ssh_sim.running, ["true"]), 3)
        assert result.exit_status == 0
        assert time.monotonic() - started < 3


async def test_a_command_over_its_timeout_is_stopped(
    pool: SshPool, target: SshTarget, ssh_sim: SshSim
) -> None:
    started = time.monotonic()
    with pytest.raises(SshTimeout) as caught:
        await pool.pct_exec(target, ssh_sim.running, ["sleep", "5"], timeout=0.3)
    assert time.monotonic() - started < 2
    assert caught.value.user_message == "The command on the Proxmox host timed out."
    stream = pool.pct_exec_stream(target, ssh_sim.running, ["sh", "-c", "echo x; sleep 5"],
                                  timeout=0.3)  # fmt: skip
    seen: list[str] = []
    with pytest.raises(SshTimeout):
        async for line in stream:
            seen.append(line.text)
    assert seen == ["x"]
    assert (await pool.pct_exec(target, ssh_sim.running, ["true"])).exit_status == 0


def test_bad_input_is_refused_before_anything_is_sent(pool: SshPool, target: SshTarget) -> None:
    with pytest.raises(ValueError):
        pool.pct_exec_stream(target, 99, ["true"])
    with pytest.raises(ValueError):
        pool.run_stream(target, "echo hi")
