"""Backups through the app against the simulator: back up (an operation job on a real RQ
worker, its task log streamed), the listing, restore as a new container and over the
container, protect / notes / delete, the refusals, and a job whose worker dies."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import OTHER, USER, add_node, node_input

from lxc_manager.backups import actions
from lxc_manager.backups.actions import BackupOptions
from lxc_manager.backups.listing import list_backups
from lxc_manager.nodes import NodeView
from lxc_manager.operations import jobs as op_jobs
from lxc_manager.operations.run import HEARTBEAT_SECONDS
from lxc_manager.operations.stale import mark_stale_operations
from lxc_manager.provisioning import progress, vmids
from lxc_manager.security.audit import for_target
from tests.support.procs import alive, descendants, wait_until_dead
from tests.support.simulator import SimulatorInfo, simulator_session
from tests.support.worker import run_burst_worker, start_quiet_worker


async def _lines(job_id: str) -> list[str]:
    entries = await progress.read(job_id, count=5000)
    return [e.fields.get("text", "") for e in entries if e.kind == "line"]


async def _run(job_id: str) -> op_jobs.OperationView:
    await asyncio.to_thread(run_burst_worker)
    view = await op_jobs.get_operation(USER, job_id)
    assert view is not None
    return view


async def _backed_up(node: NodeView, vmid: int, storage: str = "local") -> str:
    """Back up through a job; the new volid."""
    outcome = await actions.back_up(USER, node.id, "pve1", vmid, BackupOptions(storage=storage))
    assert outcome.ok and outcome.job_id, outcome
    view = await _run(outcome.job_id)
    assert view.status == "succeeded", view
    volid = view.result["volid"]
    assert isinstance(volid, str)
    return volid


async def test_back_up_a_running_container_in_snapshot_mode(
    node: NodeView, own_ct: Callable[..., Awaitable[int]]
) -> None:
    vmid = await own_ct(start=True)
    outcome = await actions.back_up(
        USER, node.id, "pve1", vmid,
        BackupOptions(storage="local", mode="snapshot", notes="before the upgrade", protected=True),
    )  # fmt: skip
    assert outcome.ok and outcome.job_id, outcome
    queued = await op_jobs.get_operation(USER, outcome.job_id)
    assert queued is not None and queued.status == "queued"
    assert await op_jobs.get_operation(OTHER, outcome.job_id) is None
    view = await _run(outcome.job_id)
    assert (view.status, view.percent, view.steps[0].state) == ("succeeded", 100, "ok"), view
    volid = view.result["volid"]
    assert volid.startswith(f"local:backup/vzdump-lxc-{vmid}-") and volid.endswith(".tar.zst")
    lines = await _lines(outcome.job_id)
    assert any("create storage snapshot 'vzdump'" in line for line in lines), lines
    assert any("creating vzdump archive" in line for line in lines)
    listing = await list_backups(USER, node.id, vmid)
    [entry] = listing.entries
    assert (entry.volid, entry.notes, entry.protected, entry.format) == (
        volid, "before the upgrade", True, "tar.zst",
    )  # fmt: skip
    assert entry.origin == f"{USER} (LXC Manager)" and entry.size > 0
    actions_done = [e.action for e in await asyncio.to_thread(for_target, f"ct:lab/{vmid}", USER)]
    assert actions_done.count("backup.create") == 2  # the request and the step's outcome


def _hwaddr(simulator: SimulatorInfo, pve_node: str, vmid: int) -> str:
    with simulator.client(simulator.root_token_id, simulator.root_token_secret) as api:
        net0 = api.get(f"/nodes/{pve_node}/lxc/{vmid}/config").json()["data"]["net0"]
    return next(p.split("=", 1)[1] for p in str(net0).split(",") if p.startswith("hwaddr="))


def _stop(simulator: SimulatorInfo, vmid: int) -> None:
    with simulator.client(simulator.root_token_id, simulator.root_token_secret) as api:
        simulator.wait_task(api, api.post(f"/nodes/pve1/lxc/{vmid}/status/stop").json()["data"])


@contextmanager
def only_audit(simulator: SimulatorInfo, path: str) -> Iterator[None]:
    """The node's token (root@pam!ci) holds only PVEAuditor on `path` meanwhile (a more
    specific ACL path wins in Proxmox)."""
    acl = {"path": path, "roles": "PVEAuditor", "tokens": simulator.token_id}
    with simulator.client(simulator.root_token_id, simulator.root_token_secret) as api:
        assert api.put("/access/acl", data=acl).status_code == 200
        try:
            yield
        finally:
            assert api.put("/access/acl", data={**acl, "delete": 1}).status_code == 200


async def test_a_token_without_vm_backup_is_refused_before_anything_starts(
    simulator: SimulatorInfo, node: NodeView, own_ct: Callable[..., Awaitable[int]]
) -> None:
    vmid = await own_ct(start=False)
    with only_audit(simulator, f"/vms/{vmid}"):
        outcome = await actions.back_up(USER, node.id, "pve1", vmid, BackupOptions(storage="local"))
    assert not outcome.ok and outcome.job_id is None
    assert outcome.message == (
        f"The node's API token lacks the Proxmox privilege VM.Backup on /vms/{vmid}: "
        "nothing was started"
    )
    assert await op_jobs.operations_for(USER) == []
    with only_audit(simulator, "/storage/local"):
        outcome = await actions.back_up(USER, node.id, "pve1", vmid, BackupOptions(storage="local"))
    assert "Datastore.AllocateSpace on /storage/local" in outcome.message
    assert await op_jobs.operations_for(USER) == []
    assert (await list_backups(USER, node.id, vmid)).entries == []
    [event, *_] = await asyncio.to_thread(for_target, f"ct:lab/{vmid}", USER)
    assert (event.action, event.outcome) == ("backup.create", "failed")


async def test_bad_choices_are_refused(
    node: NodeView, own_ct: Callable[..., Awaitable[int]]
) -> None:
    vmid = await own_ct(start=False)
    wrong = await actions.back_up(USER, node.id, "pve1", vmid, BackupOptions(storage="local-lvm"))
    assert (wrong.field, wrong.message) == (
        "storage",
        "local-lvm is not a storage for backups on pve1",
    )
    mode = await actions.back_up(
        USER, node.id, "pve1", vmid, BackupOptions(storage="local", mode="fast")
    )
    assert mode.field == "mode" and not mode.ok
    stolen = await actions.back_up(OTHER, node.id, "pve1", vmid, BackupOptions(storage="local"))
    assert stolen == actions.Outcome(False, "Node not found")  # another user's node
    assert await op_jobs.operations_for(USER) == []
    assert await op_jobs.operations_for(OTHER) == []


async def test_restore_as_a_new_container_and_over_the_old_one(
    simulator: SimulatorInfo,
    node: NodeView,
    own_ct: Callable[..., Awaitable[int]],
    new_vmid: Callable[[], int],
) -> None:
    vmid = await own_ct(start=True)
    local = await _backed_up(node, vmid)
    volid = await _backed_up(node, vmid, "nas")
    target = await asyncio.to_thread(new_vmid)
    taken = await actions.restore_new(
        USER, node.id, volid, vmid_text=str(vmid), hostname="copy", storage="local-lvm",
        pve_node="pve2", backup_node="pve1",
    )  # fmt: skip
    assert (taken.ok, taken.field) == (False, "vmid") and "taken" in taken.message
    elsewhere = await actions.restore_new(
        USER, node.id, local, vmid_text=str(target), hostname="copy", storage="local-lvm",
        pve_node="pve2", backup_node="pve1",
    )  # fmt: skip
    assert elsewhere.message == (
        "This backup is on pve1's own storage local: restore it on pve1, "
        "or use a backup on a shared storage"
    )
    assert await vmids.holder(USER, node.cluster_key, target) is None
    outcome = await actions.restore_new(
        USER, node.id, volid, vmid_text=str(target), hostname="restored-copy",
        storage="local-lvm", pve_node="pve2", backup_node="pve1",
    )  # fmt: skip
    assert outcome.ok and outcome.job_id, outcome
    assert await vmids.holder(USER, node.cluster_key, target) == outcome.job_id
    view = await _run(outcome.job_id)
    assert view.status == "succeeded", view
    assert view.result["vmid"] == target
    assert await vmids.holder(USER, node.cluster_key, target) is None
    state = await asyncio.to_thread(simulator.admin_call, "GET", "/_sim/state")
    made = next(c for c in state["containers"] if c["vmid"] == target)
    assert (made["node"], made["name"]) == ("pve2", "restored-copy")
    # the copy has addresses of its own (restore's `unique`): not the original's MAC
    assert _hwaddr(simulator, "pve2", target) != _hwaddr(simulator, "pve1", vmid)

    assert await actions.rootfs_storage(USER, node.id, "pve1", vmid) == "local-lvm"
    refused = await actions.restore_over(
        USER, node.id, "pve1", vmid, volid, confirm=str(vmid), storage="local-lvm"
    )
    assert not refused.ok and "must be stopped" in refused.message
    wrong = await actions.restore_over(
        USER, node.id, "pve1", vmid, volid, confirm="1", storage="local-lvm"
    )
    assert (wrong.ok, wrong.field) == (False, "confirm")
    await asyncio.to_thread(_stop, simulator, vmid)
    over = await actions.restore_over(
        USER, node.id, "pve1", vmid, volid, confirm=str(vmid), storage="local-lvm",
        backup_first=BackupOptions(storage="local", notes="before restore"),
    )  # fmt: skip
    assert over.ok and over.job_id, over
    view = await _run(over.job_id)
    assert view.status == "succeeded", view
    assert [(s.kind, s.state) for s in view.steps] == [("backup", "ok"), ("restore", "ok")]
    listing = await list_backups(USER, node.id, vmid)
    assert len(listing.entries) == 3 and listing.entries[0].notes == "before restore"
    assert listing.entries[0].ctime >= listing.entries[1].ctime


async def test_protect_notes_and_delete(
    node: NodeView, own_ct: Callable[..., Awaitable[int]]
) -> None:
    vmid = await own_ct(start=False)
    volid = await _backed_up(node, vmid)
    assert (await actions.set_protected(USER, node.id, "pve1", volid, True)).ok
    assert (await actions.set_notes(USER, node.id, "pve1", volid, "keep this one")).ok
    [entry] = (await list_backups(USER, node.id, vmid)).entries
    assert (entry.protected, entry.notes) == (True, "keep this one")
    refused = await actions.delete_backup(USER, node.id, "pve1", volid)
    assert refused == actions.Outcome(False, actions.MSG_PROTECTED)
    assert len((await list_backups(USER, node.id, vmid)).entries) == 1
    assert (await actions.set_protected(USER, node.id, "pve1", volid, False)).ok
    deleted = await actions.delete_backup(USER, node.id, "pve1", volid)
    assert deleted.ok, deleted
    assert (await list_backups(USER, node.id, vmid)).entries == []
    events = await asyncio.to_thread(for_target, f"ct:lab/{vmid}", USER)
    kinds = [(e.action, e.outcome) for e in events]
    assert ("backup.delete", "failed") in kinds and ("backup.delete", "ok") in kinds
    assert ("backup.protect", "ok") in kinds and ("backup.notes", "ok") in kinds


async def test_back_up_first_then_delete_is_one_job(
    simulator: SimulatorInfo, node: NodeView, own_ct: Callable[..., Awaitable[int]]
) -> None:
    vmid = await own_ct(start=True)
    outcome = await actions.delete_container_after_backup(
        USER, node.id, "pve1", vmid, BackupOptions(storage=""), stop_first=True
    )  # no storage chosen (the dashboard's delete dialog): the first shared one
    assert outcome.ok and outcome.job_id, outcome
    view = await _run(outcome.job_id)
    assert view.status == "succeeded", view
    assert [(s.kind, s.state) for s in view.steps] == [("backup", "ok"), ("delete-ct", "ok")]
    state = await asyncio.to_thread(simulator.admin_call, "GET", "/_sim/state")
    assert all(c["vmid"] != vmid for c in state["containers"])
    assert [e.volid for e in (await list_backups(USER, node.id, vmid)).entries] == [
        view.result["volid"]
    ]
    assert view.result["volid"].startswith("nas:backup/")


@pytest.fixture
def slow_sim() -> Iterator[SimulatorInfo]:
    """A simulator of its own whose tasks take 30 s (a backup that is still running)."""
    yield from simulator_session(["--task-seconds", "30"])


async def test_a_job_whose_worker_dies_is_marked_failed(
    slow_sim: SimulatorInfo, bk_db: Path
) -> None:
    node = await add_node(USER, node_input(slow_sim, "slow"))
    state = await asyncio.to_thread(slow_sim.admin_call, "GET", "/_sim/state")
    vmid = next(c["vmid"] for c in state["containers"] if c["node"] == "pve1")
    outcome = await actions.back_up(USER, node.id, "pve1", vmid, BackupOptions(storage="local"))
    assert outcome.job_id, outcome
    worker = start_quiet_worker()
    try:
        deadline = time.monotonic() + 20
        while not any("Starting Backup" in line for line in await _lines(outcome.job_id)):
            assert time.monotonic() < deadline and worker.poll() is None
            await asyncio.sleep(0.1)
        horses = descendants(worker.pid)
        assert horses, "the work-horse runs the job"
        bound = HEARTBEAT_SECONDS + 1.5
        await asyncio.sleep(bound + 0.5)
        assert mark_stale_operations(stale_after=bound) == []  # alive: its heartbeat
        worker.send_signal(signal.SIGKILL)
        worker.wait(5)
        assert wait_until_dead(horses, 5) == set()
        killed_at = time.monotonic()
        while not (marked := mark_stale_operations(stale_after=bound)):
            assert time.monotonic() - killed_at < bound + HEARTBEAT_SECONDS + 2
            await asyncio.sleep(0.2)
        assert marked == [outcome.job_id]
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(5)
    assert not alive(worker.pid)
    view = await op_jobs.get_operation(USER, outcome.job_id)
    assert view is not None and view.status == "failed"
    assert view.error.startswith("The worker stopped while running step 1")
    assert view.steps[0].state == "failed"
    entries = await progress.read(outcome.job_id, count=5000)
    assert entries[-1].kind == "status" and entries[-1].fields["status"] == "failed"
