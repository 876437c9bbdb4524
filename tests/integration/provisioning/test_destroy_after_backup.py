""" "Back up first" on the destroy of a failed creation, through a real RQ worker against
the simulator: one operation job backs the half-built container up and then destroys it
(the creation job becomes "destroyed"); a backup that fails destroys nothing and leaves
the creation job failed, retryable and destroyable; missing privileges are named before
anything starts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from prov_support import USER_A, USER_B, make_request, run_burst_worker, script, stream_of

from lxc_manager.backups import actions
from lxc_manager.backups.destroy_first import destroy_after_backup
from lxc_manager.backups.listing import list_backups
from lxc_manager.nodes import NodeView
from lxc_manager.operations import jobs as op_jobs
from lxc_manager.provisioning import jobs
from lxc_manager.security.audit import for_target
from tests.support.simulator import SimulatorInfo


def _has(simulator: SimulatorInfo, vmid: int) -> bool:
    state = simulator.admin_call("GET", "/_sim/state")
    return any(c["vmid"] == vmid for c in state["containers"])


async def simulator_has(simulator: SimulatorInfo, vmid: int) -> bool:
    """Does the simulator hold CT `vmid`? (Asked off the test's event loop.)"""
    return await asyncio.to_thread(_has, simulator, vmid)


@contextmanager
def only_audit(simulator: SimulatorInfo, path: str) -> Iterator[None]:
    """The node's token holds only PVEAuditor on `path` meanwhile (a more specific ACL path
    wins in Proxmox)."""
    acl = {"path": path, "roles": "PVEAuditor", "tokens": simulator.token_id}
    with simulator.client(simulator.root_token_id, simulator.root_token_secret) as api:
        assert api.put("/access/acl", data=acl).status_code == 200
        try:
            yield
        finally:
            assert api.put("/access/acl", data={**acl, "delete": 1}).status_code == 200


async def _failed_job(node: NodeView, vmid: int) -> str:
    """A creation that failed at its script step: its container exists, half-built."""
    req = make_request(node, vmid, scripts=(script("fail.sh", "echo no; exit 1"),))
    result = await jobs.submit(USER_A, req)
    assert result.job_id, result.errors
    await asyncio.to_thread(run_burst_worker)
    failed = await jobs.get_job(USER_A, result.job_id)
    assert failed is not None and failed.status == "failed" and failed.can_destroy, failed
    return result.job_id


async def test_back_up_first_then_destroy_the_failed_container(
    simulator: SimulatorInfo, sshnode: NodeView, new_vmid: Callable[[], int]
) -> None:
    vmid = new_vmid()
    job_id = await _failed_job(sshnode, vmid)
    assert (await destroy_after_backup(USER_B, job_id)).message == jobs.MSG_NOT_FOUND

    started = await destroy_after_backup(USER_A, job_id)
    assert started.job_id, started.message
    # While the operation is queued, the creation job can be neither retried nor destroyed.
    assert await jobs.retry(USER_A, job_id) == jobs.MSG_OPERATION_RUNNING
    assert await jobs.destroy(USER_A, job_id) == jobs.MSG_OPERATION_RUNNING
    again = await destroy_after_backup(USER_A, job_id)
    assert again.job_id is None and again.message == jobs.MSG_OPERATION_RUNNING
    assert await simulator_has(simulator, vmid)

    await asyncio.to_thread(run_burst_worker)
    view = await op_jobs.get_operation(USER_A, started.job_id)
    assert view is not None and view.status == "succeeded", view
    assert view.kind == "destroy" and view.title.startswith(f"Back up CT {vmid} (prov-{vmid}) to ")
    assert [(s.kind, s.state) for s in view.steps] == [
        ("backup", "ok"),
        ("destroy-failed-job", "ok"),
    ]
    assert view.steps[1].message == f"CT {vmid} deleted; the creation job is marked destroyed"
    volid = view.result["volid"]
    assert isinstance(volid, str) and f"vzdump-lxc-{vmid}-" in volid
    assert view.result["provisioning_job"] == job_id
    lines = [e.fields.get("text", "") for e in await stream_of(started.job_id) if e.kind == "line"]
    assert any("creating vzdump archive" in line for line in lines), lines

    # The container is gone, its backup exists, and the creation job says so.
    assert not await simulator_has(simulator, vmid)
    [entry] = (await list_backups(USER_A, sshnode.id, vmid)).entries
    assert (
        entry.volid == volid and entry.notes == f"prov-{vmid}: before destroying a failed creation"
    )
    gone = await jobs.get_job(USER_A, job_id)
    assert gone is not None and gone.status == "destroyed" and not gone.retryable
    assert gone.destroyed_note == f"CT {vmid} deleted, after a backup to {volid}"
    last = (await stream_of(job_id))[-1]
    assert last.fields["status"] == "destroyed"
    assert last.fields["message"] == f"CT {vmid} deleted, after a backup to {volid}"
    assert await jobs.retry(USER_A, job_id) == "Only a failed job can be retried"

    done = [
        (e.action, e.outcome) for e in await asyncio.to_thread(for_target, f"ct:lab/{vmid}", USER_A)
    ]
    assert ("backup.create", "ok") in done and ("container.delete", "ok") in done
    on_job = [e.detail for e in await asyncio.to_thread(for_target, f"job:{job_id}", USER_A)]
    assert any(d.startswith(f"operation {started.job_id}: Back up CT {vmid}") for d in on_job)
    assert any(
        d.endswith(f"destroyed: CT {vmid} deleted, after a backup to {volid}") for d in on_job
    )

    deleted = await actions.delete_backup(USER_A, sshnode.id, entry.pve_node, volid)
    assert deleted.ok, deleted.message


async def test_a_failed_backup_destroys_nothing_and_privileges_are_named_first(
    simulator: SimulatorInfo, sshnode: NodeView, new_vmid: Callable[[], int]
) -> None:
    vmid = new_vmid()
    job_id = await _failed_job(sshnode, vmid)

    with only_audit(simulator, f"/vms/{vmid}"):
        refused = await destroy_after_backup(USER_A, job_id)
    assert refused.job_id is None and refused.message == (
        f"The node's API token lacks the Proxmox privilege VM.Backup on /vms/{vmid}: "
        "nothing was started"
    )
    assert await op_jobs.operations_for(USER_A) == []

    # Accepted, but the privilege is gone when the worker runs: the backup task fails.
    started = await destroy_after_backup(USER_A, job_id)
    assert started.job_id, started.message
    with only_audit(simulator, f"/vms/{vmid}"):
        await asyncio.to_thread(run_burst_worker)
    view = await op_jobs.get_operation(USER_A, started.job_id)
    assert view is not None and view.status == "failed", view
    assert [s.state for s in view.steps] == ["failed", "pending"]
    assert "VM.Backup" in view.error, view.error
    assert await simulator_has(simulator, vmid)
    failed = await jobs.get_job(USER_A, job_id)
    assert failed is not None and failed.status == "failed"
    assert failed.retryable and failed.can_destroy
    assert (await list_backups(USER_A, sshnode.id, vmid)).entries == []

    storage = view.title.split(" to ", 1)[1].split(",", 1)[0]
    with only_audit(simulator, f"/storage/{storage}"):
        refused = await destroy_after_backup(USER_A, job_id)
    assert f"Datastore.AllocateSpace on /storage/{storage}" in refused.message
    assert len(await op_jobs.operations_for(USER_A)) == 1
    refusals = [
        (e.outcome, e.detail) for e in await asyncio.to_thread(for_target, f"job:{job_id}", USER_A)
    ]
    assert ("failed", f"back up first, then destroy: {refused.message}") in refusals

    # Still destroyable the plain way.
    assert await jobs.destroy(USER_A, job_id) is None
    assert not await simulator_has(simulator, vmid)
    gone = await jobs.get_job(USER_A, job_id)
    assert gone is not None and gone.status == "destroyed"
    assert gone.destroyed_note == f"CT {vmid} deleted"
