"""`pct enter` over the simulator's SSH with a PTY: a terminal like Proxmox's console.

The asyncssh client requests a PTY (`term_type`, `term_size`) and changes the window size
(`change_terminal_size`): the prompt, echo, Ctrl-C, `tput cols`/`stty size` and `exit`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import asyncssh
import pytest
from ssh_sim_support import Containers, connect, own_containers


@pytest.fixture(scope="module")
def cts(simulator: Any) -> Iterator[Containers]:
    if not simulator.ssh_port:
        pytest.fail(f"the simulator serves no SSH: {simulator.ready}")
    with own_containers(simulator) as containers:
        yield containers


async def _until(process: asyncssh.SSHClientProcess[str], text: str, seen: list[str]) -> str:
    """Read stdout until `text` appears; returns what came up to and including it."""
    buffer = seen.pop() if seen else ""
    while text not in buffer:
        chunk = await asyncio.wait_for(process.stdout.read(4096), 10)
        if not chunk:
            raise AssertionError(f"end of output before {text!r}: {buffer!r}")
        buffer += chunk
    index = buffer.index(text) + len(text)
    seen.append(buffer[index:])
    return buffer[:index]


async def test_pct_enter_with_a_pty_is_a_terminal(simulator: Any, cts: Containers) -> None:
    prompt = f"root@sshsim-{cts.running}:~# "
    rest: list[str] = []
    async with connect(simulator) as conn:
        process = await conn.create_process(
            f"pct enter {cts.running}", term_type="xterm", term_size=(100, 30)
        )
        await _until(process, prompt, rest)
        process.stdin.write("hostname\r")
        assert (
            await _until(process, prompt, rest) == f"hostname\r\nsshsim-{cts.running}\r\n{prompt}"
        )
        process.stdin.write("tput cols; stty size\r")
        assert "100\r\n30 100\r\n" in await _until(process, prompt, rest)
        process.change_terminal_size(132, 43)
        await asyncio.sleep(0.2)
        process.stdin.write("tput cols; tput lines; echo $COLUMNS\r")
        assert "132\r\n43\r\n132\r\n" in await _until(process, prompt, rest)
        process.stdin.write("echo ab\x7fc\r")
        assert "echo ab\b \bc\r\nac\r\n" in await _until(process, prompt, rest)
        process.stdin.write("sleep 60\r")
        await _until(process, "sleep 60\r\n", rest)
        process.stdin.write("\x03")
        assert await _until(process, prompt, rest) == f"^C\r\n{prompt}"
        process.stdin.write("exit\r")
        await asyncio.wait_for(process.wait_closed(), 10)
        assert process.exit_status == 130  # `exit` without N: the status of ^C'd sleep
        assert "exit\r\n" in "".join(rest) + await process.stdout.read()


async def test_pct_enter_without_a_pty_still_reads_stdin(simulator: Any, cts: Containers) -> None:
    async with connect(simulator) as conn:
        result = await conn.run(f"pct enter {cts.running}", input="hostname\nexit 3\n", timeout=20)
    assert (result.exit_status, result.stdout) == (3, f"sshsim-{cts.running}\n")
