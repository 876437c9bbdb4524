"""The age of a container's newest backup as the dashboard and the Backups page show it
(`controls.age_badge`): green within a day, amber past 1 day, red past 7 days or never.
Plain models and functions, no Reflex."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel

from lxc_manager.backups.selection import age_class, age_text

from .format import minute

BACKUP_COLORS = {"fresh": "green", "stale": "amber", "old": "red", "never": "red"}


class BackupCell(BaseModel):
    """Its age (`3 d`), a tone (fresh / stale / old / never / unknown) that colours it,
    and the date in full for the tooltip."""

    text: str = "…"
    tone: str = "unknown"
    title: str = "Not read yet"


READING_BACKUPS = BackupCell(text="…", tone="unknown", title="Reading the backup storages")
UNKNOWN_BACKUP = BackupCell(text="?", tone="unknown", title="Its backups could not be read")
NEVER_BACKED_UP = BackupCell(text="never", tone="never", title="No backup on any backup storage")


def backup_cell(last: int | None, now: float) -> BackupCell:
    """The cell of a container whose backups were read: `last` is its newest backup's
    ctime (None: it has none)."""
    if last is None:
        return NEVER_BACKED_UP
    when, age = minute(datetime.fromtimestamp(last, UTC)), age_text(last, now)
    return BackupCell(
        text=age, tone=age_class(last, now), title=f"Last backup {when} UTC, {age} ago"
    )
