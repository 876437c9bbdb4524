"""SQLModel tables. Every table lives here so Alembic sees one metadata."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
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
    """A Proxmox host:port users may sign in against, with its pinned TLS fingerprint.

    `id` is random and never reused (DESIGN §3.2): a user id is `<proxmox user>@<id>`, so
    an id handed out again would give a new server the old one's users. Endpoints are
    disabled, never deleted; re-enabling the same host:port restores its users.
    """

    __tablename__ = "sign_in_endpoint"
    __table_args__ = (UniqueConstraint("host", "port", name="uq_sign_in_endpoint_host_port"),)

    id: str = Field(primary_key=True, max_length=32)
    host: str = Field(max_length=255)
    port: int = Field(default=8006)
    tls_fingerprint: str = Field(max_length=95)
    cluster_name: str = Field(default="", max_length=255)
    trusted_by: str = Field(default="", max_length=255)
    trusted_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    enabled: bool = Field(default=True, sa_type=Boolean)
    changed_by: str = Field(default="", max_length=255)
    changed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))

    @property
    def label(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


class InstallationMark(SQLModel, table=True):
    """One-time facts of an installation, e.g. `first-trust`: the row's primary key makes
    the first-use trust of a sign-in endpoint happen exactly once, even when two first
    sign-ins race (the second insert fails inside its transaction)."""

    __tablename__ = "installation_mark"

    name: str = Field(primary_key=True, max_length=64)
    value: str = Field(default="", max_length=255)
    at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


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
    # the other cluster members' pinned SSH host keys: {"pve2": {"ip": ..., "key": "SHA256:..."}}
    ssh_member_keys: str = Field(default="{}", sa_type=Text)
    cluster_name: str = Field(default="", max_length=255)
    cluster_key: str = Field(default="", sa_type=Text)
    pve_nodes: str = Field(default="[]", sa_type=Text)
    is_default: bool = Field(default=False, sa_type=Boolean)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class Template(SQLModel, table=True):
    """A recipe for a container (see `lxc_manager.templates.spec.TemplateSpec`).

    `source` is `filesystem` for catalog templates (read-only for everyone, owned by
    `catalog`, upserted by "Sync catalog" on their slug) and `custom` for the ones users
    create or duplicate. `owner` is a user id; `visibility` is `private` (only the owner
    sees and uses it) or `shared` (everyone uses it; the owner or an administrator edits).
    """

    __tablename__ = "template"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=64, unique=True)
    description: str = Field(default="", sa_type=Text)
    tags: str = Field(default="[]", sa_type=Text)
    os_template: str = Field(default="", max_length=128)
    version: str = Field(default="", max_length=64)
    cores: int = Field(default=1)
    memory_mb: int = Field(default=512)
    swap_mb: int = Field(default=512)
    disk_gb: int = Field(default=8)
    storage: str = Field(default="", max_length=64)
    bridge: str = Field(default="vmbr0", max_length=16)
    unprivileged: bool = Field(default=True, sa_type=Boolean)
    nesting: bool = Field(default=False, sa_type=Boolean)
    keyctl: bool = Field(default=False, sa_type=Boolean)
    fuse: bool = Field(default=False, sa_type=Boolean)
    source: str = Field(default="custom", max_length=16)
    source_path: str = Field(default="", sa_type=Text)
    owner: str = Field(default="", max_length=255, index=True)
    visibility: str = Field(default="private", max_length=16)
    created_by: str = Field(default="", max_length=255)
    updated_by: str = Field(default="", max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class TemplateScript(SQLModel, table=True):
    """One setup script of a template, run in `position` order through `bash -s`."""

    __tablename__ = "template_script"
    __table_args__ = (UniqueConstraint("template_id", "name", name="uq_template_script_name"),)

    id: int | None = Field(default=None, primary_key=True)
    template_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("template.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    position: int = Field(default=0)
    name: str = Field(max_length=64)
    content: str = Field(default="", sa_type=Text)
    enabled: bool = Field(default=True, sa_type=Boolean)


class TemplateFile(SQLModel, table=True):
    """A file a template writes into the container, with its overwrite policy."""

    __tablename__ = "template_file"
    __table_args__ = (UniqueConstraint("template_id", "name", name="uq_template_file_name"),)

    id: int | None = Field(default=None, primary_key=True)
    template_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("template.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    position: int = Field(default=0)
    name: str = Field(max_length=64)
    target_path: str = Field(sa_type=Text)
    content: str = Field(default="", sa_type=Text)
    policy: str = Field(default="replace", max_length=16)
    mode: str = Field(default="0644", max_length=4)


class PackageBucket(SQLModel, table=True):
    """A named, reusable list of packages (its rows in `package`), with an owner and a
    visibility like a template's."""

    __tablename__ = "package_bucket"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    description: str = Field(default="", sa_type=Text)
    owner: str = Field(default="", max_length=255, index=True)
    visibility: str = Field(default="private", max_length=16)
    created_by: str = Field(default="", max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class Package(SQLModel, table=True):
    """A package of a template or of a bucket (exactly one of the two)."""

    __tablename__ = "package"
    __table_args__ = (
        CheckConstraint(
            "(template_id IS NULL) <> (bucket_id IS NULL)", name="ck_package_one_owner"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    template_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("template.id", ondelete="CASCADE"), nullable=True, index=True
        ),
    )
    bucket_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("package_bucket.id", ondelete="CASCADE"), nullable=True, index=True
        ),
    )
    position: int = Field(default=0)
    manager: str = Field(max_length=16)
    name: str = Field(max_length=214)
    version: str = Field(default="", max_length=64)
    command: str = Field(default="", sa_type=Text)


class TemplateBucket(SQLModel, table=True):
    """A template's reference to a package bucket, in order."""

    __tablename__ = "template_bucket"

    template_id: int = Field(
        sa_column=Column(Integer, ForeignKey("template.id", ondelete="CASCADE"), primary_key=True)
    )
    bucket_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("package_bucket.id", ondelete="CASCADE"), primary_key=True
        )
    )
    position: int = Field(default=0)


class ProvisioningJob(SQLModel, table=True):
    """One container creation: what was asked, where it stands, how it ended.

    `request` is the whole validated request (a JSON snapshot of the template as it was
    at submit time, so later template edits do not change a running or retried job);
    `content_digest` is the SHA-256 of the scripts, files and packages it runs, the same
    digest the review step showed.
    `status`: queued, running, failed, succeeded, destroyed. `step` is the current or
    failed step (1 create .. 8 done).
    """

    __tablename__ = "provisioning_job"

    id: str = Field(primary_key=True, max_length=32)
    user_id: str = Field(max_length=255, index=True)
    node_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("proxmox_node.id", ondelete="SET NULL"), nullable=True
        ),
    )
    cluster_key: str = Field(default="", sa_type=Text)
    pve_node: str = Field(default="", max_length=64)
    vmid: int = Field(index=True)
    hostname: str = Field(max_length=253)
    template_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("template.id", ondelete="SET NULL"), nullable=True),
    )
    template_name: str = Field(default="", max_length=64)
    request: str = Field(default="{}", sa_type=Text)
    content_digest: str = Field(default="", max_length=64)
    status: str = Field(default="queued", max_length=16, index=True)
    step: int = Field(default=0)
    error: str = Field(default="", sa_type=Text)
    attempts: int = Field(default=0)
    rq_job_id: str = Field(default="", max_length=64)
    heartbeat_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    started_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    finished_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class ProvisioningEvent(SQLModel, table=True):
    """A step change of a provisioning job (start, end with outcome, error)."""

    __tablename__ = "provisioning_event"

    id: int | None = Field(default=None, primary_key=True)
    job_id: str = Field(
        sa_column=Column(
            String(32),
            ForeignKey("provisioning_job.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    step: int = Field(default=0)
    kind: str = Field(max_length=16)
    outcome: str = Field(default="", max_length=16)
    message: str = Field(default="", sa_type=Text)


class ConsoleRecording(SQLModel, table=True):
    """One recorded browser console (LXCM_CONSOLE_RECORDING=on): who, which container, how.

    `id` is random (128 bits): a recording is named only to its user and administrators.
    What was typed and shown is in `ConsoleRecordingChunk`, encrypted; this row holds no
    terminal content. `expires_at` = start + LXCM_CONSOLE_RECORDING_DAYS (the purge's key).
    """

    __tablename__ = "console_recording"

    id: str = Field(primary_key=True, max_length=32)
    user_id: str = Field(max_length=255, index=True)
    node_id: int = Field(index=True)
    vmid: int = Field(index=True)
    path: str = Field(default="", max_length=16)
    started_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    duration: float = Field(default=0.0)
    bytes_in: int = Field(default=0)
    bytes_out: int = Field(default=0)
    truncated: bool = Field(default=False, sa_type=Boolean)
    expires_at: datetime = Field(index=True, sa_type=DateTime(timezone=True))


class ConsoleRecordingChunk(SQLModel, table=True):
    """A run of a recording's events, sealed with the keyring (associated data
    `console_recording:{id}:{user_id}:{seq}`: a chunk copied to another recording, user
    or position does not decrypt)."""

    __tablename__ = "console_recording_chunk"
    __table_args__ = (UniqueConstraint("recording_id", "seq", name="uq_console_chunk_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    recording_id: str = Field(
        sa_column=Column(
            String(32),
            ForeignKey("console_recording.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    seq: int = Field(default=0)
    sealed: str = Field(sa_type=Text)


class OperationJob(SQLModel, table=True):
    """One long operation on containers run by an RQ worker (backup, restore, clone, ...):
    an ordered list of steps ("back up first, then restore" is one job with two steps).

    `steps` is JSON: `[{"kind": "backup", "args": {...}, "state": "pending|running|ok|
    failed|skipped", "message": "", "started_at": iso|null, "ended_at": iso|null}]`; the
    args hold ids and choices only, never a secret (they are what the run does, frozen at
    submit). `result` is JSON of what the steps produced (e.g. the backup's volid).
    `status`: queued, running, failed, succeeded; `step` is the current or failed step
    (1-based). Heartbeat and stale rules are provisioning's (`operations.stale`).
    """

    __tablename__ = "operation_job"

    id: str = Field(primary_key=True, max_length=32)
    user_id: str = Field(max_length=255, index=True)
    node_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("proxmox_node.id", ondelete="SET NULL"), nullable=True
        ),
    )
    cluster_key: str = Field(default="", sa_type=Text)
    pve_node: str = Field(default="", max_length=64)
    vmid: int = Field(index=True)
    kind: str = Field(max_length=32)
    title: str = Field(default="", max_length=255)
    steps: str = Field(default="[]", sa_type=Text)
    result: str = Field(default="{}", sa_type=Text)
    status: str = Field(default="queued", max_length=16, index=True)
    step: int = Field(default=0)
    error: str = Field(default="", sa_type=Text)
    attempts: int = Field(default=0)
    rq_job_id: str = Field(default="", max_length=64)
    heartbeat_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    started_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    finished_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class ApiKey(SQLModel, table=True):
    """A personal API key (issue 18): its user, a non-secret prefix for lookup and the
    SHA-256 of the whole key; the key itself is shown once and never stored.

    `endpoint_id` is the sign-in endpoint the user signed in through when creating it: a
    key of a disabled endpoint is refused, as its sessions are. Revoked keys stay (with
    `revoked_at`) so the audit trail and the list keep saying what they were.
    """

    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(max_length=255, index=True)
    endpoint_id: str = Field(default="", max_length=64)
    name: str = Field(max_length=100)
    prefix: str = Field(max_length=16, unique=True)
    key_hash: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    expires_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    last_used_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    revoked_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
