"""What the dashboard and the Backups page show of backups: the "last backup" cell, the
"no backup in N days" filter, and a cluster's jobs and coverage."""

from __future__ import annotations

from lxc_manager.backups.cluster_backups import (
    ClusterBackups,
    NamedGuest,
    newest_by_vmid,
    newest_of,
)
from lxc_manager.backups.selection import DAY, job_rule
from lxc_manager.containers import ContainerRow
from lxc_manager.containers.view import ListingQuery, listing_view
from lxc_manager.pages.backups.rows import cluster_block
from lxc_manager.pages.components.backup_age import UNKNOWN_BACKUP
from lxc_manager.pages.dashboard.rows import backup_keep, to_backup_cell

NOW = 2_000_000_000


def ct(vmid: int, node_id: int = 1) -> ContainerRow:
    return ContainerRow(
        f"{node_id}:{vmid}", node_id, "lab", "pve1", vmid, f"ct-{vmid}", "running",
        0.0, 1, 0, 0, 0, 0, 0, (), False,
    )  # fmt: skip


NEWEST = {1: {100: NOW - 3600, 101: NOW - 3 * DAY, 102: NOW - 9 * DAY}}  # 103: never


def test_the_cell_says_the_age_and_its_tone() -> None:
    cells = {v: to_backup_cell(NEWEST, ct(v), NOW) for v in (100, 101, 102, 103)}
    assert {v: (c.text, c.tone) for v, c in cells.items()} == {
        100: ("1 h", "fresh"),
        101: ("3 d", "stale"),
        102: ("9 d", "old"),
        103: ("never", "never"),
    }
    assert cells[100].title == "Last backup 2033-05-18 02:33 UTC, 1 h ago"
    assert to_backup_cell(NEWEST, ct(100, node_id=2), NOW) == UNKNOWN_BACKUP


def test_no_backup_in_n_days_keeps_exactly_the_old_and_the_never_backed_up() -> None:
    rows = [ct(v) for v in (100, 101, 102, 103)] + [ct(104, node_id=2)]  # node 2: unknown
    seven = listing_view(rows, ListingQuery(), keep=backup_keep(NEWEST, 7, NOW))
    assert [r.vmid for r in seven.shown] == [102, 103]
    assert seven.matching == 2 and seven.total == 5  # the summary still counts every row
    one = listing_view(rows, ListingQuery(), keep=backup_keep(NEWEST, 1, NOW))
    assert [r.vmid for r in one.shown] == [101, 102, 103]
    everything = listing_view(rows, ListingQuery())
    assert everything.matching == 5


def test_newest_per_vmid_and_per_endpoint() -> None:
    assert newest_by_vmid([(100, 5), (100, 9), (101, 3), (None, 8), (102, None)]) == {
        100: 9,
        101: 3,
    }
    read = ClusterBackups(node_ids=(1, 3), node_id=1, node_name="a", newest={100: 9},
                          reached=True, backups_read=True)  # fmt: skip
    unread = ClusterBackups(node_ids=(2,), node_id=2, node_name="b", reached=True)
    assert newest_of([read, unread]) == {1: {100: 9}, 3: {100: 9}}


def _cluster(**changes: object) -> ClusterBackups:
    jobs = tuple(
        r
        for r in (
            job_rule({"id": "weekly", "all": 1, "exclude": "101", "schedule": "sat 02:00",
                      "storage": "nas", "mode": "snapshot", "comment": "everything"}),
            job_rule({"id": "old", "vmid": "102", "enabled": 0, "schedule": "21:00",
                      "storage": "local"}),
        )
        if r is not None
    )  # fmt: skip
    values: dict[str, object] = {
        "node_ids": (4,),
        "node_id": 4,
        "node_name": "lab",
        "guests": (
            NamedGuest(100, "pve1", name="web"),
            NamedGuest(101, "pve2", name="db"),
            NamedGuest(102, "pve1", name="cache"),
            NamedGuest(103, "pve1", name="tpl", template=True),
        ),
        "newest": {100: NOW - 3600},
        "jobs": jobs,
        "reached": True,
        "backups_read": True,
        "jobs_read": True,
    }
    values.update(changes)
    return ClusterBackups(**values)  # type: ignore[arg-type]


def test_a_cluster_block_names_the_uncovered_containers() -> None:
    block = cluster_block(_cluster(), NOW)
    assert [(j.id, j.label, j.selection, j.enabled) for j in block.jobs] == [
        ("weekly", "everything", "All guests except 101", True),
        ("old", "old", "VMID 102", False),
    ]
    assert block.jobs[1].next_run == "—"
    lines = {g.vmid: g for g in block.guests}
    assert set(lines) == {100, 101, 102}  # templates are not listed
    assert (lines[100].coverage, lines[100].jobs) == ("covered", ["everything"])
    assert lines[101].coverage == "uncovered" and lines[101].note == ""
    assert lines[102].coverage == "covered"  # by "weekly"; the disabled one is named
    assert lines[102].note == "Disabled job would: old"
    assert block.uncovered == ["db (101)"]
    assert (lines[100].backup.tone, lines[101].backup.tone) == ("fresh", "never")
    assert lines[100].key == "4:100" and lines[100].node_id == 4


def test_unread_jobs_or_backups_are_unknown_not_uncovered() -> None:
    block = cluster_block(_cluster(jobs=(), jobs_read=False, backups_read=False), NOW)
    assert block.uncovered == []
    assert {g.coverage for g in block.guests} == {"unknown"}
    assert {g.backup.tone for g in block.guests} == {"unknown"}
