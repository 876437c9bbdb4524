"""The dashboard's view of a listing: filter, search, sort and one page (pure functions).

The page keeps the whole listing on the server and shows one page of it; what that page
is, and the counts beside it, is computed here from the rows and the user's choices:

    view = listing_view(listing.containers, ListingQuery(status="running", sort="cpu"))
    view.shown, view.matching, page_label(view.matching, view.page)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .listing import ContainerRow

__all__ = [
    "ALL",
    "PAGE_SIZE",
    "SEARCH_MAX",
    "SORTS",
    "Keep",
    "ListingQuery",
    "ListingView",
    "actionable",
    "chosen_sort",
    "filter_rows",
    "has_next_page",
    "listing_view",
    "matches",
    "page_label",
    "paginate",
    "sort_rows",
    "still_listed",
]

ALL = "all"  # a filter that lets every row through
PAGE_SIZE = 50
SEARCH_MAX = 100  # characters of a search that are kept
SORTS = {
    "name": "Name",
    "vmid": "VMID",
    "node": "Node",
    "status": "Status",
    "cpu": "CPU",
    "memory": "Memory",
}
_SORT_KEYS: dict[str, Callable[[ContainerRow], Any]] = {
    "vmid": lambda c: c.vmid,
    "node": lambda c: (c.node_name, c.pve_node, c.vmid),
    "status": lambda c: (c.status != "running", c.name.lower()),
    "cpu": lambda c: -c.cpu,
    "memory": lambda c: -c.mem,
}


def _by_name(row: ContainerRow) -> tuple[str, int]:
    return row.name.lower(), row.vmid


@dataclass(frozen=True)
class ListingQuery:
    """What the user chose: filters (`ALL` or a value), a search text, a sort, a page."""

    node: str = ALL
    status: str = ALL
    tag: str = ALL
    search: str = ""
    sort: str = "name"
    page: int = 0


@dataclass(frozen=True)
class ListingView:
    shown: tuple[ContainerRow, ...]  # the rows of the page
    matching: int  # rows that pass the filters
    page: int  # the page shown (the query's, or the last one when fewer rows match)
    node_names: tuple[str, ...]  # every node name of the listing, sorted (filter choices)
    tag_names: tuple[str, ...]  # every tag of the listing, sorted
    total: int
    running: int
    stopped: int
    per_node: tuple[tuple[str, int], ...]  # (node name, containers), by name


def matches(row: ContainerRow, query: ListingQuery) -> bool:
    """The row passes the query's filters and its search (name, VMID, IP or a tag)."""
    text = query.search.strip().lower()
    return (
        (query.node == ALL or row.node_name == query.node)
        and (query.status == ALL or row.status == query.status)
        and (query.tag == ALL or query.tag in row.tags)
        and (
            not text
            or text in row.name.lower()
            or text in str(row.vmid)
            or text in row.ip
            or any(text in tag for tag in row.tags)
        )
    )


Keep = Callable[[ContainerRow], bool]


def filter_rows(
    rows: Iterable[ContainerRow], query: ListingQuery, keep: Keep | None = None
) -> list[ContainerRow]:
    """The rows that match the query and, when given, `keep` (a filter the listing alone
    cannot decide, e.g. on the age of the last backup)."""
    return [row for row in rows if matches(row, query) and (keep is None or keep(row))]


def sort_rows(rows: Iterable[ContainerRow], sort: str) -> list[ContainerRow]:
    """Sorted by `sort` (a key of SORTS; anything else sorts by name)."""
    return sorted(rows, key=_SORT_KEYS.get(sort, _by_name))


def paginate(
    rows: Sequence[ContainerRow], page: int, page_size: int = PAGE_SIZE
) -> tuple[tuple[ContainerRow, ...], int]:
    """The rows of `page` (0-based; past the end: the last page) and that page's number."""
    last_page = max(0, (len(rows) - 1) // page_size)
    page = min(max(0, page), last_page)
    return tuple(rows[page * page_size : (page + 1) * page_size]), page


def listing_view(
    rows: Sequence[ContainerRow],
    query: ListingQuery,
    page_size: int = PAGE_SIZE,
    keep: Keep | None = None,
) -> ListingView:
    matching = sort_rows(filter_rows(rows, query, keep), query.sort)
    shown, page = paginate(matching, query.page, page_size)
    per_node = Counter(row.node_name for row in rows)
    return ListingView(
        shown=shown,
        matching=len(matching),
        page=page,
        node_names=tuple(sorted({row.node_name for row in rows})),
        tag_names=tuple(sorted({tag for row in rows for tag in row.tags})),
        total=len(rows),
        running=sum(row.status == "running" for row in rows),
        stopped=sum(row.status == "stopped" for row in rows),
        per_node=tuple(sorted(per_node.items())),
    )


def page_label(matching: int, page: int, page_size: int = PAGE_SIZE) -> str:
    """`51-100 of 230`, or `0 containers`."""
    if not matching:
        return "0 containers"
    first = page * page_size + 1
    return f"{first}-{min(matching, first + page_size - 1)} of {matching}"


def has_next_page(matching: int, page: int, page_size: int = PAGE_SIZE) -> bool:
    return (page + 1) * page_size < matching


def chosen_sort(value: str) -> str:
    """A sort the browser asked for: a key of SORTS, else the default (by name)."""
    return value if value in SORTS else "name"


def actionable(rows: Iterable[ContainerRow], key: str) -> ContainerRow | None:
    """The row to act on by its key; never a last-known one (its node is unreachable)."""
    return next((row for row in rows if row.key == key and not row.last_known), None)


def still_listed(keys: Sequence[str], rows: Iterable[ContainerRow]) -> list[str]:
    """The selected keys whose containers are still in the listing, in their order."""
    listed = {row.key for row in rows}
    return [key for key in keys if key in listed]
