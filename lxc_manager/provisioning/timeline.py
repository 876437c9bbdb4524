"""A container's events as its page lists them: the user's audit events on it (actions,
snapshots, credential reveals) merged with the provisioning job that created it, newest first.

    for event in await container_timeline(user_id, "lab", cluster_key, 105):
        print(event.at, event.action, event.target, event.outcome)
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from lxc_manager.db.models import AuditEvent
from lxc_manager.security import audit

from .origin import JobEvent, Origin, container_origin

__all__ = ["TimelineEvent", "audit_target", "container_timeline", "merge_timeline"]

# Of a job's events, those the timeline shows: each attempt's start and the job's end.
_JOB_KINDS = ("end", "attempt")


@dataclass(frozen=True)
class TimelineEvent:
    at: datetime
    action: str  # "start", "snapshot.create", "provisioning", "provisioning attempt 2", ...
    target: str  # what under the container: a snapshot name, a job step; "—" for itself
    outcome: str
    detail: str


def audit_target(node_name: str, vmid: int) -> str:
    """The audit target of a container (DESIGN §3.8): `ct:{node}/{vmid}`."""
    return f"ct:{node_name}/{vmid}"


def _from_audit(event: AuditEvent, target: str) -> TimelineEvent:
    return TimelineEvent(
        at=event.at,
        action=event.action.removeprefix("container."),
        target=event.target.removeprefix(target).removeprefix("@") or "—",
        outcome=event.outcome,
        detail=event.detail,
    )


def _from_job(event: JobEvent) -> TimelineEvent:
    ended = event.kind == "end"
    return TimelineEvent(
        at=event.at,
        action="provisioning" if ended else f"provisioning attempt {event.message}",
        target=f"{event.step}. {event.step_name}",
        outcome=event.outcome or "started",
        detail=event.message if ended else "",
    )


def merge_timeline(
    audit_events: Iterable[AuditEvent], origin: Origin | None, target: str
) -> list[TimelineEvent]:
    """Audit events on `target` and the job's attempts and end, newest first (on equal
    times, audit events first, each source in its own order)."""
    events = [_from_audit(event, target) for event in audit_events]
    jobs = origin.events if origin is not None else ()
    events.extend(_from_job(event) for event in jobs if event.kind in _JOB_KINDS)
    events.sort(key=lambda event: event.at, reverse=True)
    return events


async def container_timeline(
    user_id: str, node_name: str, cluster_key: str, vmid: int
) -> list[TimelineEvent]:
    """The timeline of the user's container `vmid` reached through the node `node_name`
    (both reads are database work: in threads, side by side)."""
    target = audit_target(node_name, vmid)
    found, origin = await asyncio.gather(
        asyncio.to_thread(audit.for_target, target, user_id),
        asyncio.to_thread(container_origin, user_id, cluster_key, vmid),
    )
    return merge_timeline(found, origin, target)
