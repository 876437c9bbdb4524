"""Clone and convert to template through the app against the simulator: the checks before
anything starts (rules of pve-container's `clone_vm`/`template`, the token's privileges,
the new VMID held), then the operation job on a real RQ worker with the task's log
streamed. Followed source: pve-container src/PVE/API2/LXC.pm."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from conftest import USER
from test_backup_jobs import _lines, _run

from lxc_manager.cloning import jobs
from lxc_manager.cloning.plan import MSG_LINKED_NOT_TEMPLATE, MSG_RUNNING_NEEDS_SNAPSHOT, ClonePlan
from lxc_manager.nodes import NodeView
from lxc_manager.operations import jobs as op_jobs
from lxc_manager.provisioning import vmids
from lxc_manager.security.audit import for_target
from tests.support.simulator import SimulatorInfo


def _ct(simulator: SimulatorInfo, vmid: int) -> dict[str, Any] | None:
    state = simulator.admin_call("GET", "/_sim/state")
    return next((c for c in state["containers"] if c["vmid"] == vmid), None)


def _config(simulator: SimulatorInfo, node: str, vmid: int) -> dict[str, Any]:
    with simulator.client(simulator.root_token_id, simulator.root_token_secret) as api:
        response = api.get(f"/nodes/{node}/lxc/{vmid}/config")
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()["data"]
        return data


def _snapshot(simulator: SimulatorInfo, vmid: int, name: str) -> None:
    with simulator.client(simulator.root_token_id, simulator.root_token_secret) as api:
        response = api.post(f"/nodes/pve1/lxc/{vmid}/snapshot", data={"snapname": name})
        assert response.status_code == 200, response.text
        simulator.wait_task(api, response.json()["data"])


@contextmanager
def only_audit(simulator: SimulatorInfo, path: str, token: str) -> Iterator[None]:
    """`token` holds only PVEAuditor on `path` meanwhile (a more specific path wins)."""
    acl = {"path": path, "roles": "PVEAuditor", "tokens": token}
    with simulator.client(simulator.root_token_id, simulator.root_token_secret) as api:
        assert api.put("/access/acl", data=acl).status_code == 200
        try:
            yield
        finally:
            assert api.put("/access/acl", data={**acl, "delete": 1}).status_code == 200


async def _submitted(node: NodeView, vmid: int, plan: ClonePlan) -> op_jobs.OperationView:
    result = await jobs.submit_clone(USER, node.id, vmid, plan)
    assert result.job_id is not None, result.errors
    return await _run(result.job_id)


async def test_full_clone_of_a_stopped_container_to_another_pve_node(
    simulator: SimulatorInfo,
    node: NodeView,
    own_ct: Callable[..., Awaitable[int]],
    new_vmid: Callable[[], int],
) -> None:
    vmid = await own_ct(start=False)
    newid = await asyncio.to_thread(new_vmid)
    # Another PVE node needs shared storage: said before anything starts.
    local = await jobs.submit_clone(
        USER, node.id, vmid, ClonePlan(newid=newid, hostname="copy", full=True, target="pve2")
    )
    assert local.job_id is None and "needs shared storage" in local.errors["storage"]
    plan = ClonePlan(newid=newid, hostname="copy", full=True, target="pve2", storage="nas")
    result = await jobs.submit_clone(USER, node.id, vmid, plan)
    assert result.job_id is not None, result.errors
    # The new VMID is held for the job: a second clone to it is refused at once.
    again = await jobs.submit_clone(USER, node.id, vmid, plan)
    assert again.job_id is None and again.errors["newid"].startswith(f"VMID {newid} ")
    assert await vmids.holder(USER, node.cluster_key, newid) == result.job_id
    view = await _run(result.job_id)
    assert view.status == "succeeded", view
    assert (view.result["vmid"], view.result["pve_node"]) == (newid, "pve2")
    assert view.steps[0].message == f"CT {newid} created on pve2 (full clone of CT {vmid})"
    copy = await asyncio.to_thread(_ct, simulator, newid)
    assert copy is not None and copy["node"] == "pve2"
    config = await asyncio.to_thread(_config, simulator, "pve2", newid)
    assert config["hostname"] == "copy" and config["rootfs"].startswith(f"nas:vm-{newid}-")
    lines = await _lines(result.job_id)
    assert f"creating a clone of container {vmid} with ID {newid}" in lines
    assert await vmids.holder(USER, node.cluster_key, newid) is None
    events = await asyncio.to_thread(for_target, f"ct:lab/{newid}", USER)
    assert [(e.action, e.outcome) for e in events] == [("container.clone", "ok")]
    queued = await asyncio.to_thread(for_target, f"ct:lab/{vmid}", USER)
    assert ("container.clone", "ok") in [(e.action, e.outcome) for e in queued]


async def test_template_then_linked_clone(
    simulator: SimulatorInfo,
    node: NodeView,
    own_ct: Callable[..., Awaitable[int]],
    new_vmid: Callable[[], int],
) -> None:
    vmid = await own_ct(start=False)
    newid = await asyncio.to_thread(new_vmid)
    linked = ClonePlan(newid=newid, hostname="linked", full=False)
    refused = await jobs.submit_clone(USER, node.id, vmid, linked)
    assert refused.errors == {"full": MSG_LINKED_NOT_TEMPLATE}
    converted = await jobs.submit_template(USER, node.id, vmid)
    assert converted.job_id is not None, converted.errors
    view = await _run(converted.job_id)
    assert view.status == "succeeded", view
    assert view.steps[0].message == f"CT {vmid} is now a template"
    config = await asyncio.to_thread(_config, simulator, "pve1", vmid)
    assert config["template"] == 1
    lines = await _lines(view.id)
    assert lines[0] == f"converting CT {vmid} on pve1 to a template", lines
    assert lines[1].startswith("Proxmox task UPID:pve1:") and ":vztemplate:" in lines[1]
    twice = await jobs.submit_template(USER, node.id, vmid)
    assert twice.errors == {"form": "The container is already a template"}
    view = await _submitted(node, vmid, linked)
    assert view.status == "succeeded", view
    config = await asyncio.to_thread(_config, simulator, "pve1", newid)
    assert f"base-{vmid}-disk-0/vm-{newid}-disk-0" in config["rootfs"]
    assert "template" not in config
    events = await asyncio.to_thread(for_target, f"ct:lab/{vmid}", USER)
    assert ("container.template", "ok") in [(e.action, e.outcome) for e in events]


async def test_running_container_clones_only_from_a_snapshot(
    simulator: SimulatorInfo,
    node: NodeView,
    own_ct: Callable[..., Awaitable[int]],
    new_vmid: Callable[[], int],
) -> None:
    vmid = await own_ct(start=True)
    newid = await asyncio.to_thread(new_vmid)
    now = ClonePlan(newid=newid, hostname="hot", full=True)
    refused = await jobs.submit_clone(USER, node.id, vmid, now)
    assert refused.errors == {"snapname": MSG_RUNNING_NEEDS_SNAPSHOT}
    assert await op_jobs.operations_for(USER) == []
    assert await asyncio.to_thread(_ct, simulator, newid) is None
    await asyncio.to_thread(_snapshot, simulator, vmid, "base")
    view = await _submitted(node, vmid, ClonePlan(newid=newid, full=True, snapname="base"))
    assert view.status == "succeeded", view
    copy = await asyncio.to_thread(_ct, simulator, newid)
    assert copy is not None and copy["status"] == "stopped"
    # The template conversion is refused while the container runs.
    running = await jobs.submit_template(USER, node.id, vmid)
    assert running.errors == {
        "form": "The container is running: stop it before converting it to a template"
    }


async def test_a_token_without_vm_clone_is_refused_before_anything_starts(
    simulator: SimulatorInfo,
    node: NodeView,
    own_ct: Callable[..., Awaitable[int]],
    new_vmid: Callable[[], int],
) -> None:
    vmid = await own_ct(start=False)
    newid = await asyncio.to_thread(new_vmid)
    plan = ClonePlan(newid=newid, hostname="nope", full=True)
    with only_audit(simulator, f"/vms/{vmid}", simulator.token_id):
        refused = await jobs.submit_clone(USER, node.id, vmid, plan)
        template = await jobs.submit_template(USER, node.id, vmid)
    assert refused.errors == {
        "form": f"The node's API token lacks the Proxmox privilege VM.Clone on /vms/{vmid}: "
        "nothing was started"
    }
    assert "VM.Allocate on /vms/" in template.errors["form"]
    with only_audit(simulator, "/storage/local-lvm", simulator.token_id):
        no_space = await jobs.submit_clone(USER, node.id, vmid, plan)
    assert "Datastore.AllocateSpace on /storage/local-lvm" in no_space.errors["form"]
    assert await op_jobs.operations_for(USER) == []
    assert await vmids.holder(USER, node.cluster_key, newid) is None
    assert await asyncio.to_thread(_ct, simulator, newid) is None
    events = await asyncio.to_thread(for_target, f"ct:lab/{vmid}", USER)
    assert {(e.action, e.outcome) for e in events} == {
        ("container.clone", "failed"),
        ("container.template", "failed"),
    }


async def test_another_users_node_is_not_found(
    node: NodeView, own_ct: Callable[..., Awaitable[int]], new_vmid: Callable[[], int]
) -> None:
    vmid = await own_ct(start=False)
    plan = ClonePlan(newid=await asyncio.to_thread(new_vmid), full=True)
    assert (await jobs.submit_clone("alice@pve@1", node.id, vmid, plan)).errors == {
        "form": "Node not found"
    }
    assert (await jobs.submit_template("alice@pve@1", node.id, vmid)).errors == {
        "form": "Node not found"
    }
