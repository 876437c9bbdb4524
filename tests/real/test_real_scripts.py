"""Template scripts for real: every function of the helper library (templates/runtime/
helpers.sh) in a real Debian 12 container, and a script that fails at step 6 retried from
that step."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from prov_support import USER_A, in_ct, make_request, run_burst_worker, script, stream_of

from lxc_manager.nodes import NodeView
from lxc_manager.provisioning import jobs

HELPERS = r"""
set -e
echo "os_family=$(os_family)"
is_installed bash && echo "bash is installed"
is_installed cowsay || echo "cowsay is missing"
wait_for_apt_lock 60 && echo "apt lock free"
apt_update && echo "lists updated"
ensure_installed jq
is_installed jq && echo "jq $(jq --version)"
ensure_installed jq && echo "jq left alone"
useradd -m -s /bin/bash alice
run_as_user alice sh -c 'echo "as $(id -un) home=$HOME pwd=$(pwd)"'
run_as_user alice false || echo "run_as_user returned $?"
pw=$(generate_password 32)
echo "password: ${#pw} chars, ${pw//[A-Za-z0-9]/} others"
save_credential demo API_KEY "$pw"
save_credential demo API_KEY "second-value"
save_credential demo USER "alice"
echo "credentials: $(stat -c '%a' /etc/lxc-manager/credentials) $(stat -c '%a' /etc/lxc-manager/credentials/demo) $(cut -d= -f1 /etc/lxc-manager/credentials/demo | sort | tr '\n' ' ')"
grep -qx 'API_KEY=second-value' /etc/lxc-manager/credentials/demo && echo "replaced, not added"
wait_for_port 22 && echo "port 22 open"
wait_for_port 9 127.0.0.1 2 || echo "port 9 closed"
log_info "an info line"
log_warn "a warning line"
(die "dying in a subshell") || echo "die exited $?"
echo "PATH=$PATH LANG=$LANG"
"""

NEEDS_MARKER = """\
echo run >> /root/second-runs
[ -f /root/marker ] || die "the marker is missing"
echo "marker found"
"""


async def test_every_helper_works_in_a_real_container(
    sshnode: NodeView, new_vmid: Callable[[], int]
) -> None:
    vmid = new_vmid()
    submitted = await jobs.submit(
        USER_A, make_request(sshnode, vmid, scripts=(script("10-helpers.sh", HELPERS),))
    )
    assert submitted.job_id, submitted.errors
    await asyncio.to_thread(run_burst_worker, 600)
    done = await jobs.get_job(USER_A, submitted.job_id)
    lines = [e.fields["text"] for e in await stream_of(submitted.job_id) if e.kind == "line"]
    assert done is not None and done.status == "succeeded", (done, lines[-30:])
    text = "\n".join(lines)
    for expected in (
        "os_family=apt",
        "bash is installed",
        "cowsay is missing",
        "apt lock free",
        "lists updated",
        "jq jq-1.6",
        "jq left alone",
        "as alice home=/home/alice pwd=/home/alice",
        "run_as_user returned 1",
        "password: 32 chars,  others",
        "credentials: 700 600 API_KEY USER ",
        "replaced, not added",
        "port 22 open",
        "port 9 closed",
        "die exited 1",
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8",
    ):
        assert expected in lines, (expected, text[-3000:])
    assert any(line.endswith("an info line") and "[INFO]" in line for line in lines)
    assert any(line.endswith("a warning line") and "[WARN]" in line for line in lines)
    assert any("dying in a subshell" in line and "[ERROR]" in line for line in lines)
    assert "second-value" not in text


async def test_a_script_failing_at_step_6_is_retried_from_there(
    sshnode: NodeView, new_vmid: Callable[[], int]
) -> None:
    vmid = new_vmid()
    req = make_request(
        sshnode,
        vmid,
        scripts=(
            script("10-count.sh", "echo run >> /root/first-runs\n"),
            script("20-marker.sh", NEEDS_MARKER),
        ),
    )
    submitted = await jobs.submit(USER_A, req)
    assert submitted.job_id, submitted.errors
    job_id = submitted.job_id
    await asyncio.to_thread(run_burst_worker, 600)
    failed = await jobs.get_job(USER_A, job_id)
    assert failed is not None and (failed.status, failed.step) == ("failed", 6), failed
    assert failed.error == "Step 6 (Run scripts): Script 2/2 20-marker.sh failed with exit status 1"
    assert await in_ct(sshnode, "pve1", vmid, ["touch", "/root/marker"]) == (0, "")
    assert await jobs.retry(USER_A, job_id) is None
    await asyncio.to_thread(run_burst_worker, 600)
    done = await jobs.get_job(USER_A, job_id)
    assert done is not None and (done.status, done.error, done.attempts) == ("succeeded", "", 2)
    # steps 1-5 and the first script ran once; the failed script ran again
    assert await in_ct(sshnode, "pve1", vmid, ["cat", "/root/first-runs"]) == (0, "run\n")
    assert await in_ct(sshnode, "pve1", vmid, ["cat", "/root/second-runs"]) == (0, "run\nrun\n")
