"""What the dashboard acts on: a live row by its key, the selection still listed, a sort."""

from __future__ import annotations

from lxc_manager.containers.listing import ContainerRow
from lxc_manager.containers.view import SORTS, actionable, chosen_sort, still_listed


def ct(vmid: int, *, last_known: bool = False) -> ContainerRow:
    return ContainerRow(
        key=f"1:{vmid}", node_id=1, node_name="lab", pve_node="pve1", vmid=vmid, name="",
        status="running", cpu=0.0, maxcpu=1, mem=0, maxmem=0, disk=0, maxdisk=0, uptime=0,
        tags=(), template=False, ip="", last_known=last_known,
    )  # fmt: skip


ROWS = (ct(101), ct(102, last_known=True), ct(103))


def test_a_live_row_is_found_by_its_key() -> None:
    found = actionable(ROWS, "1:103")
    assert found is not None and found.vmid == 103


def test_a_last_known_or_missing_row_is_not_acted_on() -> None:
    assert actionable(ROWS, "1:102") is None
    assert actionable(ROWS, "1:999") is None
    assert actionable((), "1:101") is None


def test_the_selection_keeps_only_listed_containers_in_order() -> None:
    assert still_listed(["1:103", "2:101", "1:101"], ROWS) == ["1:103", "1:101"]
    assert still_listed([], ROWS) == []
    gone = [row._replace(key="9:9") for row in ROWS]
    assert still_listed(["1:101"], gone) == []


def test_an_unknown_sort_falls_back_to_the_name() -> None:
    assert all(chosen_sort(key) == key for key in SORTS)
    assert chosen_sort("rm -rf") == "name"
    assert chosen_sort("") == "name"
