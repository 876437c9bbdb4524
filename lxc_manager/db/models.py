"""SQLModel tables. Every table lives here so Alembic sees one metadata."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class AuditEvent(SQLModel, table=True):
    """One change someone made (login, node CRUD, container action, command run...)."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True, sa_type=DateTime(timezone=True))
    user_id: str = Field(default="", max_length=255, index=True)
    action: str = Field(max_length=64, index=True)
    target: str = Field(default="", max_length=255)
    outcome: str = Field(default="ok", max_length=16)
    detail: str = Field(default="", max_length=2000)


class SignInEndpoint(SQLModel, table=True):
    """A Proxmox host:port users may sign in against, with its pinned TLS fingerprint."""

    __tablename__ = "sign_in_endpoint"
    __table_args__ = (UniqueConstraint("host", "port", name="uq_sign_in_endpoint_host_port"),)

    id: int | None = Field(default=None, primary_key=True)
    host: str = Field(max_length=255)
    port: int = Field(default=8006)
    tls_fingerprint: str = Field(max_length=95)
    cluster_name: str = Field(default="", max_length=255)
    trusted_by: str = Field(default="", max_length=255)
    trusted_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))

    @property
    def label(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"
