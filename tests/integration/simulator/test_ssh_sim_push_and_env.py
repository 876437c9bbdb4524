"""`pct push` errors as Proxmox gives them (the worker's error is printed, pct exits 0) and
the environment `pct exec` gives a command (pve-container src/PVE/CLI/pct.pm,
pve-common src/PVE/CLIHandler.pm and src/PVE/RESTEnvironment.pm)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from ssh_sim_support import Containers, connect, own_containers, pct_exec, run

PCT_PATH = "/sbin:/bin:/usr/sbin:/usr/bin"


@pytest.fixture(scope="module")
def cts(simulator: Any) -> Iterator[Containers]:
    with own_containers(simulator) as containers:
        yield containers


def _env(output: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in output.splitlines() if "=" in line)


async def test_a_push_that_fails_in_the_worker_exits_0_and_prints_why(
    simulator: Any, cts: Containers
) -> None:
    ct = cts.running
    result = await run(
        simulator,
        "echo data > /tmp/src; "
        f"pct push {ct} /tmp/src /no/such/dir/f; echo $?; "
        f"pct push {ct} /tmp/src /etc; echo $?; "
        f"pct push {ct} /tmp/src /root/owned --user nosuchuser; echo $?; "
        f"pct push {ct} /tmp/src /root/grouped --group nosuchgroup; echo $?; "
        f"pct push {ct} /tmp/src /root/moded --perms 9; echo $?; "
        f"pct push {ct} /tmp/src /proc/sys/kernel/hostname; echo $?; "
        f"pct push {ct} /tmp/nothing /root/x; echo $?",
    )
    assert result.stdout == "0\n" * 7
    assert result.stderr.splitlines() == [
        "failed to create file: /no/such/dir/f: No such file or directory",
        "failed to create file: /etc: Is a directory",
        "failed to get uid for: nosuchuser",
        "failed to get gid for: nosuchgroup",
        "invalid mode: '09'",
        "failed to create file: /proc/sys/kernel/hostname: Read-only file system",
        "failed to open /tmp/nothing for reading",
    ]
    listed = await run(simulator, pct_exec(ct, "ls", "/root/owned", "/root/grouped", "/root/x"))
    assert listed.exit_status == 2 and listed.stdout == ""


async def test_push_modes_and_owners_follow_create_file(simulator: Any, cts: Containers) -> None:
    ct = cts.running
    result = await run(
        simulator,
        "echo data > /tmp/src; "
        f"pct push {ct} /tmp/src /root/new; "  # a new file without --perms: 0666 & ~umask
        f"pct push {ct} /tmp/src /root/hex --perms 0x1ed; "
        f"pct exec {ct} -- chmod 600 /root/new; pct push {ct} /tmp/src /root/new; "  # kept
        f"pct push {ct} /tmp/src /root/byid --user 33; "  # the group stays the file's
        f"pct exec {ct} -- stat -c '%n %s %a %U:%G' /root/new /root/hex /root/byid",
    )
    assert result.exit_status == 0, result.stderr
    assert result.stdout == (
        "/root/new 5 600 root:root\n/root/hex 5 755 root:root\n/root/byid 5 644 www-data:root\n"
    )


async def test_pct_exec_keeps_the_callers_environment_with_pcts_path(
    simulator: Any, cts: Containers
) -> None:
    plain = _env((await run(simulator, pct_exec(cts.running, "env"))).stdout)
    assert plain["PATH"] == PCT_PATH
    assert plain["LANG"] == "en_US.UTF-8"  # the node's locale (the PVE installer's)
    assert plain["container"] == "lxc" and plain["HOME"] == "/root"
    async with connect(simulator) as conn:
        sent = await conn.run(pct_exec(cts.running, "env"), env={"LANG": "de_DE.UTF-8"})
    assert _env(sent.stdout)["LANG"] == "de_DE.UTF-8"  # AcceptEnv LANG LC_*
    cleared = await run(simulator, f"pct exec {cts.running} --keep-env 0 -- env")
    assert _env(cleared.stdout) == {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "container": "lxc",
    }


async def test_programs_in_usr_local_are_not_found_by_pct_exec(
    simulator: Any, cts: Containers
) -> None:
    ct = cts.running
    setup = await run(
        simulator,
        "printf '#!/bin/sh\\necho hello\\n' > /tmp/hello; "
        f"pct push {ct} /tmp/hello /usr/local/bin/lxcm-hello --perms 0755",
    )
    assert setup.exit_status == 0 and setup.stderr == ""
    by_name = await run(simulator, pct_exec(ct, "lxcm-hello"))
    assert by_name.exit_status == 127
    assert 'Failed to exec "lxcm-hello"' in by_name.stderr
    by_path = await run(simulator, pct_exec(ct, "/usr/local/bin/lxcm-hello"))
    assert (by_path.exit_status, by_path.stdout) == (0, "hello\n")
