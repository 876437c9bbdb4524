"""Which scheduled backup job covers which container (pve-manager PVE/VZDump.pm
get_included_guests) and the age classes of a last backup."""

from __future__ import annotations

import pytest

from lxc_manager.backups.selection import (
    DAY,
    FRESH,
    NEVER,
    OLD,
    STALE,
    Guest,
    JobRule,
    age_class,
    age_text,
    coverage_of,
    job_rule,
    no_backup_within,
    parse_days,
    selection_text,
    selects,
    split_vmid_list,
)

G100, G101, G102 = Guest(100, "pve1"), Guest(101, "pve2"), Guest(102, "pve1", pool="prod")


def rule(**entry: object) -> JobRule:
    parsed = job_rule({"id": "backup-1", "type": "vzdump", **entry})
    assert parsed is not None
    return parsed


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("100,102", (100, 102)),
        ("102;100 101", (100, 101, 102)),
        ("0100, 0, 100", (100,)),  # check_vmids: leading zeros dropped, 0 left out
        ("abc,105", (105,)),
        ("", ()),
        (None, ()),
        (104, (104,)),
    ],
)
def test_vmid_lists_are_split_as_proxmox_splits_them(text: object, ids: tuple[int, ...]) -> None:
    assert split_vmid_list(text) == ids


def test_all_with_exclude_selects_every_guest_but_the_excluded() -> None:
    job = rule(all=1, exclude="101")
    assert [selects(job, g) for g in (G100, G101, G102)] == [True, False, True]
    assert job.selection == "all"


def test_exclude_without_all_means_all_but_those() -> None:
    """PVE/API2/Backup.pm: `all` is set when `exclude` is given without a pool."""
    job = rule(exclude="100")
    assert job.all
    assert [selects(job, g) for g in (G100, G101, G102)] == [False, True, True]


def test_a_vmid_list_selects_exactly_its_guests() -> None:
    job = rule(vmid="100,102")
    assert [selects(job, g) for g in (G100, G101, G102)] == [True, False, True]


def test_a_pool_selects_its_members_and_wins_over_a_vmid_list() -> None:
    job = rule(pool="prod", vmid="100")
    assert job.selection == "pool"
    assert [selects(job, g) for g in (G100, G101, G102)] == [False, False, True]


def test_the_node_restriction_keeps_only_guests_on_that_node() -> None:
    job = rule(all=1, node="pve1")
    assert [selects(job, g) for g in (G100, G101, G102)] == [True, False, True]
    listed = rule(vmid="100,101", node="pve2")
    assert [selects(listed, g) for g in (G100, G101)] == [False, True]


def test_a_job_without_selection_selects_nothing() -> None:
    job = rule()
    assert job.selection == "none"
    assert not any(selects(job, g) for g in (G100, G101, G102))


def test_a_disabled_job_covers_nothing_but_is_named() -> None:
    on = rule(id="on", vmid="100")
    off = rule(id="off", all=1, enabled=0)
    by_vmid = {c.guest.vmid: c for c in coverage_of([on, off], [G100, G101])}
    assert by_vmid[100].covered and by_vmid[100].jobs == ("on",)
    assert by_vmid[100].disabled == ("off",)
    assert not by_vmid[101].covered and by_vmid[101].disabled == ("off",)


def test_enabled_defaults_to_true_and_reads_proxmox_booleans() -> None:
    assert rule().enabled
    assert not rule(enabled="0").enabled
    assert rule(enabled=1).enabled


def test_entries_without_an_id_or_of_another_type_are_not_rules() -> None:
    assert job_rule({"type": "vzdump", "all": 1}) is None
    assert job_rule({"id": "x", "type": "realm-sync"}) is None


def test_a_job_entry_is_read_whole() -> None:
    job = rule(
        schedule="sat 02:00",
        storage="pbs",
        mode="snapshot",
        comment=" weekly ",
        **{"next-run": 1_800_000_000},
    )
    assert (job.schedule, job.storage, job.mode, job.comment) == (
        "sat 02:00",
        "pbs",
        "snapshot",
        "weekly",
    )
    assert job.next_run == 1_800_000_000
    assert rule(**{"next-run": "soon"}).next_run is None


@pytest.mark.parametrize(
    ("entry", "text"),
    [
        ({"all": 1}, "All guests"),
        ({"all": 1, "exclude": "103,101"}, "All guests except 101, 103"),
        ({"vmid": "100"}, "VMID 100"),
        ({"vmid": "100,102", "node": "pve1"}, "VMIDs 100, 102 on pve1"),
        ({"pool": "prod"}, "Pool prod"),
        (
            {"vmid": ",".join(str(v) for v in range(100, 110))},
            "VMIDs 100, 101, 102, 103, 104, 105, 106, 107 and 2 more",
        ),
        ({}, "Nothing"),
    ],
)
def test_selection_text(entry: dict[str, object], text: str) -> None:
    assert selection_text(rule(**entry)) == text


NOW = 2_000_000_000


@pytest.mark.parametrize(
    ("age", "klass", "text"),
    [
        (None, NEVER, "never"),
        (10, FRESH, "<1 min"),
        (600, FRESH, "10 min"),
        (5 * 3600, FRESH, "5 h"),
        (DAY, FRESH, "1 d"),
        (DAY + 1, STALE, "1 d"),
        (7 * DAY, STALE, "7 d"),
        (7 * DAY + 1, OLD, "7 d"),
        (30 * DAY, OLD, "30 d"),
        (-50, FRESH, "<1 min"),  # a clock a little ahead
    ],
)
def test_age_classes_and_text(age: int | None, klass: str, text: str) -> None:
    last = None if age is None else NOW - age
    assert age_class(last, NOW) == klass
    assert age_text(last, NOW) == text


def test_no_backup_within_n_days() -> None:
    assert no_backup_within(None, NOW, 7)
    assert no_backup_within(NOW - 7 * DAY - 1, NOW, 7)
    assert not no_backup_within(NOW - 7 * DAY, NOW, 7)
    assert not no_backup_within(NOW - 2 * DAY, NOW, 7)
    assert no_backup_within(NOW - 2 * DAY, NOW, 1)


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("7", 7),
        (" 30 ", 30),
        ("1", 1),
        ("3650", 3650),
        ("0", None),
        ("3651", None),
        ("-3", None),
        ("7.5", None),
        ("", None),
        ("seven", None),
        ("99999999999", None),
    ],
)
def test_the_number_of_days_typed(text: str, days: int | None) -> None:
    assert parse_days(text) == days
