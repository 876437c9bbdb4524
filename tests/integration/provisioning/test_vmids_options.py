"""The VMID cache and check against the simulator (VMs count, per cluster, invalidation),
and the wizard's options of a node."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from prov_support import DEBIAN, USER_A, USER_B

from lxc_manager import redis_client
from lxc_manager.nodes import NodeView
from lxc_manager.provisioning import options, vmids
from lxc_manager.provisioning.vmids import VmidCheck
from tests.support.simulator import SimulatorInfo


def _vm_not_on(simulator: SimulatorInfo, node: str) -> dict[str, object]:
    vms = simulator.admin_call("GET", "/_sim/state")["vms"]
    found = [vm for vm in vms if vm["node"] != node]
    assert found, f"the seed has no VM outside {node}: {vms}"
    return dict(found[0])


async def test_a_vm_on_another_node_is_taken(simulator: SimulatorInfo, sshnode: NodeView) -> None:
    vm = _vm_not_on(simulator, "pve1")  # the node the endpoint (and SSH) is
    await vmids.invalidate(USER_A, sshnode.cluster_key)
    check = await vmids.check_vmid(USER_A, sshnode.id, str(vm["vmid"]))
    assert check == VmidCheck(
        "taken", f"VMID {vm['vmid']} is taken (VM {vm['name']} on {vm['node']})"
    )
    ttl = await redis_client.async_client().ttl(vmids.cache_key(USER_A, sshnode.cluster_key))
    assert 0 < ttl <= vmids.CACHE_TTL_SECONDS


async def test_check_answers_from_the_cache_until_it_is_invalidated(
    simulator: SimulatorInfo, sshnode: NodeView, new_vmid: Callable[[], int]
) -> None:
    vmid = new_vmid()
    await vmids.refresh_cache(USER_A, sshnode.id)
    assert await vmids.check_vmid(USER_A, sshnode.id, f" {vmid} ") == VmidCheck(
        "free", f"VMID {vmid} is free"
    )
    with simulator.client() as api:
        status = simulator.create_container(api, "pve3", vmid, hostname="sneaky")
    assert status["exitstatus"] == "OK"
    cached = await vmids.check_vmid(USER_A, sshnode.id, str(vmid))
    assert cached.status == "free"  # the cache has not seen it yet
    await vmids.invalidate(USER_A, sshnode.cluster_key)
    assert await vmids.check_vmid(USER_A, sshnode.id, str(vmid)) == VmidCheck(
        "taken", f"VMID {vmid} is taken (container sneaky on pve3)"
    )


async def test_bad_input_and_other_users(sshnode: NodeView) -> None:
    for text in ("", "abc", "99", "1000000000", "-105", "10 5", "\uff11\uff10\uff15"):
        check = await vmids.check_vmid(USER_A, sshnode.id, text)
        assert check == VmidCheck("invalid", "Enter a whole number between 100 and 999999999")
    assert (await vmids.check_vmid(USER_B, sshnode.id, "105")).message == "Node not found"


async def test_unreachable_node_gives_unknown(
    reset_faults: SimulatorInfo, sshnode: NodeView
) -> None:
    await vmids.invalidate(USER_A, sshnode.cluster_key)
    reset_faults.admin_call("POST", "/_sim/faults", {"mode": "refuse"})
    url = urlsplit(reset_faults.api)
    deadline = time.monotonic() + 3
    while True:  # the simulator closes its listener shortly after the fault is set
        try:
            socket.create_connection((url.hostname, url.port), timeout=1).close()
        except ConnectionRefusedError:
            break
        assert time.monotonic() < deadline, "the listener was never closed"
        await asyncio.sleep(0.05)
    check = await vmids.check_vmid(USER_A, sshnode.id, "12345")
    assert check.status == "unknown"
    assert check.message.startswith("Could not check VMID 12345 now: Unable to reach Proxmox at")
    result = await options.node_options(USER_A, sshnode.id)
    assert result.error.startswith("Unable to reach Proxmox at") and result.pve_nodes == ()


VNET_LABEL = "vnet1 (vnet: Lab network)"  # the simulator's seeded SDN vnet


async def test_node_options(reset_faults: SimulatorInfo, sshnode: NodeView) -> None:
    result = await options.node_options(USER_A, sshnode.id)
    assert (result.error, result.errors, result.has_ssh) == ("", {}, True)
    assert (result.pve_nodes, result.offline) == (("pve1", "pve2", "pve3"), ())
    for node in result.pve_nodes:
        volids = [t.volid for t in result.os_templates[node]]
        assert DEBIAN in volids and len(volids) == 3, volids
        assert [s.storage for s in result.rootfs_storages[node]] == [
            "local-lvm",
            "nas",
        ]  # the simulator seeds a shared `nas` too
        assert [b.label for b in result.bridges[node]] == ["vmbr0", VNET_LABEL]
    storage = result.rootfs_storages["pve1"][0]
    assert storage.avail and storage.free_gb and "GB free" in storage.label
    debian = next(t for t in result.os_templates["pve1"] if t.volid == DEBIAN)
    assert debian.name == "debian-12-standard_12.7-1_amd64.tar.zst" and debian.size > 0

    reset_faults.admin_call("POST", "/_sim/faults", {"node": "pve2", "online": False})
    partial = await options.node_options(USER_A, sshnode.id)
    assert (partial.pve_nodes, partial.offline) == (("pve1", "pve3", "pve2"), ("pve2",))
    assert partial.errors == {"pve2": options.MSG_OFFLINE} and "pve2" not in partial.bridges
    assert [b.iface for b in partial.bridges["pve3"]] == ["vmbr0", "vnet1"]

    assert (await options.node_options(USER_B, sshnode.id)).error == "Node not found"


async def test_concurrent_checks_each_get_their_own_answer(
    simulator: SimulatorInfo,
    sshnode: NodeView,
    new_vmid: Callable[[], int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Checks made at once share one Redis round trip: the answers must not mix up."""
    state = simulator.admin_call("GET", "/_sim/state")
    taken = {c["vmid"]: f"container {c['name']} on {c['node']}" for c in state["containers"]}
    taken |= {vm["vmid"]: f"VM {vm['name']} on {vm['node']}" for vm in state["vms"]}
    held = new_vmid()
    assert await vmids.reserve(USER_A, sshnode.cluster_key, held, "job-x", 30)
    await vmids.invalidate(USER_A, sshnode.cluster_key)
    refreshes = 0
    refresh = vmids.refresh_cache

    async def counted(user_id: str, node_id: int) -> None:
        nonlocal refreshes
        refreshes += 1
        await refresh(user_id, node_id)

    monkeypatch.setattr(vmids, "refresh_cache", counted)
    asked = [*sorted(taken), held, *range(98000, 98040), 42]
    answers = await asyncio.gather(*(vmids.check_vmid(USER_A, sshnode.id, str(v)) for v in asked))
    assert refreshes == 1  # the checks that found no cache shared one refresh
    for vmid, check in zip(asked, answers, strict=True):
        if vmid in taken:
            assert check == VmidCheck("taken", f"VMID {vmid} is taken ({taken[vmid]})")
        elif vmid == held:
            assert check.status == "taken" and "being created" in check.message
        elif vmid == 42:
            assert check.status == "invalid"
        else:
            assert check == VmidCheck("free", f"VMID {vmid} is free")
    await vmids.release(USER_A, sshnode.cluster_key, held, "job-x")
    assert await vmids.holder(USER_A, sshnode.cluster_key, held) is None
