"""Which scheduled backup job covers which container, and how old a last backup is (pure).

A job of `GET /cluster/backup` selects guests the way pve-manager's `PVE/VZDump.pm`
`get_included_guests` does (read at proxmox/pve-manager 14a22df3):

- a `pool` job takes the pool's members (`PVE/API2Tools.pm` `get_resource_pool_guest_members`;
  `/cluster/resources` names a guest's pool in its `pool` field),
- else a `vmid` job takes its list (`PVE::Tools::split_list`: separated by `,`, `;`,
  white space; `check_vmids` drops leading zeros and a VMID of 0),
- else an `all` job takes every guest but those in `exclude` (`verify_vzdump_parameters`
  sets `all` when `exclude` is given without a pool, and `PVE/API2/Backup.pm` does on
  update: `exclude` alone means "all but"),
- else nothing;

and then, when the job has a `node`, only the guests on that PVE node.

`PVE/API2/Cluster/BackupInfo.pm` (`not-backed-up`) counts every job, enabled or not. Here
a disabled job covers nothing: it does not run, so what only it selects is not protected;
the page says which disabled job would have.

    rules = [rule for entry in answer if (rule := job_rule(entry)) is not None]
    coverage_of(rules, [Guest(101, "pve1"), Guest(102, "pve2", pool="prod")])
    age_class(last_ctime, now)      # fresh / stale (> 1 day) / old (> 7 days) / never
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DAY",
    "DAYS_DEFAULT",
    "DAYS_MAX",
    "FRESH",
    "NEVER",
    "OLD",
    "STALE",
    "Coverage",
    "Guest",
    "JobRule",
    "age_class",
    "age_text",
    "coverage_of",
    "job_rule",
    "no_backup_within",
    "parse_days",
    "selection_text",
    "selects",
    "split_vmid_list",
]

DAY = 86400
DAYS_DEFAULT = 7
DAYS_MAX = 3650
FRESH, STALE, OLD, NEVER = "fresh", "stale", "old", "never"
_SEPARATORS = re.compile(r"[;,\s\0]+")  # PVE::Tools::split_list


def split_vmid_list(text: object) -> tuple[int, ...]:
    """A `pve-vmid-list` as Proxmox reads it: sorted, without 0; a token that is not a
    number is left out (Proxmox refuses to run such a job; here it selects nothing)."""
    if not isinstance(text, str | int):
        return ()
    ids = {int(t) for t in _SEPARATORS.split(str(text)) if t.isdigit() and int(t) > 0}
    return tuple(sorted(ids))


def _flag(value: object, default: bool = False) -> bool:
    """A Proxmox boolean: 0/1, "0"/"1", true/false; absent is the default."""
    if value is None or value == "":
        return default
    if isinstance(value, str):
        return value.strip().lower() not in ("0", "false", "no", "off")
    return bool(value)


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


@dataclass(frozen=True)
class JobRule:
    """A scheduled backup job as far as it decides what is backed up, where and when."""

    id: str
    schedule: str = ""
    storage: str = ""
    enabled: bool = True
    all: bool = False
    vmids: tuple[int, ...] = ()
    exclude: tuple[int, ...] = ()
    pool: str = ""
    node: str = ""  # "" = guests on every PVE node
    mode: str = ""
    comment: str = ""
    next_run: int | None = None  # epoch seconds, when Proxmox says

    @property
    def selection(self) -> str:
        """`pool`, `vmid`, `all` or `none`: which of the rules decides (in this order)."""
        if self.pool:
            return "pool"
        if self.vmids:
            return "vmid"
        return "all" if self.all else "none"


def job_rule(entry: Mapping[str, Any]) -> JobRule | None:
    """The rule of one `/cluster/backup` entry; None for an entry without an id or for a
    job of another type than `vzdump`."""
    job_id = _text(entry.get("id"))
    if not job_id or entry.get("type", "vzdump") != "vzdump":
        return None
    pool = _text(entry.get("pool"))
    vmids = split_vmid_list(entry.get("vmid"))
    exclude = split_vmid_list(entry.get("exclude"))
    next_run = entry.get("next-run")
    return JobRule(
        id=job_id,
        schedule=_text(entry.get("schedule")),
        storage=_text(entry.get("storage")),
        enabled=_flag(entry.get("enabled"), default=True),
        all=_flag(entry.get("all")) or (bool(exclude) and not pool),
        vmids=vmids,
        exclude=exclude,
        pool=pool,
        node=_text(entry.get("node")),
        mode=_text(entry.get("mode")),
        comment=_text(entry.get("comment")),
        next_run=next_run if type(next_run) is int and next_run > 0 else None,
    )


@dataclass(frozen=True)
class Guest:
    """A container as the rules see it: where it runs and in which pool."""

    vmid: int
    pve_node: str
    pool: str = ""


def selects(rule: JobRule, guest: Guest) -> bool:
    """Whether the job's selection includes the guest (enabled or not)."""
    kind = rule.selection
    if kind == "pool":
        chosen = guest.pool == rule.pool
    elif kind == "vmid":
        chosen = guest.vmid in rule.vmids
    elif kind == "all":
        chosen = guest.vmid not in rule.exclude
    else:
        chosen = False
    return chosen and (not rule.node or rule.node == guest.pve_node)


def _ids(vmids: Sequence[int], shown: int = 8) -> str:
    text = ", ".join(str(v) for v in vmids[:shown])
    return text + (f" and {len(vmids) - shown} more" if len(vmids) > shown else "")


def selection_text(rule: JobRule) -> str:
    """`All guests except 101, 103 on pve1`, `VMIDs 100, 102`, `Pool prod`, `Nothing`."""
    kind = rule.selection
    if kind == "pool":
        text = f"Pool {rule.pool}"
    elif kind == "vmid":
        text = f"VMID{'s' if len(rule.vmids) > 1 else ''} {_ids(rule.vmids)}"
    elif kind == "all":
        text = "All guests" + (f" except {_ids(rule.exclude)}" if rule.exclude else "")
    else:
        text = "Nothing"
    return text + (f" on {rule.node}" if rule.node and kind != "none" else "")


@dataclass(frozen=True)
class Coverage:
    guest: Guest
    jobs: tuple[str, ...]  # ids of the enabled jobs that back it up
    disabled: tuple[str, ...]  # ids of disabled jobs that would

    @property
    def covered(self) -> bool:
        return bool(self.jobs)


def coverage_of(rules: Iterable[JobRule], guests: Iterable[Guest]) -> list[Coverage]:
    """For each guest (in the order given), which jobs cover it."""
    rules = list(rules)
    result = []
    for guest in guests:
        chosen = [r for r in rules if selects(r, guest)]
        result.append(
            Coverage(
                guest,
                tuple(r.id for r in chosen if r.enabled),
                tuple(r.id for r in chosen if not r.enabled),
            )
        )
    return result


# -- age of the last backup -----------------------------------------------------------------
def age_class(last: int | None, now: float) -> str:
    """`fresh` (within a day), `stale` (over a day), `old` (over 7 days) or `never`."""
    if last is None:
        return NEVER
    age = now - last
    if age <= DAY:
        return FRESH
    return STALE if age <= 7 * DAY else OLD


def age_text(last: int | None, now: float) -> str:
    """Short, for a narrow column: `never`, `<1 min`, `12 min`, `5 h`, `3 d`."""
    if last is None:
        return "never"
    age = max(0, int(now - last))
    if age < 60:
        return "<1 min"
    if age < 3600:
        return f"{age // 60} min"
    if age < DAY:
        return f"{age // 3600} h"
    return f"{age // DAY} d"


def no_backup_within(last: int | None, now: float, days: int) -> bool:
    """No backup at all, or the newest is older than `days` days."""
    return last is None or now - last > days * DAY


def parse_days(text: str) -> int | None:
    """The N of "no backup in N days" as typed: a whole number 1..DAYS_MAX, else None."""
    text = text.strip()
    if not text.isdigit() or len(text) > 5:
        return None
    days = int(text)
    return days if 1 <= days <= DAYS_MAX else None
