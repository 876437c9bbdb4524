"""The other members of a node's cluster are reached with their own SSH host keys: pinned
when the node is saved (and shown with it), pinned on first use for a member that joined
later, and a changed member key refused with a clear message until the user confirms it."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable

import pytest
from prov_support import USER_A, sim_input

from lxc_manager.containers import DetailUnavailable, get_services, tail_log
from lxc_manager.db.engine import session_scope
from lxc_manager.db.models import ProxmoxNode
from lxc_manager.nodes import (
    CheckResult,
    MemberKeyChanged,
    NodeView,
    client_for,
    get_node,
    ssh_target_on,
    update_node,
)
from lxc_manager.security import audit
from tests.support.simulator import SimulatorInfo

FAKE_KEY = "SHA256:" + "A" * 43


def _ready_keys(simulator: SimulatorInfo) -> dict[str, tuple[str, str]]:
    nodes = simulator.ready["ssh_nodes"]
    return {name: (nodes[name]["ip"], nodes[name]["ssh_host_key"]) for name in nodes}


def _store_member_keys(node_id: int, keys: dict[str, dict[str, str]]) -> None:
    with session_scope() as db:
        row = db.get(ProxmoxNode, node_id)
        assert row is not None
        row.ssh_member_keys = json.dumps(keys)
        db.add(row)


async def test_the_members_keys_are_pinned_when_the_node_is_saved(
    simulator: SimulatorInfo, sshnode: NodeView
) -> None:
    ready = _ready_keys(simulator)
    assert {(m.name, m.ip, m.key) for m in sshnode.member_keys} == {
        (name, *ready[name]) for name in ("pve2", "pve3")
    }
    assert sshnode.ssh_host_key == ready["pve1"][1]  # the endpoint's own key, as before


async def test_a_changed_member_key_is_refused_until_confirmed(
    simulator: SimulatorInfo, sshnode: NodeView, new_vmid: Callable[[], int]
) -> None:
    ready = _ready_keys(simulator)
    vmid = new_vmid()
    with simulator.client() as api:
        assert simulator.create_container(api, "pve2", vmid)["exitstatus"] == "OK"
        simulator.wait_task(api, api.post(f"/nodes/pve2/lxc/{vmid}/status/start").json()["data"])
    # pve2 now presents another key than the pinned one (as after a reinstall, or a
    # machine in its place): nothing is sent to it, and the message says what happened
    pinned = {n: {"ip": ip, "key": key} for n, (ip, key) in ready.items() if n != "pve1"}
    _store_member_keys(sshnode.id, {**pinned, "pve2": {"ip": ready["pve2"][0], "key": FAKE_KEY}})

    async with client_for(USER_A, sshnode.id) as client:
        with pytest.raises(MemberKeyChanged) as refused:
            await ssh_target_on(USER_A, sshnode.id, "pve2", client)
        assert (await ssh_target_on(USER_A, sshnode.id, "pve3", client)) is not None
    message = refused.value.user_message
    assert "The SSH host key of PVE node pve2" in message and "changed" in message
    assert FAKE_KEY in message and ready["pve2"][1] in message
    services = await get_services(USER_A, sshnode.id, "pve2", vmid, refresh=True)
    assert (services.available, services.reason) == (False, message)
    with pytest.raises(DetailUnavailable) as no_log:
        await tail_log(USER_A, sshnode.id, "pve2", vmid, "nginx.service")
    assert no_log.value.user_message == message

    # saving the node again shows the member's new key; it is stored only once confirmed
    edit = dataclasses.replace(
        sim_input(simulator, "lab", ssh=True), token_secret=None, ssh_secret=None
    )
    asked = await update_node(USER_A, sshnode.id, edit)
    assert isinstance(asked, CheckResult) and not asked.ok and asked.needs_member_confirmation
    assert "PVE node pve2" in asked.field_errors["ssh_secret"]
    changed = {m.name: m for m in asked.member_keys}["pve2"]
    assert (changed.state, changed.key, changed.presented) == (
        "changed",
        FAKE_KEY,
        ready["pve2"][1],
    )
    assert {m.name: m.key for m in (await get_node(USER_A, sshnode.id)).member_keys}[
        "pve2"
    ] == FAKE_KEY
    saved = await update_node(
        USER_A, sshnode.id, dataclasses.replace(edit, member_host_keys={"pve2": changed.presented})
    )
    assert isinstance(saved, NodeView), saved
    assert {m.name: m.key for m in saved.member_keys} == {
        "pve2": ready["pve2"][1],
        "pve3": ready["pve3"][1],
    }
    assert (await get_services(USER_A, sshnode.id, "pve2", vmid, refresh=True)).available


async def test_a_member_that_joined_later_is_pinned_on_first_use(
    simulator: SimulatorInfo, sshnode: NodeView
) -> None:
    ready = _ready_keys(simulator)
    # as if pve3 had joined after the node was saved
    _store_member_keys(sshnode.id, {"pve2": {"ip": ready["pve2"][0], "key": ready["pve2"][1]}})
    assert [m.name for m in (await get_node(USER_A, sshnode.id)).member_keys] == ["pve2"]
    async with client_for(USER_A, sshnode.id) as client:
        target = await ssh_target_on(USER_A, sshnode.id, "pve3", client)
    assert target is not None
    assert (target.host, target.port) == (ready["pve3"][0], simulator.ssh_port)
    assert target.host_key_fingerprint == ready["pve3"][1]
    stored = {m.name: (m.ip, m.key) for m in (await get_node(USER_A, sshnode.id)).member_keys}
    assert stored == {"pve2": ready["pve2"], "pve3": ready["pve3"]}
    pinned = [e for e in audit.recent(10, user_id=USER_A) if e.action == "node.member_key"]
    assert pinned and "pve3" in pinned[0].detail and ready["pve3"][1] in pinned[0].detail
