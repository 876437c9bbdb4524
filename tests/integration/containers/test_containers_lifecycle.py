"""Lifecycle actions on containers of our own (95000 range) through the user's node."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from ct_support import USER_A, USER_B, add_node, sim_container, sim_input

from lxc_manager import redis_client
from lxc_manager.containers import bulk_action, delete_container, run_action, task_log
from lxc_manager.containers.lifecycle import MSG_BUSY, MSG_RUNNING, lock_key
from lxc_manager.nodes import NodeView
from lxc_manager.security import audit
from tests.support.simulator import SimulatorInfo


def _status(simulator: SimulatorInfo, vmid: int) -> str | None:
    found = sim_container(simulator, vmid)
    return None if found is None else str(found["status"])


async def test_each_action_follows_its_task(
    simulator: SimulatorInfo, lab: NodeView, own_ct: Callable[..., int]
) -> None:
    vmid = await asyncio.to_thread(own_ct)
    assert _status(simulator, vmid) == "stopped"
    for action, after in (
        ("start", "running"),
        ("reboot", "running"),
        ("shutdown", "stopped"),
        ("start", "running"),
        ("stop", "stopped"),
    ):
        result = await run_action(USER_A, lab.id, "pve1", vmid, action, shutdown_timeout=5)
        assert result.ok, (action, result)
        assert result.upid and result.upid.startswith("UPID:pve1:")
        assert result.task_log and result.task_log[-1] == "TASK OK"
        assert _status(simulator, vmid) == after, action
    assert await task_log(USER_A, lab.id, "pve1", result.upid) == result.task_log
    assert await redis_client.async_client().get(lock_key(USER_A, lab.cluster_key, vmid)) is None

    events = audit.recent(20, user_id=USER_A)
    mine = [e for e in events if e.target == f"ct:lab/{vmid}"]
    assert [e.action for e in reversed(mine)] == [
        "container.start", "container.reboot", "container.shutdown",
        "container.start", "container.stop",
    ]  # fmt: skip
    assert {e.outcome for e in mine} == {"ok"}
    assert all(simulator.token_secret not in e.detail for e in events)


async def test_proxmox_errors_become_short_messages(
    simulator: SimulatorInfo, lab: NodeView, own_ct: Callable[..., int]
) -> None:
    vmid = await asyncio.to_thread(own_ct, start=True)
    result = await run_action(USER_A, lab.id, "pve1", vmid, "start")
    assert (result.ok, result.message, result.upid) == (
        False,
        "The container is already running",
        None,
    )
    await run_action(USER_A, lab.id, "pve1", vmid, "stop")
    result = await run_action(USER_A, lab.id, "pve1", vmid, "shutdown")
    assert (result.ok, result.message) == (False, "The container is not running")
    result = await run_action(USER_A, lab.id, "pve1", 999_999_999, "start")
    assert (result.ok, result.message) == (False, "The container does not exist")
    failed = audit.recent(5, user_id=USER_A)[0]
    assert (failed.action, failed.outcome) == ("container.start", "failed")
    assert failed.detail == "The container does not exist"


async def test_a_failed_task_reports_its_error(
    reset_faults: SimulatorInfo, lab: NodeView, own_ct: Callable[..., int]
) -> None:
    simulator = reset_faults
    vmid = await asyncio.to_thread(own_ct)
    simulator.admin_call(
        "POST", "/_sim/faults", {"fail_tasks": 1, "fail_message": "startup for container failed"}
    )
    result = await run_action(USER_A, lab.id, "pve1", vmid, "start")
    assert not result.ok and result.upid
    assert result.message == "The task failed: startup for container failed"
    assert any("startup for container failed" in line for line in result.task_log)
    assert _status(simulator, vmid) == "stopped"
    assert (await run_action(USER_A, lab.id, "pve1", vmid, "start")).ok


async def test_an_offline_pve_node_is_reported(
    reset_faults: SimulatorInfo, lab: NodeView, own_ct: Callable[..., int]
) -> None:
    vmid = await asyncio.to_thread(own_ct, node="pve2")
    reset_faults.admin_call("POST", "/_sim/faults", {"node": "pve2", "online": False})
    result = await run_action(USER_A, lab.id, "pve2", vmid, "start")
    assert not result.ok and result.message.startswith(
        "PVE node pve2 is not answering (595 No route to host)"
    )


async def test_delete_refuses_a_running_container_unless_told_to_stop_it(
    simulator: SimulatorInfo, lab: NodeView, own_ct: Callable[..., int]
) -> None:
    vmid = await asyncio.to_thread(own_ct, start=True)
    cache = redis_client.async_client()
    await cache.sadd(f"vmids:{USER_A}:{lab.cluster_key}", vmid, 100)

    refused = await delete_container(USER_A, lab.id, "pve1", vmid)
    assert (refused.ok, refused.message) == (False, MSG_RUNNING)
    assert _status(simulator, vmid) == "running"
    assert await cache.exists(f"vmids:{USER_A}:{lab.cluster_key}")

    done = await delete_container(USER_A, lab.id, "pve1", vmid, stop_first=True, purge=True)
    assert done.ok and done.message == "Deleted", done
    assert done.task_log[-1] == "TASK OK" and done.task_log.count("TASK OK") == 2
    assert sim_container(simulator, vmid) is None
    assert not await cache.exists(f"vmids:{USER_A}:{lab.cluster_key}")
    events = [e for e in audit.recent(5, user_id=USER_A) if e.target == f"ct:lab/{vmid}"]
    assert [(e.action, e.outcome) for e in events] == [
        ("container.delete", "ok"),
        ("container.delete", "failed"),
    ]
    assert events[0].detail.startswith("stopped first")

    gone = await delete_container(USER_A, lab.id, "pve1", vmid)
    assert (gone.ok, gone.message) == (False, "The container does not exist")


async def test_delete_of_a_stopped_container(
    simulator: SimulatorInfo, lab: NodeView, own_ct: Callable[..., int]
) -> None:
    vmid = await asyncio.to_thread(own_ct)
    result = await delete_container(USER_A, lab.id, "pve1", vmid, destroy_unreferenced_disks=True)
    assert result.ok and result.upid and sim_container(simulator, vmid) is None


async def test_one_action_at_a_time_per_container(
    simulator: SimulatorInfo, lab: NodeView, own_ct: Callable[..., int]
) -> None:
    vmid = await asyncio.to_thread(own_ct)
    first, second = await asyncio.gather(
        run_action(USER_A, lab.id, "pve1", vmid, "start"),
        run_action(USER_A, lab.id, "pve1", vmid, "start"),
    )
    assert sorted([first.ok, second.ok]) == [False, True]
    assert MSG_BUSY in (first.message, second.message)

    # a lock held by someone else (another replica) is left alone
    key = lock_key(USER_A, lab.cluster_key, vmid)
    await redis_client.async_client().set(key, "someone-else", ex=30)
    try:
        busy = await run_action(USER_A, lab.id, "pve1", vmid, "stop")
        assert (busy.ok, busy.message) == (False, MSG_BUSY)
        assert await redis_client.async_client().get(key) == b"someone-else"
        assert _status(simulator, vmid) == "running"
    finally:
        await redis_client.async_client().delete(key)


async def test_another_users_node_is_not_found(
    simulator: SimulatorInfo, lab: NodeView, own_ct: Callable[..., int]
) -> None:
    vmid = await asyncio.to_thread(own_ct)
    await add_node(USER_B, sim_input(simulator, "bobs"))
    for call in (
        run_action(USER_B, lab.id, "pve1", vmid, "start"),
        delete_container(USER_B, lab.id, "pve1", vmid),
        run_action(USER_A, 10_000, "pve1", vmid, "start"),
    ):
        result = await call
        assert (result.ok, result.message) == (False, "Node not found")
    assert _status(simulator, vmid) == "stopped"
    assert audit.recent(1, user_id=USER_B)[0].outcome == "failed"


@pytest.mark.parametrize(
    ("pve_node", "vmid", "action", "message"),
    [
        ("pve1", 95000, "destroy", "Unknown action"),
        ("pve1", 99, "start", "The container id must be"),
        ("pve1", True, "start", "The container id must be"),
        ("../x", 95000, "start", "Invalid Proxmox node name"),
    ],
)
async def test_bad_input_changes_nothing(
    lab: NodeView, pve_node: str, vmid: int, action: str, message: str
) -> None:
    result = await run_action(USER_A, lab.id, pve_node, vmid, action)
    assert not result.ok and result.message.startswith(message)
    assert audit.recent(1, user_id=USER_A)[0].action == "node.create"


async def test_bulk_action_keeps_the_input_order(
    simulator: SimulatorInfo, lab: NodeView, own_ct: Callable[..., int]
) -> None:
    a, b, c = (
        await asyncio.to_thread(own_ct),
        await asyncio.to_thread(own_ct, node="pve2"),
        await asyncio.to_thread(own_ct, start=True),
    )
    targets = [(lab.id, "pve1", a), (lab.id, "pve2", b), (lab.id, "pve1", c), (lab.id, "pve1", a)]
    results = await bulk_action(USER_A, targets, "start")
    assert [t for t, _ in results] == targets
    assert [r.ok for _, r in results] == [True, True, False, True]
    assert results[2][1].message == "The container is already running"
    assert results[0][1] is results[3][1]
    assert {_status(simulator, v) for v in (a, b, c)} == {"running"}


async def test_task_log_raises_for_bad_input(lab: NodeView) -> None:
    with pytest.raises(ValueError, match="UPID"):
        await task_log(USER_A, lab.id, "pve1", "not-a-upid")
    upid = "UPID:pve1:00001234:00000001:65000000:vzstart:100:root@pam:"
    with pytest.raises(ValueError, match="node"):
        await task_log(USER_A, lab.id, "pve 1", upid)
