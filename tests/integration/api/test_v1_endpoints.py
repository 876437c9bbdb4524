"""Every `/api/v1` endpoint against the simulator, as its user and as another user (404),
with bad input (422 naming the field)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from api_support import USER_A, USER_B

from lxc_manager.nodes import NodeView
from lxc_manager.security.actor import Actor
from lxc_manager.templates.service import create_template_sync
from lxc_manager.templates.spec import PackageSpec, ScriptSpec, TemplateSpec
from tests.support.api import api_client, assert_error, bearer
from tests.support.simulator import SimulatorInfo


def _status(simulator: SimulatorInfo, node: str, vmid: int) -> str:
    with simulator.client() as pve:
        status: str = pve.get(f"/nodes/{node}/lxc/{vmid}/status/current").json()["data"]["status"]
        return status


async def test_nodes_list_is_the_users_own(lab: NodeView, key_a: str, key_b: str) -> None:
    async with api_client() as http:
        mine = (await http.get("/api/v1/nodes", headers=bearer(key_a))).json()
        theirs = (await http.get("/api/v1/nodes", headers=bearer(key_b))).json()
        probed = await http.get("/api/v1/nodes?probe=true", headers=bearer(key_a))
        bad = await http.get("/api/v1/nodes?probe=maybe", headers=bearer(key_a))
    [node] = mine["nodes"]
    assert (node["id"], node["name"], node["is_default"], node["probe"]) == (
        lab.id,
        "lab",
        True,
        None,
    )
    assert "token_secret" not in node and all("secret" not in k for k in node)
    assert theirs == {"nodes": []}
    assert probed.json()["nodes"][0]["probe"]["reachable"] is True
    assert_error(bad, 422, "invalid", "probe")


async def test_containers_list_with_the_dashboards_filters(
    lab: NodeView, key_a: str, key_b: str, own_ct: Callable[..., int]
) -> None:
    vmid = await asyncio.to_thread(own_ct, "pve2")
    async with api_client() as http:
        listing = (await http.get("/api/v1/containers?per_page=500", headers=bearer(key_a))).json()
        found = (
            await http.get(
                f"/api/v1/containers?search={vmid}&status=stopped", headers=bearer(key_a)
            )
        ).json()
        running = (
            await http.get(
                f"/api/v1/containers?search={vmid}&status=running", headers=bearer(key_a)
            )
        ).json()
        paged = (
            await http.get("/api/v1/containers?per_page=2&page=1", headers=bearer(key_a))
        ).json()
        by_cpu = (await http.get("/api/v1/containers?sort=vmid", headers=bearer(key_a))).json()
        theirs = (await http.get("/api/v1/containers", headers=bearer(key_b))).json()
        bad_sort = await http.get("/api/v1/containers?sort=colour", headers=bearer(key_a))
        bad_page = await http.get("/api/v1/containers?per_page=0", headers=bearer(key_a))
        bad_num = await http.get("/api/v1/containers?page=two", headers=bearer(key_a))
    assert listing["total"] == len(listing["containers"]) >= 12 and listing["problems"] == []
    [row] = found["containers"]
    assert (row["node_id"], row["pve_node"], row["vmid"], row["status"]) == (
        lab.id,
        "pve2",
        vmid,
        "stopped",
    )
    assert found["matching"] == 1 and running["containers"] == []
    assert paged["page"] == 1 and paged["per_page"] == 2 and len(paged["containers"]) == 2
    names = [(c["name"], c["vmid"]) for c in listing["containers"]]
    assert [(c["name"], c["vmid"]) for c in paged["containers"]] == names[2:4]  # by name
    vmids = [c["vmid"] for c in by_cpu["containers"]]
    assert vmids == sorted(vmids)
    assert theirs["containers"] == [] and theirs["total"] == 0
    assert_error(bad_sort, 422, "invalid", "sort")
    assert_error(bad_page, 422, "invalid", "per_page")
    assert_error(bad_num, 422, "invalid", "page")


async def test_get_a_container_and_another_users_is_not_found(
    lab: NodeView, key_a: str, key_b: str, own_ct: Callable[..., int]
) -> None:
    vmid = await asyncio.to_thread(own_ct)
    url = f"/api/v1/containers/{lab.id}/{vmid}"
    async with api_client() as http:
        mine = await http.get(url, headers=bearer(key_a))
        theirs = await http.get(url, headers=bearer(key_b))
        missing = await http.get(f"/api/v1/containers/{lab.id}/999999", headers=bearer(key_a))
        no_node = await http.get(f"/api/v1/containers/{lab.id + 50}/{vmid}", headers=bearer(key_a))
        bad_vmid = await http.get(f"/api/v1/containers/{lab.id}/5", headers=bearer(key_a))
        bad_node = await http.get(f"/api/v1/containers/x/{vmid}", headers=bearer(key_a))
    assert mine.status_code == 200, mine.text
    assert (mine.json()["vmid"], mine.json()["name"], mine.json()["status"]) == (
        vmid,
        f"test-{vmid}",
        "stopped",
    )
    assert_error(theirs, 404, "not_found")
    assert_error(no_node, 404, "not_found")
    assert theirs.json() == no_node.json()  # another user's node says nothing more than none
    assert_error(missing, 404, "not_found")
    assert_error(bad_vmid, 422, "invalid", "vmid")
    assert_error(bad_node, 422, "invalid", "node_id")


async def test_lifecycle_actions_go_through_the_users_node_and_are_audited(
    simulator: SimulatorInfo, lab: NodeView, key_a: str, key_b: str, own_ct: Callable[..., int]
) -> None:
    from lxc_manager.security import audit

    vmid = await asyncio.to_thread(own_ct)
    base = f"/api/v1/containers/{lab.id}/{vmid}/status"
    async with api_client() as http:
        refused = await http.post(f"{base}/start", headers=bearer(key_b))
        assert_error(refused, 404, "not_found")
        assert await asyncio.to_thread(_status, simulator, "pve1", vmid) == "stopped"
        started = await http.post(f"{base}/start", headers=bearer(key_a))
        assert started.status_code == 200, started.text
        assert started.json()["ok"] is True and started.json()["upid"].startswith("UPID:")
        assert await asyncio.to_thread(_status, simulator, "pve1", vmid) == "running"
        again = await http.post(f"{base}/start", headers=bearer(key_a))
        assert_error(again, 409, "action_failed")  # Proxmox: already running
        assert_error(
            await http.post(f"{base}/explode", headers=bearer(key_a)), 422, "invalid", "action"
        )
        bad_timeout = await http.post(
            f"{base}/shutdown", headers=bearer(key_a), json={"timeout": "soon"}
        )
        assert_error(bad_timeout, 422, "invalid", "timeout")
        bad_field = await http.post(f"{base}/shutdown", headers=bearer(key_a), json={"now": 1})
        assert_error(bad_field, 422, "invalid", "now")
        not_json = await http.post(f"{base}/shutdown", headers=bearer(key_a), content=b"{")
        assert_error(not_json, 422, "invalid", "body")
        assert await asyncio.to_thread(_status, simulator, "pve1", vmid) == "running"
        stopped = await http.post(
            f"{base}/shutdown", headers=bearer(key_a), json={"timeout": 5, "force": True}
        )
        assert stopped.status_code == 200, stopped.text
    assert await asyncio.to_thread(_status, simulator, "pve1", vmid) == "stopped"
    events = await asyncio.to_thread(audit.recent, 20, USER_A)
    actions = [(e.action, e.outcome) for e in events if e.target == f"ct:lab/{vmid}"]
    assert ("container.start", "ok") in actions and ("container.shutdown", "ok") in actions
    theirs = await asyncio.to_thread(audit.recent, 20, USER_B)
    assert [e.action for e in theirs] == ["api_key.create"]  # nothing ran as the other user


def _template(owner: str, name: str) -> int:
    spec = TemplateSpec(
        name=name,
        os_template="debian-12-standard",
        scripts=(ScriptSpec("10-setup.sh", 'log_info "hello"\n'),),
        packages=(PackageSpec("apt", "nginx"),),
    )
    saved = create_template_sync(Actor(owner, False), spec)
    assert saved.ok and saved.id is not None, saved.errors
    return saved.id


@pytest.mark.usefixtures("api_db")
async def test_templates_private_ones_are_their_owners(key_a: str, key_b: str) -> None:
    mine = await asyncio.to_thread(_template, USER_A, "API web")
    async with api_client() as http:
        listed: dict[str, Any] = (await http.get("/api/v1/templates", headers=bearer(key_a))).json()
        searched = await http.get("/api/v1/templates?search=web", headers=bearer(key_a))
        none = await http.get("/api/v1/templates?search=zzz", headers=bearer(key_a))
        theirs = (await http.get("/api/v1/templates", headers=bearer(key_b))).json()
        one = await http.get(f"/api/v1/templates/{mine}", headers=bearer(key_a))
        hidden = await http.get(f"/api/v1/templates/{mine}", headers=bearer(key_b))
        missing = await http.get("/api/v1/templates/999999", headers=bearer(key_a))
        bad = await http.get("/api/v1/templates/abc", headers=bearer(key_a))
    [summary] = listed["templates"]
    assert (summary["id"], summary["name"], summary["visibility"], summary["mine"]) == (
        mine,
        "API web",
        "private",
        True,
    )
    assert [t["id"] for t in searched.json()["templates"]] == [mine]
    assert none.json() == {"templates": []}
    assert theirs == {"templates": []}
    assert one.status_code == 200, one.text
    detail = one.json()
    assert detail["spec"]["name"] == "API web" and detail["spec"]["packages"][0]["name"] == "nginx"
    assert "source_path" not in detail["spec"]
    assert_error(hidden, 404, "not_found")
    assert hidden.json() == missing.json()
    assert_error(bad, 422, "invalid", "template_id")
