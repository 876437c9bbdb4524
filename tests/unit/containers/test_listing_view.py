"""The dashboard's listing view (filter, search, sort, page) as pure functions."""

from __future__ import annotations

import pytest

from lxc_manager.containers.listing import ContainerRow
from lxc_manager.containers.view import (
    ALL,
    ListingQuery,
    has_next_page,
    listing_view,
    page_label,
    paginate,
    sort_rows,
)


def ct(
    vmid: int,
    name: str,
    *,
    node: str = "lab",
    status: str = "running",
    tags: tuple[str, ...] = (),
    cpu: float = 0.0,
    mem: int = 0,
    ip: str = "",
    pve_node: str = "pve1",
) -> ContainerRow:
    return ContainerRow(
        key=f"1:{vmid}", node_id=1, node_name=node, pve_node=pve_node, vmid=vmid, name=name,
        status=status, cpu=cpu, maxcpu=2, mem=mem, maxmem=1024, disk=0, maxdisk=0, uptime=0,
        tags=tags, template=False, ip=ip,
    )  # fmt: skip


ROWS = (
    ct(105, "web-02", status="stopped", tags=("web",), mem=300, cpu=0.1),
    ct(101, "Web-01", tags=("web", "prod"), mem=100, cpu=0.5, ip="10.0.0.21"),
    ct(230, "db", node="office", tags=("db",), mem=900, cpu=0.2, pve_node="pve2"),
    ct(102, "cache", status="paused", mem=50, cpu=0.9),
)


def names(rows: tuple[ContainerRow, ...] | list[ContainerRow]) -> list[str]:
    return [row.name for row in rows]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (ListingQuery(), ["cache", "db", "Web-01", "web-02"]),
        (ListingQuery(node="office"), ["db"]),
        (ListingQuery(status="running"), ["db", "Web-01"]),
        (ListingQuery(tag="web"), ["Web-01", "web-02"]),
        (ListingQuery(search="  WEB "), ["Web-01", "web-02"]),  # name or tag, any case
        (ListingQuery(search="23"), ["db"]),  # the VMID
        (ListingQuery(search="10.0.0.2"), ["Web-01"]),  # the address
        (ListingQuery(search="pro"), ["Web-01"]),  # a tag
        (ListingQuery(tag="web", status="stopped"), ["web-02"]),
        (ListingQuery(node="nowhere"), []),
    ],
)
def test_filters_and_search(query: ListingQuery, expected: list[str]) -> None:
    assert names(listing_view(ROWS, query).shown) == expected


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["cache", "db", "Web-01", "web-02"]),
        ("vmid", ["Web-01", "cache", "web-02", "db"]),
        ("node", ["Web-01", "cache", "web-02", "db"]),  # node name, PVE node, VMID
        ("status", ["db", "Web-01", "cache", "web-02"]),  # running first, then by name
        ("cpu", ["cache", "Web-01", "db", "web-02"]),  # busiest first
        ("memory", ["db", "web-02", "Web-01", "cache"]),
        ("nonsense", ["cache", "db", "Web-01", "web-02"]),
    ],
)
def test_sorts(sort: str, expected: list[str]) -> None:
    assert names(sort_rows(ROWS, sort)) == expected


def test_pages_and_a_page_past_the_end() -> None:
    rows = [ct(100 + i, f"ct-{i:03}") for i in range(120)]
    assert paginate(rows, 0) == (tuple(rows[:50]), 0)
    assert paginate(rows, 2) == (tuple(rows[100:]), 2)
    assert paginate(rows, 9) == (tuple(rows[100:]), 2)  # fewer rows match now: the last page
    assert paginate([], 3) == ((), 0)
    view = listing_view(rows, ListingQuery(page=1, sort="vmid"))
    assert (view.matching, view.page, view.shown[0].name) == (120, 1, "ct-050")
    assert page_label(120, 1) == "51-100 of 120" and page_label(120, 2) == "101-120 of 120"
    assert page_label(0, 0) == "0 containers"
    assert has_next_page(120, 1) and not has_next_page(120, 2) and not has_next_page(0, 0)


def test_counts_and_choices_cover_the_whole_listing() -> None:
    view = listing_view(ROWS, ListingQuery(node="office", page=0))
    assert (view.total, view.running, view.stopped, view.matching) == (4, 2, 1, 1)
    assert view.per_node == (("lab", 3), ("office", 1))
    assert view.node_names == ("lab", "office")
    assert view.tag_names == ("db", "prod", "web")
    assert ListingQuery().node == ALL
