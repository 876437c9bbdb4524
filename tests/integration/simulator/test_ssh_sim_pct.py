"""`pct` over the simulator's SSH endpoint: exec semantics, list/status, peers over ssh."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from ssh_sim_support import Containers, connect, own_containers, pct_exec, run


@pytest.fixture(scope="module")
def cts(simulator: Any) -> Iterator[Containers]:
    if not simulator.ssh_port:
        pytest.fail(f"the simulator serves no SSH: {simulator.ready}")
    with own_containers(simulator) as containers:
        yield containers


async def test_exit_status_and_separate_streams(simulator: Any, cts: Containers) -> None:
    result = await run(
        simulator, pct_exec(cts.running, "sh", "-c", "echo to-out; echo to-err >&2; exit 3")
    )
    assert (result.exit_status, result.stdout, result.stderr) == (3, "to-out\n", "to-err\n")
    ok = await run(simulator, pct_exec(cts.running, "true"))
    assert ok.exit_status == 0


async def test_stdin_is_passed_through(simulator: Any, cts: Containers) -> None:
    result = await run(simulator, pct_exec(cts.running, "cat"), stdin="line one\nline two\n")
    assert (result.exit_status, result.stdout) == (0, "line one\nline two\n")
    counted = await run(simulator, pct_exec(cts.running, "wc", "-l"), stdin="a\nb\nc\n")
    assert counted.stdout == "3\n"


async def test_stopped_and_unknown_containers(simulator: Any, cts: Containers) -> None:
    stopped = await run(simulator, pct_exec(cts.stopped, "true"))
    assert stopped.exit_status != 0
    assert stopped.stderr == f"container '{cts.stopped}' not running!\n"
    unknown = await run(simulator, pct_exec(999_999, "true"))
    assert unknown.exit_status != 0
    assert unknown.stderr == (
        f"Configuration file 'nodes/{cts.node}/lxc/999999.conf' does not exist\n"
    )
    on_peer = await run(simulator, pct_exec(cts.on_peer, "true"))
    assert on_peer.stderr == (
        f"Configuration file 'nodes/{cts.node}/lxc/{cts.on_peer}.conf' does not exist\n"
    )


async def test_dash_options_need_the_double_dash(simulator: Any, cts: Containers) -> None:
    refused = await run(simulator, f"pct exec {cts.running} ls -la /")
    assert refused.exit_status == 255
    assert refused.stderr.startswith("Unknown option: la\n400 unable to parse option\n")
    accepted = await run(simulator, f"pct exec {cts.running} -- ls -la /etc/hostname")
    assert accepted.exit_status == 0
    assert accepted.stdout.startswith("-rw-r--r-- 1 root root")


async def test_quoted_argument_arrives_as_one_argv_element(simulator: Any, cts: Containers) -> None:
    tricky = 'it\'s "quoted"; echo injected; $(id -u) `hostname` $HOME'
    result = await run(simulator, pct_exec(cts.running, "printf", "%s|", tricky, "second"))
    assert (result.exit_status, result.stdout) == (0, tricky + "|second|")


async def test_command_string_is_parsed_by_the_host_shell(simulator: Any, cts: Containers) -> None:
    result = await run(
        simulator, f"for i in 1 2; do pct exec {cts.running} -- echo $i; done && hostname"
    )
    assert result.stdout == f"1\n2\n{cts.node}\n"
    missing = await run(simulator, pct_exec(cts.running, "no-such-command"))
    assert missing.exit_status == 127


async def test_pct_list_and_status(simulator: Any, cts: Containers) -> None:
    listing = await run(simulator, "pct list")
    lines = listing.stdout.splitlines()
    assert lines[0].split() == ["VMID", "Status", "Lock", "Name"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows[str(cts.running)] == [str(cts.running), "running", f"sshsim-{cts.running}"]
    assert rows[str(cts.stopped)] == [str(cts.stopped), "stopped", f"sshsim-{cts.stopped}"]
    assert str(cts.on_peer) not in rows
    status = await run(simulator, f"pct status {cts.running}; pct status {cts.stopped}")
    assert status.stdout == "status: running\nstatus: stopped\n"


def pve_ssh(peer: str, ip: str) -> str:
    """How PVE itself reaches a peer (pve-cluster src/PVE/SSHInfo.pm)."""
    return (
        f"ssh -o BatchMode=yes -o HostKeyAlias={peer} "
        f"-o UserKnownHostsFile=/etc/pve/nodes/{peer}/ssh_known_hosts "
        f"-o GlobalKnownHostsFile=none root@{ip}"
    )


async def test_ssh_to_a_peer_node(simulator: Any, cts: Containers) -> None:
    ip = simulator.ready["ssh_nodes"][cts.peer]["ip"]
    result = await run(
        simulator,
        f"{pve_ssh(cts.peer, ip)} -- pct list | grep -c {cts.on_peer}; "
        f"{pve_ssh(cts.peer, ip)} hostname; "
        f"{pve_ssh(cts.peer, ip)} -- {pct_exec(cts.on_peer, 'hostname')}",
    )
    assert result.stdout == f"1\n{cts.peer}\nsshsim-{cts.on_peer}\n"


async def test_ssh_to_an_offline_peer(reset_faults: Any, cts: Containers) -> None:
    simulator = reset_faults
    simulator.admin_call("POST", "/_sim/faults", {"node": cts.peer, "online": False})
    result = await run(simulator, f"ssh -o BatchMode=yes {cts.peer} -- pct list")
    assert result.exit_status == 255
    assert result.stderr == f"ssh: connect to host {cts.peer} port 22: No route to host\n"


async def test_exec_sessions_on_one_connection_are_independent(
    simulator: Any, cts: Containers
) -> None:
    async with connect(simulator) as conn:
        first = await conn.run("cd /tmp; X=1; pwd", check=False)
        second = await conn.run("pwd; echo [${X:-}]", check=False)
    assert (first.stdout, second.stdout) == ("/tmp\n", "/root\n[]\n")


async def test_closing_a_channel_stops_its_command(simulator: Any, cts: Containers) -> None:
    async with connect(simulator) as conn:
        process = await conn.create_process(
            "echo first; sleep 0.5; touch /tmp/after-close-marker; echo never"
        )
        assert await process.stdout.readline() == "first\n"
        process.close()
        await process.wait_closed()
        await asyncio.sleep(0.8)
        check = await conn.run("test -e /tmp/after-close-marker; echo $?", check=False)
    assert check.stdout == "1\n"


async def test_session_without_command_reads_commands_from_stdin(
    simulator: Any, cts: Containers
) -> None:
    async with connect(simulator) as conn:
        piped = await conn.run(
            input="x=5\nif [ $x = 5 ]; then\n  echo five\nfi\ncd /etc; pwd\nexit 3\necho never\n",
            check=False,
        )
        terminal = await conn.create_process(term_type="xterm", request_pty=True)
        prompt = await asyncio.wait_for(terminal.stdout.read(100), 5)
        terminal.stdin.write("hostname\r")
        echoed = ""
        while "\r\n" + cts.node not in echoed:
            echoed += await asyncio.wait_for(terminal.stdout.read(100), 5)
        terminal.stdin.write("exit 2\r")
        finished = await asyncio.wait_for(terminal.wait(check=False), 5)
    assert (piped.exit_status, piped.stdout) == (3, "five\n/etc\n")
    assert prompt == f"root@{cts.node}:~# "
    assert echoed.startswith("hostname\r\n")
    assert finished.exit_status == 2


async def test_a_signal_stops_the_command(simulator: Any, cts: Containers) -> None:
    async with connect(simulator) as conn:
        process = await conn.create_process(
            pct_exec(cts.running, "sh", "-c", "echo started; sleep 5; echo never")
        )
        assert await process.stdout.readline() == "started\n"
        process.send_signal("TERM")
        finished = await asyncio.wait_for(process.wait(check=False), 3)
    assert finished.exit_signal is not None
    assert finished.exit_signal[0] == "TERM"


async def test_pct_enter_runs_a_shell_in_the_container(simulator: Any, cts: Containers) -> None:
    """pve-container src/PVE/CLI/pct.pm `enter`: lxc-attach to the container's shell; without
    a terminal it reads its commands from stdin."""
    entered = await run(simulator, f"pct enter {cts.running}", "hostname\ncd /etc; pwd\nexit 4\n")
    hostname = await run(simulator, pct_exec(cts.running, "hostname"))
    assert (entered.exit_status, entered.stdout) == (4, f"{hostname.stdout}/etc\n")
    stopped = await run(simulator, f"pct enter {cts.stopped}")  # refused before any input
    assert stopped.exit_status == 255
    assert stopped.stderr == f"container '{cts.stopped}' not running!\n"
