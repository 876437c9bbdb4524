"""Files that `pct push` did not write (it exits 0 and only prints its worker's error) fail
the step with pct's reason; scripts see a complete PATH and a UTF-8 locale although
`pct exec` gives them neither."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from prov_support import USER_A, file, in_ct, make_request, run_burst_worker, script, stream_of

from lxc_manager.nodes import NodeView, ssh_target_for
from lxc_manager.provisioning import jobs
from lxc_manager.provisioning.push import PushNotVerified, push_verified
from lxc_manager.security import audit
from lxc_manager.ssh import SshPool

ENV_SCRIPT = 'printf "script env: %s|%s|%s\\n" "$PATH" "$LANG" "$LC_ALL"\n'


async def test_a_file_pct_push_did_not_write_fails_the_step_with_pcts_reason(
    sshnode: NodeView, new_vmid: Callable[[], int]
) -> None:
    vmid = new_vmid()
    req = make_request(
        sshnode,
        vmid,
        files=(
            file("motd", "/etc/motd", "welcome\n"),
            file("apt", "/etc/apt", "a file where a directory is\n"),  # policy replace
        ),
        scripts=(script("never.sh", "echo never\n"),),
    )
    result = await jobs.submit(USER_A, req)
    assert result.job_id, result.errors
    await asyncio.to_thread(run_burst_worker)
    failed = await jobs.get_job(USER_A, result.job_id)
    assert failed is not None and (failed.status, failed.step) == ("failed", 4), failed
    assert failed.error == (
        "Step 4 (Push files): Could not write /etc/apt: "
        "failed to create file: /etc/apt: Is a directory"
    )
    assert await in_ct(sshnode, "pve1", vmid, ["cat", "/etc/motd"]) == (0, "welcome\n")
    files = [e for e in audit.recent(10, user_id=USER_A) if e.action == "container.file"]
    assert files[0].outcome == "failed" and "/etc/apt: failed to create file" in files[0].detail
    lines = [e.fields["text"] for e in await stream_of(result.job_id) if e.kind == "line"]
    assert "wrote /etc/motd (mode 0644, policy replace)" in lines
    assert "never" not in lines


async def test_push_verified_names_a_read_only_path_and_passes_a_good_file(
    sshnode: NodeView, new_vmid: Callable[[], int]
) -> None:
    vmid = new_vmid()
    result = await jobs.submit(USER_A, make_request(sshnode, vmid))
    assert result.job_id, result.errors
    await asyncio.to_thread(run_burst_worker)
    target = ssh_target_for(USER_A, sshnode.id)
    assert target is not None
    async with SshPool() as pool:  # the SSH host is pve1, the container's node
        await push_verified(pool, target, vmid, "/root/ok.txt", b"fine\n", 0o640)
        linked = await pool.pct_exec(target, vmid, ["ln", "-s", "/root/ok.txt", "/root/link"])
        assert linked.exit_status == 0, linked.stderr
        await push_verified(pool, target, vmid, "/root/link", b"through\n", 0o600)  # follows
        with pytest.raises(PushNotVerified) as caught:
            await push_verified(pool, target, vmid, "/proc/sys/kernel/lxcm", b"1\n", 0o644)
    assert caught.value.reason == (
        "failed to create file: /proc/sys/kernel/lxcm: Read-only file system"
    )
    assert await in_ct(sshnode, "pve1", vmid, ["stat", "-c", "%s %a", "/root/ok.txt"]) == (
        0,
        "8 600\n",
    )


async def test_scripts_get_a_full_path_and_a_utf8_locale_that_pct_exec_does_not_give(
    sshnode: NodeView, new_vmid: Callable[[], int]
) -> None:
    vmid = new_vmid()
    req = make_request(sshnode, vmid, pve_node="pve2", scripts=(script("env.sh", ENV_SCRIPT),))
    result = await jobs.submit(USER_A, req)
    assert result.job_id, result.errors
    await asyncio.to_thread(run_burst_worker)
    done = await jobs.get_job(USER_A, result.job_id)
    assert done is not None and done.status == "succeeded", done
    lines = [e.fields["text"] for e in await stream_of(result.job_id) if e.kind == "line"]
    assert (
        "script env: /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        "|C.UTF-8|C.UTF-8" in lines
    )
    status, output = await in_ct(sshnode, "pve2", vmid, ["env"])
    bare = dict(line.split("=", 1) for line in output.splitlines() if "=" in line)
    assert status == 0
    assert (bare["PATH"], bare["LANG"], bare.get("LC_ALL")) == (
        "/sbin:/bin:/usr/sbin:/usr/bin",
        "en_US.UTF-8",
        None,
    )
