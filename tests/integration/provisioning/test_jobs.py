"""Submitting jobs (server-side validation, racing for one VMID) and a worker killed in
the middle of a job (stale detection, then retry)."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable

import pytest
import redis.exceptions
from prov_support import (
    USER_A,
    USER_B,
    add_node,
    in_ct,
    make_request,
    run_burst_worker,
    script,
    sim_input,
    stream_of,
)
from sqlmodel import select

from lxc_manager.db.engine import session_scope
from lxc_manager.db.models import ProvisioningJob
from lxc_manager.nodes import NodeView
from lxc_manager.provisioning import jobs, vmids
from lxc_manager.provisioning.pipeline import HEARTBEAT_SECONDS
from tests.support.procs import alive, descendants, wait_until_dead
from tests.support.simulator import SimulatorInfo
from tests.support.worker import start_quiet_worker

SLOW_UNLESS_FAST = """\
if [ -f /root/fast ]; then
  echo "fast this time"
  exit 0
fi
echo "sleeping"
sleep 30
"""


def _rows() -> int:
    with session_scope() as db:
        return len(list(db.exec(select(ProvisioningJob))))


async def test_two_submits_racing_for_one_vmid(
    simulator: SimulatorInfo, sshnode: NodeView, new_vmid: Callable[[], int]
) -> None:
    vmid = new_vmid()
    first, second = await asyncio.gather(
        jobs.submit(USER_A, make_request(sshnode, vmid, hostname="racer-a")),
        jobs.submit(USER_A, make_request(sshnode, vmid, hostname="racer-b")),
    )
    winners = [r for r in (first, second) if r.job_id is not None]
    losers = [r for r in (first, second) if r.job_id is None]
    assert len(winners) == 1 and len(losers) == 1, (first, second)
    assert losers[0].errors == {"vmid": f"VMID {vmid} was just taken by another request"}
    assert _rows() == 1
    late = await jobs.submit(USER_A, make_request(sshnode, vmid, hostname="racer-c"))
    assert late.errors == {"vmid": f"VMID {vmid} was just taken by another request"}
    check = await vmids.check_vmid(USER_A, sshnode.id, str(vmid))
    assert check == vmids.VmidCheck(
        "taken", f"VMID {vmid} is taken (a container is being created with it)"
    )
    # Holds are the user's own (a cluster key is only what a server claims): another user
    # on their node of the same cluster neither sees nor takes this hold; across users,
    # Proxmox's nextid check just before create is the guard.
    other = await add_node(USER_B, sim_input(simulator, "mine", ssh=False))
    assert other.cluster_key == sshnode.cluster_key
    assert await vmids.check_vmid(USER_B, other.id, str(vmid)) == vmids.VmidCheck(
        "free", f"VMID {vmid} is free"
    )
    assert await vmids.holder(USER_B, other.cluster_key, vmid) is None
    assert _rows() == 1
    assert winners[0].job_id is not None
    await vmids.release(USER_A, sshnode.cluster_key, vmid, winners[0].job_id)


async def test_submit_validates_on_the_server(
    simulator: SimulatorInfo, sshnode: NodeView, new_vmid: Callable[[], int]
) -> None:
    vmid = new_vmid()
    other = await add_node(USER_B, sim_input(simulator, "theirs", ssh=True))
    stolen = await jobs.submit(USER_A, make_request(other, vmid))
    assert stolen.errors == {"node_id": "Node not found"}
    bad = await jobs.submit(
        USER_A, make_request(sshnode, vmid, pve_node="pve9", hostname="-bad-", ipv4="10.0.0.5")
    )
    assert set(bad.errors) == {"pve_node", "hostname", "ipv4"}, bad.errors
    assert bad.errors["pve_node"] == "pve9 is not a Proxmox node of lab"
    taken = await jobs.submit(USER_A, make_request(sshnode, 107))
    assert taken.errors == {"vmid": "VMID 107 is taken (VM truenas on pve2)"}
    assert _rows() == 0
    assert await vmids.holder(USER_A, sshnode.cluster_key, vmid) is None
    assert await vmids.holder(USER_A, sshnode.cluster_key, 107) is None


async def test_a_worker_killed_mid_job_is_detected_and_the_job_retried(
    simulator: SimulatorInfo, sshnode: NodeView, new_vmid: Callable[[], int]
) -> None:
    vmid = new_vmid()
    req = make_request(sshnode, vmid, scripts=(script("slow.sh", SLOW_UNLESS_FAST),))
    result = await jobs.submit(USER_A, req)
    assert result.job_id
    job_id = result.job_id
    worker = start_quiet_worker()
    try:
        deadline = time.monotonic() + 20
        while True:
            lines = [e.fields.get("text") for e in await stream_of(job_id) if e.kind == "line"]
            if "sleeping" in lines:
                break
            assert time.monotonic() < deadline and worker.poll() is None, lines
            await asyncio.sleep(0.1)
        horses = descendants(worker.pid)
        assert horses, "the work-horse runs the job"
        view = await jobs.get_job(USER_A, job_id)
        assert view is not None and (view.status, view.step) == ("running", 6)
        # alive: the heartbeat keeps the job fresh for longer than the bound
        bound = HEARTBEAT_SECONDS + 1.5
        await asyncio.sleep(bound + 0.5)
        assert jobs.mark_stale_jobs(stale_after=bound) == []

        worker.send_signal(signal.SIGKILL)
        worker.wait(5)
        killed_at = time.monotonic()
        assert wait_until_dead(horses, 5) == set(), "the work-horse dies with its worker"
        while not (marked := jobs.mark_stale_jobs(stale_after=bound)):
            assert time.monotonic() - killed_at < bound + HEARTBEAT_SECONDS + 2
            await asyncio.sleep(0.2)
        assert marked == [job_id]
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(5)
    assert not alive(worker.pid)

    failed = await jobs.get_job(USER_A, job_id)
    assert failed is not None and (failed.status, failed.step) == ("failed", 6)
    assert failed.error == "The worker stopped while running step 6; you can retry from there"
    assert failed.steps[5].state == "failed" and failed.retryable
    entries = await stream_of(job_id)
    assert entries[-2].kind == "result" and entries[-2].fields["outcome"] == "failed"
    assert await vmids.holder(USER_A, sshnode.cluster_key, vmid) is None

    assert await in_ct(sshnode, "pve1", vmid, ["touch", "/root/fast"]) == (0, "")
    assert await jobs.retry(USER_A, job_id) is None
    await asyncio.to_thread(run_burst_worker)
    done = await jobs.get_job(USER_A, job_id)
    assert done is not None and (done.status, done.attempts) == ("succeeded", 2), done
    lines = [e.fields.get("text") for e in await stream_of(job_id) if e.kind == "line"]
    assert lines.count("sleeping") == 1 and "fast this time" in lines


@pytest.mark.parametrize("status", ["queued", "succeeded"])
async def test_stale_detection_leaves_other_jobs_alone(
    sshnode: NodeView, new_vmid: Callable[[], int], status: str
) -> None:
    vmid = new_vmid()
    result = await jobs.submit(USER_A, make_request(sshnode, vmid))
    assert result.job_id
    with session_scope() as db:
        job = db.get(ProvisioningJob, result.job_id)
        assert job is not None
        job.status = status
        job.heartbeat_at = None if status == "queued" else job.created_at
        db.add(job)
    assert jobs.mark_stale_jobs(stale_after=0) == []
    view = await jobs.get_job(USER_A, result.job_id)
    assert view is not None and view.status == status
    await vmids.release(USER_A, sshnode.cluster_key, vmid, result.job_id)


async def test_a_submit_that_cannot_be_queued_leaves_nothing_behind(
    sshnode: NodeView, new_vmid: Callable[[], int], monkeypatch: pytest.MonkeyPatch
) -> None:
    vmid = new_vmid()

    def broken_queue(*_args: object) -> None:
        raise redis.exceptions.ConnectionError("the RQ database is gone")

    monkeypatch.setattr(jobs, "_enqueue", broken_queue)
    result = await jobs.submit(USER_A, make_request(sshnode, vmid))
    assert result == jobs.SubmitResult(None, {"form": jobs.MSG_QUEUE_FAILED})
    assert _rows() == 0
    assert await vmids.holder(USER_A, sshnode.cluster_key, vmid) is None
    assert await jobs.list_jobs(USER_A) == []
