"""A container's events timeline: audit events and its provisioning job, merged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lxc_manager.db.models import AuditEvent
from lxc_manager.provisioning.origin import JobEvent, Origin
from lxc_manager.provisioning.timeline import TimelineEvent, audit_target, merge_timeline

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
TARGET = audit_target("lab", 105)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def audit_event(minutes: int, action: str, target: str = TARGET, **kw: str) -> AuditEvent:
    return AuditEvent(at=at(minutes), user_id="u", action=action, target=target, **kw)


def origin(*events: JobEvent) -> Origin:
    return Origin("job-1", 7, "Web", "succeeded", T0, at(9), events)


def test_audit_events_name_what_under_the_container() -> None:
    assert TARGET == "ct:lab/105"
    found = [
        audit_event(5, "snapshot.create", f"{TARGET}@before", detail="Snapshot created"),
        audit_event(3, "container.start", outcome="failed", detail="busy"),
    ]
    assert merge_timeline(found, None, TARGET) == [
        TimelineEvent(at(5), "snapshot.create", "before", "ok", "Snapshot created"),
        TimelineEvent(at(3), "start", "—", "failed", "busy"),
    ]


def test_the_job_shows_its_attempts_and_its_end_among_the_audit_events_newest_first() -> None:
    job = origin(
        JobEvent(at(0), 1, "Create", "attempt", "", "1"),
        JobEvent(at(1), 1, "Create", "step", "ok", "created"),  # not in the timeline
        JobEvent(at(4), 6, "Scripts", "attempt", "", "2"),
        JobEvent(at(8), 6, "Scripts", "end", "failed", "script 01-a.sh failed"),
    )
    found = [audit_event(6, "container.reboot"), audit_event(2, "container.stop")]
    timeline = merge_timeline(found, job, TARGET)
    assert [(e.at, e.action, e.target, e.outcome, e.detail) for e in timeline] == [
        (at(8), "provisioning", "6. Scripts", "failed", "script 01-a.sh failed"),
        (at(6), "reboot", "—", "ok", ""),
        (at(4), "provisioning attempt 2", "6. Scripts", "started", ""),
        (at(2), "stop", "—", "ok", ""),
        (at(0), "provisioning attempt 1", "1. Create", "started", ""),
    ]


def test_on_equal_times_audit_events_come_first() -> None:
    job = origin(JobEvent(at(1), 9, "Done", "end", "ok", "ready"))
    timeline = merge_timeline([audit_event(1, "container.start")], job, TARGET)
    assert [e.action for e in timeline] == ["start", "provisioning"]
    assert merge_timeline([], None, TARGET) == []
