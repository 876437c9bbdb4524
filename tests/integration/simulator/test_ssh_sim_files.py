"""SFTP on the node's virtual filesystem and `pct push`: the route the app uses for files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncssh
import pytest
from ssh_sim_support import Containers, connect, own_containers, pct_exec, run


@pytest.fixture(scope="module")
def cts(simulator: Any) -> Iterator[Containers]:
    with own_containers(simulator) as containers:
        yield containers


async def test_sftp_put_then_pct_push_then_rm(simulator: Any, cts: Containers) -> None:
    script = "#!/bin/bash\necho provisioned\n"
    async with connect(simulator) as conn:
        async with conn.start_sftp_client() as sftp:
            async with sftp.open("/tmp/upload.sh", "w") as remote:
                await remote.write(script)
            assert (await sftp.stat("/tmp/upload.sh")).size == len(script)
        pushed = await conn.run(
            f"pct push {cts.running} /tmp/upload.sh /usr/local/bin/provision.sh --perms 0750 "
            f"&& rm -f /tmp/upload.sh && test ! -e /tmp/upload.sh && echo cleaned",
            check=False,
        )
        assert (pushed.exit_status, pushed.stdout, pushed.stderr) == (0, "cleaned\n", "")
        ran = await conn.run(pct_exec(cts.running, "/usr/local/bin/provision.sh"), check=False)
        listed = await conn.run(
            pct_exec(cts.running, "ls", "-l", "/usr/local/bin/provision.sh"), check=False
        )
    assert ran.stdout == "provisioned\n"
    assert listed.stdout.startswith("-rwxr-x--- 1 root root")


async def test_pct_push_owner_options(simulator: Any, cts: Containers) -> None:
    setup = await run(simulator, pct_exec(cts.running, "useradd", "-m", "deploy"))
    assert setup.exit_status == 0, setup.stderr
    async with connect(simulator) as conn:
        async with conn.start_sftp_client() as sftp, sftp.open("/tmp/owned.txt", "w") as remote:
            await remote.write("secret\n")
        result = await conn.run(
            f"pct push {cts.running} /tmp/owned.txt /home/deploy/owned.txt --perms 600 "
            "--user deploy --group deploy; rm -f /tmp/owned.txt",
            check=False,
        )
        listed = await conn.run(
            pct_exec(cts.running, "ls", "-l", "/home/deploy/owned.txt"), check=False
        )
        content = await conn.run(
            pct_exec(cts.running, "cat", "/home/deploy/owned.txt"), check=False
        )
    assert result.exit_status == 0, result.stderr
    assert listed.stdout.startswith("-rw------- 1 deploy deploy")
    assert content.stdout == "secret\n"


async def test_pct_push_errors(simulator: Any, cts: Containers) -> None:
    # A stopped CT is refused before the worker (255); a missing source fails in the worker,
    # which pct only prints (exit 0): pve-container src/PVE/CLI/pct.pm `push`.
    result = await run(
        simulator,
        f"pct push {cts.running} /tmp/missing /x; echo $?; "
        f"echo x > /tmp/f; pct push {cts.stopped} /tmp/f /x; echo $?",
    )
    assert result.stdout == "0\n255\n"
    assert result.stderr == (
        "failed to open /tmp/missing for reading\ncan only push files to a running CT\n"
    )


async def test_sftp_is_the_virtual_filesystem(simulator: Any, tmp_path: Path) -> None:
    local = tmp_path / "local.txt"
    local.write_text("from the test\n")
    async with connect(simulator) as conn:
        async with conn.start_sftp_client() as sftp:
            assert await sftp.getcwd() == "/root"
            await sftp.put(str(local), "/tmp/put.txt")
            await sftp.mkdir("/tmp/sftp-dir")
            await sftp.rename("/tmp/put.txt", "/tmp/sftp-dir/moved.txt")
            names = sorted(await sftp.listdir("/tmp/sftp-dir"))
            attrs = await sftp.stat("/tmp/sftp-dir/moved.txt")
            etc = await sftp.listdir("/etc")
            with pytest.raises(asyncssh.SFTPNoSuchFile):
                await sftp.stat("/tmp/nope")
        seen = await conn.run("cat /tmp/sftp-dir/moved.txt; rm -r /tmp/sftp-dir", check=False)
    assert names == [".", "..", "moved.txt"]
    assert attrs.size == len("from the test\n")
    assert attrs.permissions is not None and attrs.permissions & 0o777 == 0o644
    assert "hostname" in etc and "pve" in etc
    assert seen.stdout == "from the test\n"
    assert not Path("/tmp/sftp-dir").exists()
