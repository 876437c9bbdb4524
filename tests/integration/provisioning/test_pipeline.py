"""The whole pipeline through a real RQ worker against the simulator: a template with
files, packages and scripts; a failing script retried from step 6 (on another node of the
cluster than the SSH host); a blank container on a node without SSH; keep and destroy."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from prov_support import (
    USER_A,
    USER_B,
    apt,
    file,
    in_ct,
    make_request,
    pip,
    run_burst_worker,
    script,
    stream_of,
)

from lxc_manager.nodes import NodeView
from lxc_manager.provisioning import jobs, vmids
from lxc_manager.security import audit
from lxc_manager.templates.spec import Features
from tests.support.simulator import SimulatorInfo

APP_UNIT = """\
set -e
log_info "installing the hello service on $CONTAINER_OS"
cat > /etc/systemd/system/hello.service <<'UNIT'
[Unit]
Description=Hello web app
[Service]
Environment=PORT=8080
ExecStart=/usr/bin/python3 -m http.server 8080
[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable --now hello
echo run >> /root/runs
"""

CHECKS = """\
set -e
command -v nginx >/dev/null || die "nginx is missing"
pip3 list | grep -qi flask || die "flask is missing"
mkdir -p /etc/lxc-manager/credentials
printf 'user=admin\\npassword=%s\\n' "s3cret-$RANDOM-value" > /etc/lxc-manager/credentials/hello
printf '\\033[1;32mall good\\033[0m for %s\\n' "$(hostname)"
"""

NEEDS_MARKER = """\
echo "checking for the marker"
if [ ! -f /root/marker ]; then
  echo "the marker is missing" >&2
  exit 3
fi
echo "marker found"
"""


async def test_a_template_is_provisioned_end_to_end(
    simulator: SimulatorInfo, sshnode: NodeView, new_vmid: Callable[[], int]
) -> None:
    vmid = new_vmid()
    req = make_request(
        sshnode,
        vmid,
        features=Features(nesting=True, keyctl=True),
        files=(
            file("app", "/opt/app/app.conf", "port=8080\n", mode="0640"),
            file("hosts", "/etc/hosts", "127.0.0.1 localhost\n10.9.9.9 db\n", policy="backup"),
            file("osrel", "/etc/os-release", "NAME=changed\n", policy="default"),
        ),
        packages=(apt("nginx"), apt("python3-pip"), pip("flask")),
        scripts=(
            script("10-hello.sh", APP_UNIT),
            script("15-disabled.sh", "exit 9", enabled=False),
            script("20-checks.sh", CHECKS),
        ),
    )
    result = await jobs.submit(USER_A, req)
    assert result.errors == {} and result.job_id
    job_id = result.job_id
    queued = await jobs.get_job(USER_A, job_id)
    assert queued is not None and queued.status == "queued" and queued.percent == 0
    assert await vmids.holder(USER_A, sshnode.cluster_key, vmid) == job_id
    assert await jobs.get_job(USER_B, job_id) is None

    await asyncio.to_thread(run_burst_worker)

    view = await jobs.get_job(USER_A, job_id)
    assert view is not None
    assert (view.status, view.error, view.percent, view.step) == ("succeeded", "", 100, 8), view
    assert [s.state for s in view.steps] == ["ok"] * 8, view.steps
    assert view.node_name == "lab" and view.hostname == f"prov-{vmid}" and view.attempts == 1
    assert all(s.started_at and s.ended_at for s in view.steps)

    # the container: files by policy, packages, services, root-only features
    async def run(*argv: str) -> tuple[int, str]:
        return await in_ct(sshnode, "pve1", vmid, list(argv))

    assert await run("cat", "/opt/app/app.conf") == (0, "port=8080\n")
    status, listing = await run("ls", "-l", "/opt/app/app.conf")
    assert status == 0 and listing.startswith("-rw-r-----"), listing
    assert await run("cat", "/etc/hosts") == (0, "127.0.0.1 localhost\n10.9.9.9 db\n")
    status, backup = await run("cat", "/etc/hosts.bak")
    assert status == 0 and f"prov-{vmid}" in backup, backup
    status, os_release = await run("cat", "/etc/os-release")
    assert status == 0 and "Debian GNU/Linux 12" in os_release and "changed" not in os_release
    assert (await run("dpkg", "-s", "nginx"))[0] == 0
    assert "flask" in (await run("pip3", "list"))[1].lower()
    for unit in ("hello", "nginx"):
        assert await run("systemctl", "is-active", unit) == (0, "active\n")
    assert await run("cat", "/root/runs") == (0, "run\n")
    with simulator.client() as api:
        config = api.get(f"/nodes/pve1/lxc/{vmid}/config").json()["data"]
    assert config["features"] == "nesting=1,keyctl=1" and config["tags"] == "prov-test"

    # the progress stream: steps, script index/total, lines without ANSI, no secrets
    entries = await stream_of(job_id)
    assert entries[0].kind == "status" and entries[0].fields["status"] == "queued"
    assert [e.kind for e in entries[-2:]] == ["result", "status"]
    assert entries[-2].fields["outcome"] == "succeeded" and entries[-2].fields["vmid"] == str(vmid)
    scripts = [e.fields for e in entries if e.kind == "step" and "script" in e.fields]
    assert [(s["index"], s["total"], s["script"]) for s in scripts] == [
        ("1", "2", "10-hello.sh"),
        ("2", "2", "20-checks.sh"),
    ]
    lines = [e.fields["text"] for e in entries if e.kind == "line"]
    assert f"all good for prov-{vmid}" in lines
    assert not any("\x1b" in line for line in lines)
    hello = [line for line in lines if line.startswith("hello.service:")]
    assert hello and "credentials: user, password" in hello[0], lines[-20:]
    assert not any("s3cret" in line for line in lines)
    secrets = (simulator.root_password, simulator.token_secret)
    assert not any(s in str(e.fields) for e in entries for s in secrets)
    ends = [
        (e.fields["step"], e.fields["state"])
        for e in entries
        if e.kind == "step" and e.fields["state"] != "running"
    ]
    assert ends == [(str(n), "ok") for n in range(1, 9)]

    # audit, hold released, cache invalidated, listings
    events = [e for e in audit.recent(50, user_id=USER_A) if e.target == f"ct:lab/{vmid}"]
    actions = [(e.action, e.outcome) for e in reversed(events)]
    assert actions[0] == ("container.provision", "ok")
    assert ("container.create", "ok") in actions
    assert [a for a in actions if a[0] == "container.script"] == [("container.script", "ok")] * 2
    assert not any(s in e.detail for e in events for s in secrets)
    assert await vmids.holder(USER_A, sshnode.cluster_key, vmid) is None
    check = await vmids.check_vmid(USER_A, sshnode.id, str(vmid))
    assert (check.status, check.message) == (
        "taken",
        f"VMID {vmid} is taken (container prov-{vmid} on pve1)",
    )
    assert job_id not in [j.id for j in await jobs.list_jobs(USER_A, active_or_failed_only=True)]
    assert job_id in [j.id for j in await jobs.list_jobs(USER_A)]
    assert await jobs.list_jobs(USER_B) == []


async def test_a_failed_script_is_retried_from_step_6(
    simulator: SimulatorInfo, sshnode: NodeView, new_vmid: Callable[[], int]
) -> None:
    """On pve2: the SSH host is pve1, so every pct command hops to pve2."""
    vmid = new_vmid()
    req = make_request(
        sshnode,
        vmid,
        pve_node="pve2",
        ipv4="10.20.30.40/24",
        gateway="10.20.30.1",
        files=(file("motd", "/etc/motd", "welcome\n"),),
        scripts=(
            script("10-count.sh", "echo run >> /root/runs\n"),
            script("20-marker.sh", NEEDS_MARKER),
        ),
    )
    result = await jobs.submit(USER_A, req)
    assert result.job_id, result.errors
    job_id = result.job_id
    await asyncio.to_thread(run_burst_worker)

    failed = await jobs.get_job(USER_A, job_id)
    assert failed is not None and failed.status == "failed" and failed.step == 6, failed
    assert failed.error == "Step 6 (Run scripts): Script 2/2 20-marker.sh failed with exit status 3"
    assert [s.state for s in failed.steps] == ["ok"] * 4 + ["skipped", "failed"] + ["pending"] * 2
    assert failed.retryable and failed.can_destroy and failed.percent == 62
    entries = await stream_of(job_id)
    lines = [e.fields["text"] for e in entries if e.kind == "line"]
    assert "the marker is missing" in lines
    stderr = [e for e in entries if e.kind == "line" and e.fields["stream"] == "stderr"]
    assert [e.fields["text"] for e in stderr] == ["the marker is missing"]
    assert entries[-2].kind == "result" and entries[-2].fields["error"] == failed.error
    failures = [e for e in audit.recent(20, user_id=USER_A) if e.action == "container.script"]
    assert failures[0].outcome == "failed" and "20-marker.sh" in failures[0].detail
    assert await in_ct(sshnode, "pve2", vmid, ["cat", "/etc/motd"]) == (0, "welcome\n")

    assert await in_ct(sshnode, "pve2", vmid, ["touch", "/root/marker"]) == (0, "")
    assert await jobs.retry(USER_B, job_id) == jobs.MSG_NOT_FOUND
    assert await jobs.retry(USER_A, job_id) is None
    assert await jobs.retry(USER_A, job_id) == "Only a failed job can be retried"
    requeued = await jobs.get_job(USER_A, job_id)
    assert requeued is not None and requeued.status == "queued"
    await asyncio.to_thread(run_burst_worker)

    done = await jobs.get_job(USER_A, job_id)
    assert done is not None and (done.status, done.error, done.attempts) == ("succeeded", "", 2)
    assert [s.state for s in done.steps] == ["ok"] * 4 + ["skipped"] + ["ok"] * 3
    # steps 1-5 were not repeated, and the first script not either
    assert await in_ct(sshnode, "pve2", vmid, ["cat", "/root/runs"]) == (0, "run\n")
    retried = await stream_of(job_id)
    fresh = retried[len(entries) :]
    assert {e.fields["step"] for e in fresh if e.kind == "step"} == {"6", "7", "8"}
    skipped = [
        e.fields for e in fresh if e.kind == "step" and e.fields.get("script") == "10-count.sh"
    ]
    assert skipped and skipped[0]["message"] == "done in an earlier attempt"
    assert fresh[-2].fields["ip"] == "10.20.30.40"
    with simulator.client() as api:
        config = api.get(f"/nodes/pve2/lxc/{vmid}/config").json()["data"]
    assert "ip=10.20.30.40/24" in config["net0"] and "gw=10.20.30.1" in config["net0"]


async def test_a_blank_container_on_a_node_without_ssh(
    simulator: SimulatorInfo, apinode: NodeView, new_vmid: Callable[[], int]
) -> None:
    vmid = new_vmid()
    refused = await jobs.submit(
        USER_A, make_request(apinode, vmid, scripts=(script("a.sh", "true"),))
    )
    assert refused.job_id is None and "SSH credentials" in refused.errors["scripts"]
    assert await vmids.holder(USER_A, apinode.cluster_key, vmid) is None

    result = await jobs.submit(USER_A, make_request(apinode, vmid, onboot=True))
    assert result.job_id, result.errors
    await asyncio.to_thread(run_burst_worker)
    view = await jobs.get_job(USER_A, result.job_id)
    assert view is not None and view.status == "succeeded", view
    assert [s.state for s in view.steps] == ["ok", "ok", "ok"] + ["skipped"] * 4 + ["ok"]
    assert view.steps[3].message == "the node has no SSH credentials"
    with simulator.client() as api:
        status = api.get(f"/nodes/pve1/lxc/{vmid}/status/current").json()["data"]
        config = api.get(f"/nodes/pve1/lxc/{vmid}/config").json()["data"]
    assert status["status"] == "running" and config["onboot"] == 1
    assert "password" not in config
    result_entry = (await stream_of(result.job_id))[-2]
    if simulator.has_interfaces_route:
        assert result_entry.fields["ip"].startswith("192.168.1.")
    else:  # PVE 8.0 has no /interfaces and the node no SSH: nobody can tell the address
        assert result_entry.fields["ip"] == ""
        assert view.steps[2].message == (
            "running; address unknown (no /interfaces before PVE 8.1, no SSH)"
        )


async def test_keep_then_destroy_a_failed_job(
    simulator: SimulatorInfo, sshnode: NodeView, new_vmid: Callable[[], int]
) -> None:
    vmid = new_vmid()
    req = make_request(sshnode, vmid, scripts=(script("fail.sh", "echo no; exit 1"),))
    result = await jobs.submit(USER_A, req)
    assert result.job_id
    job_id = result.job_id
    assert (
        await jobs.destroy(USER_A, job_id) == "Only a failed job's container can be destroyed here"
    )
    await asyncio.to_thread(run_burst_worker)

    assert await jobs.keep(USER_B, job_id) == jobs.MSG_NOT_FOUND
    assert await jobs.keep(USER_A, job_id) is None
    kept = await jobs.get_job(USER_A, job_id)
    assert kept is not None and kept.status == "failed" and kept.kept
    assert job_id in [j.id for j in await jobs.list_jobs(USER_A, active_or_failed_only=True)]
    # The dashboard asks only for recent failures.
    recent = await jobs.list_jobs(
        USER_A, active_or_failed_only=True, failed_since=datetime.now(UTC) - timedelta(hours=1)
    )
    later = await jobs.list_jobs(
        USER_A, active_or_failed_only=True, failed_since=datetime.now(UTC) + timedelta(hours=1)
    )
    assert job_id in [j.id for j in recent] and job_id not in [j.id for j in later]
    assert simulator_has(simulator, vmid)

    assert await jobs.destroy(USER_B, job_id) == jobs.MSG_NOT_FOUND
    assert simulator_has(simulator, vmid)
    assert await jobs.destroy(USER_A, job_id) is None
    assert not simulator_has(simulator, vmid)
    gone = await jobs.get_job(USER_A, job_id)
    assert gone is not None and gone.status == "destroyed" and not gone.retryable
    assert (await stream_of(job_id))[-1].fields["status"] == "destroyed"
    assert await jobs.retry(USER_A, job_id) == "Only a failed job can be retried"
    deleted = [e for e in audit.recent(10, user_id=USER_A) if e.action == "container.delete"]
    assert deleted and deleted[0].outcome == "ok" and deleted[0].target == f"ct:lab/{vmid}"


def simulator_has(simulator: SimulatorInfo, vmid: int) -> bool:
    state = simulator.admin_call("GET", "/_sim/state")
    return any(c["vmid"] == vmid for c in state["containers"])


async def test_a_failed_create_is_retried_from_step_1(
    reset_faults: SimulatorInfo, apinode: NodeView, new_vmid: Callable[[], int]
) -> None:
    simulator = reset_faults
    vmid = new_vmid()
    message = "unable to create CT - storage full"
    simulator.admin_call("POST", "/_sim/faults", {"fail_tasks": 1, "fail_message": message})
    result = await jobs.submit(USER_A, make_request(apinode, vmid))
    assert result.job_id
    await asyncio.to_thread(run_burst_worker)
    failed = await jobs.get_job(USER_A, result.job_id)
    assert failed is not None and (failed.status, failed.step) == ("failed", 1)
    assert (
        failed.error
        == f"Step 1 (Create): Creating the container failed: The task failed: {message}"
    )
    assert not simulator_has(simulator, vmid)
    lines = [e.fields["text"] for e in await stream_of(result.job_id) if e.kind == "line"]
    assert f"TASK ERROR: {message}" in lines
    created = [e for e in audit.recent(10, user_id=USER_A) if e.action == "container.create"]
    assert created[0].outcome == "failed" and message in created[0].detail
    assert await vmids.holder(USER_A, apinode.cluster_key, vmid) is None

    assert await jobs.retry(USER_A, result.job_id) is None
    assert await vmids.holder(USER_A, apinode.cluster_key, vmid) == result.job_id
    await asyncio.to_thread(run_burst_worker)
    done = await jobs.get_job(USER_A, result.job_id)
    assert done is not None and (done.status, done.attempts) == ("succeeded", 2)
    assert simulator_has(simulator, vmid)


async def test_a_vmid_taken_before_create_is_refused_and_never_destroyed(
    simulator: SimulatorInfo, apinode: NodeView, new_vmid: Callable[[], int]
) -> None:
    vmid = new_vmid()
    result = await jobs.submit(USER_A, make_request(apinode, vmid))
    assert result.job_id
    with simulator.client() as api:  # someone else, outside LXC Manager, meanwhile
        assert (
            simulator.create_container(api, "pve2", vmid, hostname="theirs")["exitstatus"] == "OK"
        )
    await asyncio.to_thread(run_burst_worker)
    failed = await jobs.get_job(USER_A, result.job_id)
    assert failed is not None and (failed.status, failed.step) == ("failed", 1)
    assert failed.error == (
        f"Step 1 (Create): VMID {vmid} was taken in the meantime: "
        "create the container with another VMID"
    )
    assert await jobs.destroy(USER_A, result.job_id) is None
    assert simulator_has(simulator, vmid)  # not ours: left alone
    gone = await jobs.get_job(USER_A, result.job_id)
    assert gone is not None and gone.status == "destroyed"
