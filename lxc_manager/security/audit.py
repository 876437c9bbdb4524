"""The audit trail: every change is written with who, when, what and how it went."""

from __future__ import annotations

import asyncio
import logging
from enum import StrEnum

from sqlmodel import col, or_, select

from lxc_manager.db.engine import session_scope
from lxc_manager.db.models import AuditEvent

log = logging.getLogger(__name__)

DETAIL_LIMIT = 2000


class Outcome(StrEnum):
    OK = "ok"
    FAILED = "failed"


def record(
    action: str,
    *,
    user_id: str = "",
    target: str = "",
    outcome: Outcome | str = Outcome.OK,
    detail: str = "",
) -> AuditEvent:
    """Write one audit event and return it. Callers never pass secrets in `detail`."""
    event = AuditEvent(
        user_id=user_id,
        action=action,
        target=target,
        outcome=str(outcome),
        detail=detail[:DETAIL_LIMIT],
    )
    with session_scope() as session:
        session.add(event)
    log.info(
        "audit %s user=%s target=%s outcome=%s", action, user_id or "-", target or "-", outcome
    )
    return event


async def record_done(action: str, user_id: str, target: str, ok: bool, detail: str) -> None:
    """`record` off the event loop for an action that has happened (`ok`) or was refused or
    failed: a failed audit write is logged, it must not hide what happened."""
    try:
        await asyncio.to_thread(
            record,
            action,
            user_id=user_id,
            target=target,
            outcome=Outcome.OK if ok else Outcome.FAILED,
            detail=detail,
        )
    except Exception:
        log.exception("audit of %s on %s failed", action, target)


def for_target(target: str, user_id: str, limit: int = 100) -> list[AuditEvent]:
    """A user's events on `target` and its sub-targets (`target@...`), newest first."""
    with session_scope() as session:
        query = (
            select(AuditEvent)
            .where(AuditEvent.user_id == user_id)
            .where(
                or_(
                    col(AuditEvent.target) == target,
                    col(AuditEvent.target).startswith(target + "@"),
                )
            )
            .order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
        )
        return list(session.exec(query.limit(limit)))


def recent(limit: int = 50, user_id: str | None = None) -> list[AuditEvent]:
    """The newest events first, optionally for one user."""
    with session_scope() as session:
        query = select(AuditEvent).order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
        if user_id is not None:
            query = query.where(AuditEvent.user_id == user_id)
        return list(session.exec(query.limit(limit)))
