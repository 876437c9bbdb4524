"""SQLModel tables. Every table lives here so Alembic sees one metadata."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Boolean, DateTime, Index, Text, UniqueConstraint, text
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


class ProxmoxNode(SQLModel, table=True):
    """One endpoint of one user (DESIGN §0): host:port, API token, optional SSH credentials.

    `token_secret` and `ssh_secret` hold ciphertexts bound to `proxmox_node:{id}:{field}`
    (see `lxc_manager.nodes.secrets`). At most one default node per user: the partial
    unique index below enforces it in the database itself.
    """

    __tablename__ = "proxmox_node"
    __table_args__ = (
        UniqueConstraint("user_id", "name", name="uq_proxmox_node_user_name"),
        Index(
            "uq_proxmox_node_one_default",
            "user_id",
            unique=True,
            sqlite_where=text("is_default"),
            postgresql_where=text("is_default"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(max_length=255, index=True)
    name: str = Field(max_length=64)
    host: str = Field(max_length=255)
    port: int = Field(default=8006)
    token_id: str = Field(max_length=255)
    token_secret: str = Field(default="", sa_type=Text)
    ssh_user: str = Field(default="root", max_length=64)
    ssh_port: int = Field(default=22)
    ssh_secret: str | None = Field(default=None, sa_type=Text)
    ssh_secret_kind: str = Field(default="", max_length=16)
    tls_fingerprint: str = Field(max_length=95)
    ssh_host_key: str | None = Field(default=None, max_length=95)
    cluster_name: str = Field(default="", max_length=255)
    cluster_key: str = Field(default="", sa_type=Text)
    pve_nodes: str = Field(default="[]", sa_type=Text)
    is_default: bool = Field(default=False, sa_type=Boolean)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
