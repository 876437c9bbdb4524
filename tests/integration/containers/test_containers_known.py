"""What the listing remembers between refreshes (containers/known.py): container addresses
(written when the app learns them, shown in the rows) and the last listing of each cluster
(shown, status unknown, when its endpoints are unreachable). Our own containers are in the
98000 range, created here and destroyed at the end."""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import itertools
import json
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from ct_support import USER_A, USER_B, add_node, ready_input, remove_container, sim_input

from lxc_manager import redis_client
from lxc_manager.containers import (
    ContainerRow,
    cluster_key_of,
    get_overview,
    list_containers,
    remember_ip,
)
from lxc_manager.containers.known import IPS_TTL, KNOWN_TTL, ips_key, known_key
from lxc_manager.containers.listing import address_learning_paused
from lxc_manager.nodes import NodeInput, NodeView
from tests.support.simulator import SimulatorInfo

_VMIDS = itertools.count(98000 + (os.getpid() % 90) * 10)
PVE = "pve1"


@pytest.fixture
def new_ct(simulator: SimulatorInfo) -> Iterator[Callable[..., int]]:
    """`new_ct(start=True) -> vmid`: a container of our own on pve1, destroyed afterwards."""
    made: list[int] = []

    def make(start: bool = True) -> int:
        vmid = next(_VMIDS)
        assert 98000 <= vmid <= 98999
        remove_container(simulator, PVE, vmid)
        with simulator.client() as api:
            status = simulator.create_container(api, PVE, vmid, start=int(start))
            assert status["exitstatus"] == "OK", status
        made.append(vmid)
        return vmid

    yield make
    simulator.reset()
    for vmid in made:
        remove_container(simulator, PVE, vmid)


def _with_ssh(data: NodeInput, simulator: SimulatorInfo) -> NodeInput:
    assert simulator.ssh_port and simulator.ssh_host_key
    return dataclasses.replace(
        data,
        ssh_port=simulator.ssh_port,
        ssh_secret=simulator.root_password,
        ssh_host_key=simulator.ssh_host_key,
    )


def _row(rows: tuple[ContainerRow, ...], vmid: int) -> ContainerRow:
    return next(r for r in rows if r.vmid == vmid)


def _api_ipv4(simulator: SimulatorInfo, vmid: int) -> str:
    """The container's address as Proxmox's /interfaces tells it."""
    with simulator.client() as api:
        interfaces = api.get(f"/nodes/{PVE}/lxc/{vmid}/interfaces").json()["data"]
    found = [i["inet"].split("/")[0] for i in interfaces if i["name"] != "lo" and i.get("inet")]
    assert found, interfaces
    return str(found[0])


def _stop(simulator: SimulatorInfo, vmid: int) -> None:
    with simulator.client() as api:
        response = api.post(f"/nodes/{PVE}/lxc/{vmid}/status/stop")
        assert response.status_code == 200, response.text
        assert simulator.wait_task(api, response.json()["data"])["exitstatus"] == "OK"


async def test_an_address_the_detail_page_learnt_shows_in_the_listing(
    simulator: SimulatorInfo, lab: NodeView, new_ct: Callable[..., int]
) -> None:
    vmid = new_ct(start=True)
    assert _row((await list_containers(USER_A, learn_ips=False)).containers, vmid).ip == ""

    if simulator.has_interfaces_route:
        overview = await get_overview(USER_A, lab.id, PVE, vmid)
        assert overview.ip == _api_ipv4(simulator, vmid)
    else:  # PVE 8.0: no /interfaces (501); the detail page asks the container over SSH
        viassh = await add_node(USER_A, _with_ssh(sim_input(simulator, "lab-ssh"), simulator))
        assert (await get_overview(USER_A, lab.id, PVE, vmid)).ip is None
        overview = await get_overview(USER_A, viassh.id, PVE, vmid)
        assert overview.ip is not None and ipaddress.IPv4Address(overview.ip).is_private

    key = ips_key(USER_A, cluster_key_of(lab))
    redis = redis_client.sync_client()
    assert redis.hget(key, str(vmid)) == overview.ip.encode()
    assert 0 < int(redis.ttl(key)) <= IPS_TTL
    rows = (await list_containers(USER_A, learn_ips=False)).containers
    assert _row(rows, vmid).ip == overview.ip
    assert all(r.ip == "" for r in rows if r.vmid != vmid)

    # A stopped container has no address: the listing drops it from the cache.
    _stop(simulator, vmid)
    assert _row((await list_containers(USER_A, learn_ips=False)).containers, vmid).ip == ""
    assert redis.hget(key, str(vmid)) is None


async def test_the_listing_learns_unknown_addresses_in_the_background(
    simulator: SimulatorInfo, lab: NodeView, new_ct: Callable[..., int]
) -> None:
    vmid = new_ct(start=True)
    key = ips_key(USER_A, cluster_key_of(lab))
    redis = redis_client.sync_client()
    if not simulator.has_interfaces_route:
        # PVE 8.0 answers /interfaces with 501: the listing stops asking that cluster.
        deadline = time.monotonic() + 20
        while not address_learning_paused(USER_A, cluster_key_of(lab)):
            assert time.monotonic() < deadline, "the listing kept asking /interfaces"
            await list_containers(USER_A)
            await asyncio.sleep(0.3)
        await list_containers(USER_A)
        assert redis.hget(key, str(vmid)) is None
        return
    expected = _api_ipv4(simulator, vmid)
    deadline = time.monotonic() + 20
    # Each listing looks up a few running containers; ours comes within a few listings.
    while redis.hget(key, str(vmid)) is None:
        assert time.monotonic() < deadline, "the address was never learnt"
        await list_containers(USER_A)
        await asyncio.sleep(0.3)
    assert redis.hget(key, str(vmid)) == expected.encode()
    assert _row((await list_containers(USER_A)).containers, vmid).ip == expected


async def test_remember_ip_takes_only_ipv4_addresses_of_valid_vmids(lab: NodeView) -> None:
    cluster = cluster_key_of(lab)
    key = ips_key(USER_A, cluster)
    assert await remember_ip(USER_A, cluster, 98999, "fe80::1") is False
    assert await remember_ip(USER_A, cluster, 98999, "not an address") is False
    assert await remember_ip(USER_A, cluster, 42, "10.0.0.7") is False
    assert redis_client.sync_client().hgetall(key) == {}
    assert await remember_ip(USER_A, cluster, 98999, " 10.0.0.7 ") is True
    assert redis_client.sync_client().hgetall(key) == {b"98999": b"10.0.0.7"}


async def test_addresses_are_per_user(
    simulator: SimulatorInfo, lab: NodeView, new_ct: Callable[..., int]
) -> None:
    vmid = new_ct(start=True)
    theirs = await add_node(USER_B, sim_input(simulator, "same-cluster"))
    assert theirs.cluster_key == lab.cluster_key
    assert await remember_ip(USER_A, cluster_key_of(lab), vmid, "10.9.8.7")
    assert _row((await list_containers(USER_A, learn_ips=False)).containers, vmid).ip == "10.9.8.7"
    assert _row((await list_containers(USER_B, learn_ips=False)).containers, vmid).ip == ""


async def test_an_unreachable_endpoint_shows_its_last_known_containers(
    lab: NodeView, small_sim: Callable[..., Any]
) -> None:
    sim, secret = await asyncio.to_thread(small_sim, nodes=1, containers=4)
    dead = await add_node(USER_A, ready_input(sim.ready, secret, "pve-far"))
    before = await list_containers(USER_A, learn_ips=False)
    was = [r for r in before.containers if r.node_id == dead.id]
    assert len(was) == 4 and not any(r.last_known for r in before.containers)
    running = next(r for r in was if r.status == "running")
    assert await remember_ip(USER_A, cluster_key_of(dead), running.vmid, "10.20.30.40")

    # What is kept: name, PVE node, tags and the endpoint, never a status.
    stored = redis_client.sync_client().hgetall(known_key(USER_A, cluster_key_of(dead)))
    assert {int(k) for k in stored} == {r.vmid for r in was}
    first = json.loads(stored[str(was[0].vmid).encode()])
    assert first == {
        "name": was[0].name,
        "node": was[0].pve_node,
        "tags": list(was[0].tags),
        "via": dead.id,
    }
    ttl = int(redis_client.sync_client().ttl(known_key(USER_A, cluster_key_of(dead))))
    assert KNOWN_TTL - 60 < ttl <= KNOWN_TTL

    await asyncio.to_thread(sim.stop)
    listing = await list_containers(USER_A, timeout=2.0)
    assert [(p.node_id, p.message) for p in listing.problems] == [
        (dead.id, "pve-far unreachable — retrying")
    ]
    last = [r for r in listing.containers if r.last_known]
    assert [(r.vmid, r.name, r.pve_node, r.tags) for r in last] == [
        (r.vmid, r.name, r.pve_node, r.tags) for r in was
    ]
    assert all(r.status == "unknown" and r.node_id == dead.id for r in last)
    assert all(r.key == f"{dead.id}:{r.vmid}" and r.node_name == "pve-far" for r in last)
    assert all((r.cpu, r.mem, r.maxmem, r.uptime) == (0.0, 0, 0, 0) for r in last)
    assert _row(tuple(last), running.vmid).ip == "10.20.30.40"
    # The reachable endpoint's containers are live as ever.
    live = [r for r in listing.containers if not r.last_known]
    assert live and {r.node_id for r in live} == {lab.id}
    assert {r.vmid for r in live} == {r.vmid for r in before.containers if r.node_id == lab.id}


async def test_a_renamed_container_is_remembered_under_its_new_name(
    simulator: SimulatorInfo, lab: NodeView, new_ct: Callable[..., int]
) -> None:
    vmid = new_ct(start=False)
    await list_containers(USER_A, learn_ips=False)
    key = known_key(USER_A, cluster_key_of(lab))
    assert json.loads(redis_client.sync_client().hget(key, str(vmid)))["name"] == f"test-{vmid}"
    with simulator.client() as api:
        response = api.put(f"/nodes/{PVE}/lxc/{vmid}/config", data={"hostname": "renamed-ct"})
        assert response.status_code == 200, response.text
    await list_containers(USER_A, learn_ips=False)
    assert json.loads(redis_client.sync_client().hget(key, str(vmid)))["name"] == "renamed-ct"


async def test_another_users_last_known_containers_stay_theirs(
    lab: NodeView, small_sim: Callable[..., Any]
) -> None:
    sim, secret = await asyncio.to_thread(small_sim, nodes=1, containers=2)
    await add_node(USER_A, ready_input(sim.ready, secret, "mine"))
    await list_containers(USER_A, learn_ips=False)
    theirs = await add_node(USER_B, ready_input(sim.ready, secret, "theirs"))
    await asyncio.to_thread(sim.stop)
    listing = await list_containers(USER_B, timeout=2.0)
    assert [p.node_id for p in listing.problems] == [theirs.id]
    assert listing.containers == ()  # B never listed it: nothing is known for B
