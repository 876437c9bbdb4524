"""The node service against the simulator (real HTTPS and SSH), a real SQLite and Redis."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import time
from pathlib import Path

import httpx
import pytest
from node_support import USER_A, USER_B, add_node, host_port, sim_input

from lxc_manager.embedded_redis import free_port
from lxc_manager.nodes import (
    CheckResult,
    NodeNotFound,
    NodeView,
    Probe,
    check_node,
    client_for,
    create_node,
    delete_node,
    get_node,
    list_nodes,
    make_default,
    probe_nodes,
    ssh_target_for,
    update_node,
)
from lxc_manager.proxmox import CertificateMismatch
from lxc_manager.security import audit
from lxc_manager.ssh import SshPool
from tests.support.simulator import SimulatorInfo

pytestmark = pytest.mark.usefixtures("nodes_db")


async def test_first_contact_confirms_both_fingerprints_then_saves(
    simulator: SimulatorInfo,
) -> None:
    data = sim_input(simulator, ssh=True, tls_fingerprint=None, ssh_host_key=None)
    first = await create_node(USER_A, data)
    assert isinstance(first, CheckResult) and not first.ok
    assert first.needs_tls_confirmation and first.tls_fingerprint == simulator.tls_sha256
    assert first.needs_ssh_confirmation and first.ssh_host_key == simulator.ssh_host_key
    assert first.field_errors == {} and first.error == ""
    assert await list_nodes(USER_A) == []

    wrong = await create_node(USER_A, dataclasses.replace(data, tls_fingerprint="AB" * 32))
    assert isinstance(wrong, CheckResult) and wrong.needs_tls_confirmation
    assert await list_nodes(USER_A) == []

    confirmed = dataclasses.replace(
        data, tls_fingerprint=first.tls_fingerprint, ssh_host_key=first.ssh_host_key
    )
    check = await check_node(USER_A, confirmed)
    assert check.ok and check.version and await list_nodes(USER_A) == []  # a check saves nothing

    node = await create_node(USER_A, confirmed)
    assert isinstance(node, NodeView)
    assert node.is_default and node.has_ssh and node.ssh_user == "root"
    assert node.tls_fingerprint == simulator.tls_sha256
    assert node.ssh_host_key == simulator.ssh_host_key
    assert node.cluster_name == simulator.cluster
    assert node.pve_nodes == sorted(simulator.nodes)
    assert node.cluster_key == f"cluster:{simulator.cluster}:{','.join(sorted(simulator.nodes))}"
    assert await list_nodes(USER_A) == [node] and await get_node(USER_A, node.id) == node
    assert simulator.token_secret not in repr(node)

    [event] = [e for e in audit.recent() if e.action == "node.create"]
    assert (event.user_id, event.target, event.outcome) == (USER_A, "node:lab", "ok")
    assert simulator.token_secret not in event.detail
    assert simulator.root_password not in event.detail

    async with client_for(USER_A, node.id) as pve:
        assert (await pve.version()).version == check.version
    target = ssh_target_for(USER_A, node.id)
    assert target is not None and target.host_key_fingerprint == simulator.ssh_host_key
    async with SshPool() as pool:
        assert (await pool.run(target, ["pct", "list"])).ok


async def test_wrong_token_secret(simulator: SimulatorInfo) -> None:
    result = await create_node(USER_A, sim_input(simulator, token_secret="not-the-secret"))
    assert isinstance(result, CheckResult)
    assert result.field_errors == {"token_secret": "The token was refused"}
    assert await list_nodes(USER_A) == []
    [event] = audit.recent()
    assert event.action == "node.create" and event.outcome == "failed"
    assert "not-the-secret" not in event.detail


async def test_unreachable_host(simulator: SimulatorInfo) -> None:
    port = free_port()
    started = time.monotonic()
    result = await create_node(USER_A, sim_input(simulator, port=port))
    assert isinstance(result, CheckResult)
    assert result.field_errors == {"host": f"Unable to reach Proxmox at 127.0.0.1:{port}"}
    assert time.monotonic() - started < 5
    assert await list_nodes(USER_A) == []


async def test_bad_input_is_refused_before_any_connection(simulator: SimulatorInfo) -> None:
    result = await create_node(
        USER_A, sim_input(simulator, name="", token_id="root", port=0, token_secret="")
    )
    assert isinstance(result, CheckResult) and not result.ok
    assert set(result.field_errors) == {"name", "token_id", "port", "token_secret"}
    assert result.tls_fingerprint == ""  # nothing was contacted
    assert audit.recent() == []


async def test_token_without_privileges(simulator: SimulatorInfo) -> None:
    result = await create_node(
        USER_A,
        sim_input(
            simulator,
            token_id=simulator.auditor_token_id,
            token_secret=simulator.auditor_token_secret,
        ),
    )
    assert isinstance(result, CheckResult) and not result.ok
    assert result.missing_privileges == [
        "Sys.Audit",
        "VM.Allocate",
        "VM.Config.Disk",
        "VM.Config.CPU",
        "VM.Config.Memory",
        "VM.Config.Network",
        "VM.Config.Options",
        "Datastore.AllocateSpace",
        "VM.PowerMgmt",
        "SDN.Use",  # the answer lists /sdn: bridges need SDN.Use on PVE 8
    ]
    assert result.privsep_hint and "VM.Allocate" in result.error
    assert await list_nodes(USER_A) == []

    vmadmin = await check_node(
        USER_A,
        sim_input(
            simulator,
            token_id=simulator.vmadmin_token_id,
            token_secret=simulator.vmadmin_token_secret,
        ),
    )
    assert vmadmin.missing_privileges == ["Sys.Audit", "Datastore.AllocateSpace", "SDN.Use"]


async def test_ssh_wrong_password(simulator: SimulatorInfo) -> None:
    result = await create_node(USER_A, sim_input(simulator, ssh=True, ssh_secret="wrong"))
    assert isinstance(result, CheckResult)
    # newly typed credentials: one message for a wrong password and a failing `pct`
    assert result.field_errors == {"ssh_secret": "SSH sign-in failed or the user cannot run pct"}
    assert await list_nodes(USER_A) == []


async def test_ssh_unreachable(simulator: SimulatorInfo) -> None:
    port = free_port()
    result = await create_node(USER_A, sim_input(simulator, ssh=True, ssh_port=port))
    assert isinstance(result, CheckResult)
    assert result.field_errors == {"ssh_port": f"Unable to reach SSH at 127.0.0.1:{port}"}


async def test_names_are_unique_per_user(simulator: SimulatorInfo) -> None:
    await add_node(USER_A, sim_input(simulator, "Lab"))
    again = await create_node(USER_A, sim_input(simulator, "lab"))
    assert isinstance(again, CheckResult)
    assert again.field_errors == {"name": "You already have a node named lab"}
    other = await add_node(USER_B, sim_input(simulator, "Lab"))  # another user: fine
    assert other.is_default


async def test_default_node_rules(simulator: SimulatorInfo) -> None:
    a = await add_node(USER_A, sim_input(simulator, "a"))
    b = await add_node(USER_A, sim_input(simulator, "b"))
    c = await add_node(USER_A, sim_input(simulator, "c"))
    assert [n.is_default for n in (a, b, c)] == [True, False, False]

    await make_default(USER_A, c.id)
    assert [(n.name, n.is_default) for n in await list_nodes(USER_A)] == [
        ("c", True),
        ("a", False),
        ("b", False),
    ]
    await make_default(USER_A, c.id)  # already the default: nothing changes
    await delete_node(USER_A, c.id)  # the default goes: the oldest remaining takes over
    assert [(n.name, n.is_default) for n in await list_nodes(USER_A)] == [("a", True), ("b", False)]
    await delete_node(USER_A, b.id)  # not the default: nothing moves
    assert [(n.name, n.is_default) for n in await list_nodes(USER_A)] == [("a", True)]
    await delete_node(USER_A, a.id)
    assert await list_nodes(USER_A) == []
    actions = [(e.action, e.target) for e in reversed(audit.recent())]
    assert actions[-5:] == [
        ("node.create", "node:c"),
        ("node.make_default", "node:c"),
        ("node.delete", "node:c"),
        ("node.delete", "node:b"),
        ("node.delete", "node:a"),
    ]


async def test_concurrent_first_nodes_make_one_default(simulator: SimulatorInfo) -> None:
    results = await asyncio.gather(
        *(create_node(USER_A, sim_input(simulator, f"n{i}")) for i in range(4))
    )
    assert all(isinstance(r, NodeView) for r in results)
    assert [n.is_default for n in await list_nodes(USER_A)].count(True) == 1


async def test_users_never_reach_each_others_nodes(simulator: SimulatorInfo) -> None:
    node = await add_node(USER_A, sim_input(simulator, ssh=True))
    assert await list_nodes(USER_B) == [] and await probe_nodes(USER_B) == {}
    edit = sim_input(simulator, "stolen", token_secret=None)
    calls = [
        lambda: get_node(USER_B, node.id),
        lambda: delete_node(USER_B, node.id),
        lambda: make_default(USER_B, node.id),
        lambda: client_for(USER_B, node.id),
        lambda: ssh_target_for(USER_B, node.id),
        lambda: get_node(USER_A, node.id + 1000),
        lambda: get_node(USER_A, str(node.id)),  # type: ignore[arg-type]
    ]
    for call in calls:
        with pytest.raises(NodeNotFound, match="Node not found"):
            outcome = call()
            if inspect.isawaitable(outcome):  # the async boundary (the rest is sync)
                await outcome
    with pytest.raises(NodeNotFound):
        await update_node(USER_B, node.id, edit)
    with pytest.raises(NodeNotFound):
        await check_node(USER_B, edit, node.id)
    assert await list_nodes(USER_A) == [node]  # untouched


async def test_edit_keeps_stored_secrets_and_can_drop_ssh(simulator: SimulatorInfo) -> None:
    node = await add_node(USER_A, sim_input(simulator, ssh=True))
    edit = sim_input(
        simulator,
        "renamed",
        token_secret=None,
        ssh_port=simulator.ssh_port,
        tls_fingerprint=None,  # same host:port: the stored pins apply
    )
    updated = await update_node(USER_A, node.id, edit)
    assert isinstance(updated, NodeView), updated
    assert updated.name == "renamed" and updated.has_ssh
    assert updated.ssh_host_key == simulator.ssh_host_key and updated.created_at == node.created_at
    assert updated.updated_at > node.updated_at
    [event] = [e for e in audit.recent() if e.action == "node.update"]
    assert event.target == "node:renamed" and event.detail == "changed: name"

    wrong = await update_node(USER_A, node.id, dataclasses.replace(edit, token_secret="nope"))
    assert isinstance(wrong, CheckResult) and "token_secret" in wrong.field_errors
    assert await get_node(USER_A, node.id) == updated  # unchanged

    dropped = await update_node(USER_A, node.id, dataclasses.replace(edit, clear_ssh=True))
    assert isinstance(dropped, NodeView)
    assert not dropped.has_ssh and dropped.ssh_host_key is None
    assert ssh_target_for(USER_A, node.id) is None


async def test_standalone_host_changed_certificate_and_host_key(small_sim, tmp_path: Path) -> None:
    sim = await asyncio.to_thread(small_sim)
    data = sim.input(ssh=True)
    node = await add_node(USER_A, data)
    assert node.cluster_name == "" and node.pve_nodes == ["pve1"]
    assert node.cluster_key == f"endpoint:127.0.0.1:{sim.api_port}"
    old_tls, old_ssh = node.tls_fingerprint, node.ssh_host_key
    assert old_ssh is not None

    await asyncio.to_thread(sim.process.stop)
    again = await asyncio.to_thread(
        small_sim, port=sim.api_port, ssh_port=sim.ssh_port
    )  # new certificate and host key
    new_tls, new_ssh = again.ready["tls_sha256"], again.ready["ssh_host_key"]
    assert (new_tls, new_ssh) != (old_tls, old_ssh)

    edit = dataclasses.replace(data, token_secret=None, ssh_secret=None)
    result = await update_node(USER_A, node.id, edit)
    assert isinstance(result, CheckResult) and not result.ok
    assert old_tls in result.field_errors["host"] and new_tls in result.field_errors["host"]
    assert old_ssh in result.field_errors["ssh_secret"]
    assert new_ssh in result.field_errors["ssh_secret"]
    assert (result.tls_fingerprint, result.ssh_host_key) == (new_tls, new_ssh)
    assert await get_node(USER_A, node.id) == node  # nothing saved

    probe = (await probe_nodes(USER_A, timeout=3))[node.id]
    assert not probe.reachable and probe.error == "The server's certificate changed"
    assert probe.ssh == "host key changed"
    with pytest.raises(CertificateMismatch):
        async with client_for(USER_A, node.id) as pve:
            await pve.version()

    # the user saw both fingerprints and confirms the new ones explicitly
    repinned = await update_node(
        USER_A, node.id, dataclasses.replace(edit, tls_fingerprint=new_tls, ssh_host_key=new_ssh)
    )
    assert isinstance(repinned, NodeView), repinned
    assert (repinned.tls_fingerprint, repinned.ssh_host_key) == (new_tls, new_ssh)
    probe = (await probe_nodes(USER_A, timeout=3))[node.id]
    assert probe.reachable and probe.ssh == "ok"


async def refused(port: int, within: float = 3.0) -> None:
    deadline = time.monotonic() + within
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except ConnectionRefusedError:
            return
        except ConnectionResetError:
            pass  # the listener is closing
        else:
            writer.close()
        assert time.monotonic() < deadline, f"port {port} still accepts connections"
        await asyncio.sleep(0.05)


async def test_probe_is_concurrent_with_a_per_node_timeout(
    simulator: SimulatorInfo, small_sim
) -> None:
    sims = await asyncio.to_thread(small_sim, endpoints=2)
    good = await add_node(USER_A, sim_input(simulator, "good", ssh=True))
    hung = await add_node(USER_A, sims.input("hung", endpoint=0))
    gone = await add_node(USER_A, sims.input("gone", endpoint=1))
    gone_port = host_port(sims.endpoint(1)["api"])[1]
    admin = sims.ready["admin"]
    for endpoint, mode in ((0, "hang"), (1, "refuse")):
        httpx.post(
            f"{admin}/_sim/faults", json={"mode": mode}, params={"endpoint": endpoint}
        ).raise_for_status()

    await refused(gone_port)  # the simulator closes the listener shortly after the call

    started = time.monotonic()
    probes = await probe_nodes(USER_A, timeout=1.0)
    elapsed = time.monotonic() - started
    assert elapsed < 2.5, elapsed
    assert probes[good.id].reachable and probes[good.id].latency_ms is not None
    assert probes[good.id].latency_ms < 1000 and probes[good.id].ssh == "ok"
    assert probes[hung.id] == Probe(False, None, "No answer within 1 s", "not configured")
    assert not probes[gone.id].reachable
    assert probes[gone.id].error == f"Unable to reach Proxmox at 127.0.0.1:{gone_port}"
