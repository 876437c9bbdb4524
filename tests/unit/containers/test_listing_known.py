"""Pure parts of the listing's fast path and of what it remembers (`known`): rows straight
from JSON, rows of last-known containers, which addresses go stale, the stored form."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from lxc_manager.containers.known import KnownContainer, _decode, _digest, _encode
from lxc_manager.containers.listing import (
    ContainerRow,
    _rows,
    _stale_ips,
    row_from_item,
    row_from_known,
    row_from_resource,
)
from lxc_manager.nodes import NodeView
from lxc_manager.pages.dashboard.rows import to_load, to_row
from lxc_manager.proxmox import ClusterResource, ProxmoxError

T0 = datetime(2024, 1, 1, tzinfo=UTC)
LAB = NodeView(
    id=3, name="lab", host="10.0.0.1", port=8006, token_id="root@pam!x", ssh_user="root",
    ssh_port=22, has_ssh=False, tls_fingerprint="AA", ssh_host_key=None, is_default=True,
    cluster_name="homelab", cluster_key="cluster:homelab:pve1", pve_nodes=["pve1"],
    created_at=T0, updated_at=T0,
)  # fmt: skip
ENTRY = {
    "id": "lxc/105", "type": "lxc", "node": "pve2", "vmid": 105, "name": "web-01",
    "status": "running", "cpu": 0.25, "maxcpu": 2, "mem": 10, "maxmem": 20, "disk": 1,
    "maxdisk": 2, "uptime": 99, "tags": "web;prod", "template": 0,
}  # fmt: skip


@pytest.mark.parametrize(
    "entry",
    [
        ENTRY,
        {**ENTRY, "vmid": "105", "maxcpu": "2", "mem": "10", "uptime": 99.0, "cpu": "0.25"},
        {**ENTRY, "template": "", "tags": "prod, web"},
    ],
)
def test_a_row_straight_from_json_matches_the_typed_model(entry: dict[str, object]) -> None:
    row = row_from_item(LAB, entry, "10.0.0.5")
    assert row == row_from_resource(LAB, ClusterResource.model_validate(entry))._replace(
        ip="10.0.0.5"
    )
    assert row is not None
    assert (row.key, row.vmid, row.pve_node, row.cpu, row.maxcpu, row.mem, row.uptime) == (
        "3:105", 105, "pve2", 0.25, 2, 10, 99,
    )  # fmt: skip
    assert row.tags == ("prod", "web") and row.template is False
    assert (row.ip, row.last_known) == ("10.0.0.5", False)


def test_odd_entries_give_no_row_or_defaults() -> None:
    assert row_from_item(LAB, {"type": "qemu", "vmid": 100}) is None
    assert row_from_item(LAB, {"type": "lxc"}) is None
    assert row_from_item(LAB, {"type": "lxc", "vmid": "abc"}) is None
    assert row_from_item(LAB, {"type": "lxc", "vmid": -5}) is None
    bare = row_from_item(LAB, {"type": "lxc", "vmid": 107, "cpu": "NaN", "mem": None})
    assert bare is not None
    assert (bare.name, bare.status, bare.cpu, bare.mem, bare.tags, bare.template) == (
        "CT 107", "unknown", 0.0, 0, (), False,
    )  # fmt: skip
    with pytest.raises(ProxmoxError):
        _rows(LAB, {"data": "not a list"}, {})


def test_a_stopped_container_shows_no_address_and_its_address_goes_stale() -> None:
    data = [
        {**ENTRY, "vmid": 101, "status": "running"},
        {**ENTRY, "vmid": 102, "status": "stopped"},
        {**ENTRY, "vmid": 103, "status": "unknown"},  # its PVE node is offline
        {"type": "qemu", "vmid": 104},
    ]
    ips = {101: "10.0.0.1", 102: "10.0.0.2", 103: "10.0.0.3", 109: "10.0.0.9"}
    rows = _rows(LAB, data, ips)
    assert [(r.vmid, r.ip) for r in rows] == [(101, "10.0.0.1"), (102, ""), (103, "10.0.0.3")]
    assert sorted(_stale_ips(rows, ips)) == [102, 109]  # stopped, gone
    assert _stale_ips(rows, {}) == []


def test_a_last_known_row_has_no_status_numbers_or_actions() -> None:
    row = row_from_known(LAB, KnownContainer(105, "web-01", "pve2", ("web",), 3), "10.0.0.5")
    assert (row.key, row.status, row.name, row.pve_node, row.tags) == (
        "3:105", "unknown", "web-01", "pve2", ("web",),
    )  # fmt: skip
    assert (row.cpu, row.mem, row.maxmem, row.uptime, row.ip, row.last_known) == (
        0.0, 0, 0, 0, "10.0.0.5", True,
    )  # fmt: skip
    shown, load = to_row(row), to_load(row)
    assert (shown.status, shown.ip, shown.last_known) == ("unknown", "10.0.0.5", True)
    assert (load.cpu, load.mem, load.mem_pct, load.uptime) == ("—", "—", 0, "—")


def test_the_stored_form_round_trips_and_holds_no_status() -> None:
    known = [KnownContainer(105, "wéb", "pve2", ("a", "b"), 3), KnownContainer(106, "x", "", (), 4)]
    encoded = _encode(known)
    assert set(json.loads(encoded["105"])) == {"name", "node", "tags", "via"}
    assert [_decode(k, v) for k, v in encoded.items()] == known
    assert _decode(b"105", b"garbage") is None
    assert _decode(b"x", encoded["105"]) is None
    assert _decode(b"105", json.dumps({"name": 1, "node": "", "tags": [], "via": 3})) is None


def test_the_digest_ignores_order_and_sees_every_change() -> None:
    a, b = KnownContainer(105, "a", "pve1", ("t",), 3), KnownContainer(106, "b", "pve2", (), 3)
    assert _digest([a, b]) == _digest([b, a])
    row = row_from_item(LAB, {**ENTRY, "vmid": 105, "name": "a", "node": "pve1", "tags": "t"})
    assert isinstance(row, ContainerRow) and _digest([row, b]) == _digest([a, b])
    for changed in (a._replace(name="c"), a._replace(pve_node="pve3"), a._replace(tags=()),
                    a._replace(node_id=4)):  # fmt: skip
        assert _digest([changed, b]) != _digest([a, b])
    assert _digest([a]) != _digest([a, b])
