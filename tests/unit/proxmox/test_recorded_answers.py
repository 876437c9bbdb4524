"""Answers recorded from real Proxmox VE servers (tests/fixtures/pve-recorded, sources in
its README) go through the app's client and models: what real servers send must parse."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from lxc_manager.containers.detail import history_point
from lxc_manager.containers.listing import row_from_item
from lxc_manager.nodes.types import NodeView
from lxc_manager.proxmox import ProxmoxClient, TlsPolicy, TokenAuth

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "pve-recorded"
PIN = ":".join(["AB"] * 32)
T0 = datetime(2024, 1, 1, tzinfo=UTC)
LAB = NodeView(
    id=1, name="lab", host="10.0.0.1", port=8006, token_id="root@pam!x", ssh_user="root",
    ssh_port=22, has_ssh=False, tls_fingerprint="AA", ssh_host_key=None, is_default=True,
    cluster_name="", cluster_key="endpoint:1", pve_nodes=["pve"], created_at=T0, updated_at=T0,
)  # fmt: skip


def recorded(name: str) -> dict[str, Any]:
    body = json.loads((FIXTURES / name).read_text())
    assert set(body) == {"data"}
    return body


def serving(name: str) -> ProxmoxClient:
    """A client whose every request is answered with the recorded body, as pveproxy sends it."""
    content = (FIXTURES / name).read_bytes()

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=content, headers={"content-type": "application/json"})

    return ProxmoxClient(
        "pve.example",
        8006,
        tls=TlsPolicy(fingerprint=PIN),
        auth=TokenAuth("root@pam!lxcm", "00000000-0000-0000-0000-000000000000"),
        transport=httpx.MockTransport(answer),
    )


def test_every_fixture_is_listed_in_the_readme_with_its_source() -> None:
    readme = (FIXTURES / "README.md").read_text()
    files = sorted(p.name for p in FIXTURES.glob("*.json"))
    assert files, "no recorded answers"
    for name in files:
        row = next((line for line in readme.splitlines() if f"`{name}`" in line), "")
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert len(cells) == 4 and "/" in cells[2] and cells[3], name  # source, version


@pytest.mark.parametrize(
    "name", ["cluster-resources.go-proxmox-pve8x.json", "cluster-resources.community-general.json"]
)
async def test_cluster_resources(name: str) -> None:
    async with serving(name) as pve:
        resources = await pve.cluster_resources()
    raw = recorded(name)["data"]
    assert [r.id for r in resources] == [e["id"] for e in raw]
    for resource, entry in zip(resources, raw, strict=True):
        assert resource.type == entry["type"]
        if entry["type"] in ("qemu", "lxc"):
            assert resource.vmid == entry["vmid"] and resource.status == entry["status"]
            assert resource.template == bool(entry["template"])
    rows = [row for entry in raw if (row := row_from_item(LAB, entry)) is not None]
    assert [r.vmid for r in rows] == [e["vmid"] for e in raw if e["type"] == "lxc"]
    assert all(r.maxdisk > 0 and r.status in ("running", "stopped") for r in rows)


async def test_cluster_status() -> None:
    async with serving("cluster-status.go-proxmox-pve8x.json") as pve:
        status = await pve.cluster_status()
    assert status.name == "clustername"
    assert status.node_names == ("node1", "node2", "node3", "node4")
    assert {n.name: n.ip for n in status.nodes}["node3"] == "192.168.1.3"
    assert all(n.online for n in status.nodes)


async def test_lxc_list_with_vmids_as_strings() -> None:
    async with serving("nodes-lxc.community-general.json") as pve:
        containers = await pve.lxc_list("pve")
    assert [c.vmid for c in containers] == [103, 102, 105]  # sent as "103", ...
    running = containers[1]
    assert running.running and running.disk == 352190464 and running.maxswap == 536870912
    assert [c.disk for c in containers if not c.running] == [0, 0]  # stopped: disk 0


async def test_node_network() -> None:
    async with serving("node-network.go-proxmox-pve8x.json") as pve:
        interfaces = await pve.node_network("node1")
    by_name = {i.iface: i for i in interfaces}
    bridge = by_name["vmbr1"]
    assert bridge.type == "bridge" and bridge.active and bridge.bridge_vlan_aware
    assert bridge.bridge_ports == "eno1.2 vmbr2.10"
    assert by_name["vmbr2.2"].cidr == "192.168.22.31/24"


async def test_rrd_samples_without_values_are_gaps() -> None:
    async with serving("qemu-rrddata-hour.go-proxmox-pve7x.json") as pve:
        data = await pve.get("/nodes/node1/qemu/101/rrddata", {"timeframe": "hour"})
    points = [point for entry in data if (point := history_point(entry)) is not None]
    assert [p.time for p in points] == [1693110660, 1693110720, 1693110780]
    # the stopped VM's samples carry no cpu/mem/net values: gaps, not zeros
    assert all(p.cpu_pct is None and p.mem_mb is None and p.netin_kbs is None for p in points)
