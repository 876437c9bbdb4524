"""Listing containers across the user's nodes: fan-out, one listing per cluster, dead and
slow nodes reported without delaying the others."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from ct_support import (
    USER_A,
    USER_B,
    add_node,
    admin_post,
    ready_input,
    sim_input,
    sim_state,
    spoil_token_secret,
)

from lxc_manager.containers import list_containers
from lxc_manager.nodes import NodeSecretError, NodeView
from tests.support.simulator import SimulatorInfo


def _expected(simulator: SimulatorInfo) -> set[tuple[str, int]]:
    return {(c["node"], c["vmid"]) for c in sim_state(simulator)["containers"]}


async def test_lists_every_container_of_the_cluster_and_no_vm(
    simulator: SimulatorInfo, lab: NodeView
) -> None:
    listing = await list_containers(USER_A)
    assert listing.problems == ()
    assert {(r.pve_node, r.vmid) for r in listing.containers} == _expected(simulator)
    vm_ids = {v["vmid"] for v in sim_state(simulator)["vms"]}
    assert vm_ids and not vm_ids & {r.vmid for r in listing.containers}
    assert [r.vmid for r in listing.containers] == sorted(r.vmid for r in listing.containers)
    row = listing.containers[0]
    assert row.key == f"{lab.id}:{row.vmid}" and row.node_id == lab.id
    assert row.node_name == "lab" and row.maxmem > 0 and row.maxcpu >= 1
    running = [r for r in listing.containers if r.status == "running"]
    assert running and all(r.uptime > 0 and 0 <= r.cpu <= 1 for r in running)
    assert all(r.tags == tuple(sorted(r.tags)) for r in listing.containers)
    assert listing.duration_ms > 0


async def test_another_user_sees_nothing(lab: NodeView) -> None:
    listing = await list_containers(USER_B)
    assert listing.containers == () and listing.problems == ()


async def test_two_nodes_of_one_cluster_list_it_once(
    simulator: SimulatorInfo, lab: NodeView
) -> None:
    second = await add_node(USER_A, sim_input(simulator, "lab-again"))
    assert second.cluster_key == lab.cluster_key and not second.is_default
    listing = await list_containers(USER_A)
    keys = [r.key for r in listing.containers]
    assert len(keys) == len(set(keys)) == len(_expected(simulator))
    assert {r.node_id for r in listing.containers} == {lab.id}  # the default node


async def test_a_dead_node_is_a_problem_and_costs_no_time(
    simulator: SimulatorInfo, lab: NodeView, small_sim: Callable[..., Any]
) -> None:
    sim, secret = await asyncio.to_thread(small_sim)
    dead = await add_node(USER_A, ready_input(sim.ready, secret, "pve-dead"))
    before = await list_containers(USER_A)
    assert {r.node_name for r in before.containers} == {"lab", "pve-dead"}
    await asyncio.to_thread(sim.stop)

    started = time.monotonic()
    listing = await list_containers(USER_A, timeout=2.0)
    elapsed = time.monotonic() - started
    assert elapsed < 2.0 + 2
    live = [r for r in listing.containers if not r.last_known]
    assert {(r.pve_node, r.vmid) for r in live} == _expected(simulator)
    assert [(p.node_id, p.node_name) for p in listing.problems] == [(dead.id, "pve-dead")]
    assert listing.problems[0].message == "pve-dead unreachable — retrying"
    # ... and its containers as last listed, status unknown (test_containers_known.py)
    last = [r for r in listing.containers if r.last_known]
    was = [r for r in before.containers if r.node_name == "pve-dead"]
    assert [(r.vmid, r.name, r.pve_node, r.tags) for r in last] == [
        (r.vmid, r.name, r.pve_node, r.tags) for r in was
    ]
    assert {(r.status, r.node_id) for r in last} == {("unknown", dead.id)}


async def test_a_hanging_node_costs_only_its_timeout(
    simulator: SimulatorInfo, lab: NodeView, small_sim: Callable[..., Any]
) -> None:
    sim, secret = await asyncio.to_thread(small_sim)
    await add_node(USER_A, ready_input(sim.ready, secret, "slow"))
    admin_post(sim.ready, {"mode": "hang"})
    timeout = 1.5
    started = time.monotonic()
    listing = await list_containers(USER_A, timeout=timeout)
    elapsed = time.monotonic() - started
    assert timeout - 0.1 <= elapsed < timeout + 2
    assert {r.node_name for r in listing.containers} == {"lab"}
    assert len(listing.containers) == len(_expected(simulator))
    assert [p.node_name for p in listing.problems] == ["slow"]
    assert "did not answer within 1.5 s" in listing.problems[0].message


async def test_an_offline_pve_node_still_lists_with_unknown_status(
    reset_faults: SimulatorInfo, lab: NodeView
) -> None:
    simulator = reset_faults
    simulator.admin_call("POST", "/_sim/faults", {"node": "pve2", "online": False})
    listing = await list_containers(USER_A)
    assert listing.problems == ()
    assert {(r.pve_node, r.vmid) for r in listing.containers} == _expected(simulator)
    on_pve2 = [r for r in listing.containers if r.pve_node == "pve2"]
    assert on_pve2 and {r.status for r in on_pve2} == {"unknown"}


async def test_an_unreadable_secret_is_a_problem(simulator: SimulatorInfo, lab: NodeView) -> None:
    spoil_token_secret(lab.id, donor_id=(await add_node(USER_B, sim_input(simulator))).id)
    listing = await list_containers(USER_A)
    assert listing.containers == ()
    assert [(p.node_id, p.message) for p in listing.problems] == [
        (lab.id, NodeSecretError.user_message)
    ]


async def test_the_next_node_of_a_cluster_is_tried_when_the_first_fails(
    simulator: SimulatorInfo, lab: NodeView
) -> None:
    second = await add_node(USER_A, sim_input(simulator, "lab-again"))
    spoil_token_secret(lab.id, donor_id=second.id)
    listing = await list_containers(USER_A)
    assert listing.problems == ()
    assert {r.node_id for r in listing.containers} == {second.id}
    assert len(listing.containers) == len(_expected(simulator))


async def test_two_simulators_with_the_same_cluster_fall_back_when_one_dies(
    ct_db: Any, small_sim: Callable[..., Any]
) -> None:
    (one, secret_one), (two, secret_two) = (
        await asyncio.to_thread(small_sim, nodes=2),
        await asyncio.to_thread(small_sim, nodes=2),
    )
    first = await add_node(USER_A, ready_input(one.ready, secret_one, "a-first"))
    second = await add_node(USER_A, ready_input(two.ready, secret_two, "b-second"))
    assert first.cluster_key == second.cluster_key and first.is_default
    assert {r.node_id for r in (await list_containers(USER_A)).containers} == {first.id}
    await asyncio.to_thread(one.stop)
    listing = await list_containers(USER_A, timeout=3.0)
    assert listing.problems == () and listing.containers
    assert {r.node_id for r in listing.containers} == {second.id}
    assert {r.node_name for r in listing.containers} == {"b-second"}
