"""The SSH faults of the cluster model: cut connections and slow output."""

from __future__ import annotations

import time
from typing import Any

import asyncssh
import pytest
from ssh_sim_support import chunks_of, connect, run

LONG_OUTPUT = "for i in 1 2 3 4 5 6 7 8; do echo line$i; sleep 0.05; done"


def set_faults(simulator: Any, **faults: Any) -> None:
    simulator.admin_call("POST", "/_sim/faults", faults)


async def test_disconnect_cuts_the_next_session_mid_output(reset_faults: Any) -> None:
    simulator = reset_faults
    set_faults(simulator, ssh_disconnect_next=1)
    async with connect(simulator) as conn:
        cut = await conn.run(LONG_OUTPUT, check=False, timeout=10)
        with pytest.raises((asyncssh.Error, OSError)):
            await conn.run("true", check=False, timeout=10)
    assert cut.exit_status is None
    assert cut.stdout.startswith("line1\n")
    assert "line8" not in cut.stdout
    assert simulator.admin_call("GET", "/_sim/faults")["ssh_disconnect_next"] == 0
    after = await run(simulator, LONG_OUTPUT)
    assert (after.exit_status, after.stdout.count("line")) == (0, 8)


async def test_disconnect_counts_sessions_and_cuts_silent_commands(reset_faults: Any) -> None:
    simulator = reset_faults
    set_faults(simulator, ssh_disconnect_next=2)
    for command in ("echo partial; sleep 0.2; echo rest", "true"):
        async with connect(simulator) as conn:
            cut = await conn.run(command, check=False, timeout=10)
        assert cut.exit_status is None
        assert "rest" not in cut.stdout
    ok = await run(simulator, "echo fine")
    assert (ok.exit_status, ok.stdout) == (0, "fine\n")


async def test_slow_output_delays_every_chunk(reset_faults: Any) -> None:
    simulator = reset_faults
    command = "for i in 1 2 3 4 5; do echo $i; done"
    async with connect(simulator) as conn:
        process = await conn.create_process(command)
        started = time.monotonic()
        await chunks_of(process)
        fast = time.monotonic() - started
        set_faults(simulator, ssh_slow_output_ms=120)
        process = await conn.create_process(command)
        started = time.monotonic()
        arrivals = await chunks_of(process)
        slow = time.monotonic() - started
        await process.wait()
    assert "".join(text for _, text in arrivals) == "1\n2\n3\n4\n5\n"
    assert len(arrivals) == 5
    assert slow >= 0.55
    assert fast < slow / 2
