"""SQLModel tables. Every table lives here so Alembic sees one metadata."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class AuditEvent(SQLModel, table=True):
    """One change someone made (login, node CRUD, container action, command run...)."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    user_id: str = Field(default="", max_length=255, index=True)
    action: str = Field(max_length=64, index=True)
    target: str = Field(default="", max_length=255)
    outcome: str = Field(default="ok", max_length=16)
    detail: str = Field(default="", max_length=2000)
