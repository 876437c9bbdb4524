"""multi-user trust: random endpoint ids, enabled flag, template and bucket owners

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

- `sign_in_endpoint.id` becomes a random, never-reused text id (an integer could be
  handed out again by the database, giving a new server the old one's users). Every user
  id `<proxmox user>@<old integer id>` is rewritten to the new id, so nodes, jobs,
  templates and the audit trail stay with their users.
- `sign_in_endpoint.enabled` (endpoints are disabled, not deleted), `changed_by/at`.
- `installation_mark`: the first-use trust happens once (its primary key decides a race).
- `template.owner/visibility`, `package_bucket.owner/visibility`: existing ones become
  shared; catalog templates are owned by `catalog`, the others by the first administrator
  seen (the user whose sign-in trusted the first endpoint), else by their creator.
- `provisioning_job.content_digest`: the digest of what a job runs, frozen at submit.
"""

import re
import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

USER_ID_COLUMNS = (
    ("proxmox_node", "user_id"),
    ("provisioning_job", "user_id"),
    ("audit_event", "user_id"),
    ("template", "created_by"),
    ("template", "updated_by"),
    ("package_bucket", "created_by"),
    ("sign_in_endpoint", "trusted_by"),
)
_USER_ID = re.compile(r"^(?P<user>.+@[^@]+)@(?P<endpoint>[^@]+)$")


def new_endpoint_id() -> str:
    return secrets.token_hex(8)


def _endpoint_table(name: str, id_type: sa.types.TypeEngine[object]) -> sa.Table:
    return sa.Table(
        name,
        sa.MetaData(),
        sa.Column("id", id_type, primary_key=True),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("tls_fingerprint", sa.String(length=95), nullable=False),
        sa.Column("cluster_name", sa.String(length=255), nullable=False),
        sa.Column("trusted_by", sa.String(length=255), nullable=False),
        sa.Column("trusted_at", sa.DateTime(timezone=True), nullable=False),
        *(
            (
                sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
                sa.Column("changed_by", sa.String(length=255), nullable=False, server_default=""),
                sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True),
            )
            if isinstance(id_type, sa.String)
            else ()
        ),
        sa.UniqueConstraint("host", "port", name="uq_sign_in_endpoint_host_port_v2"),
    )


def _replace_endpoint_table(bind: sa.Connection, to_text: bool) -> dict[str, str]:
    """Copy the endpoints into a table with text (or, going back, integer) ids; return the
    map old id -> new id."""
    names = ("id", "host", "port", "tls_fingerprint", "cluster_name", "trusted_by")
    current = sa.table(
        "sign_in_endpoint",
        *(sa.column(name) for name in names),
        sa.column("trusted_at", sa.DateTime(timezone=True)),
    )
    columns = [*names, "trusted_at"]
    rows = bind.execute(
        sa.select(*(current.c[name] for name in columns)).order_by(
            current.c.trusted_at, current.c.id
        )
    ).all()
    if to_text:
        id_map = {str(row[0]): new_endpoint_id() for row in rows}
    else:
        id_map = {str(row[0]): str(number) for number, row in enumerate(rows, start=1)}
    table = _endpoint_table(
        "sign_in_endpoint_v2", sa.String(length=32) if to_text else sa.Integer()
    )
    table.create(bind)
    for row in rows:
        values = dict(zip(columns, row, strict=True))
        values["id"] = id_map[str(row[0])] if to_text else int(id_map[str(row[0])])
        bind.execute(table.insert().values(**values))
    op.drop_table("sign_in_endpoint")
    op.rename_table("sign_in_endpoint_v2", "sign_in_endpoint")
    with op.batch_alter_table("sign_in_endpoint") as batch:
        batch.drop_constraint("uq_sign_in_endpoint_host_port_v2", type_="unique")
        batch.create_unique_constraint("uq_sign_in_endpoint_host_port", ["host", "port"])
    return id_map


def _rewrite_user_ids(bind: sa.Connection, id_map: dict[str, str]) -> None:
    for table, column in USER_ID_COLUMNS:
        values = bind.execute(sa.text(f"SELECT DISTINCT {column} FROM {table}")).scalars()
        for value in list(values):
            match = _USER_ID.match(value or "")
            if match is None or match["endpoint"] not in id_map:
                continue
            bind.execute(
                sa.text(f"UPDATE {table} SET {column} = :new WHERE {column} = :old"),
                {"new": f"{match['user']}@{id_map[match['endpoint']]}", "old": value},
            )


def _first_administrator(bind: sa.Connection) -> str:
    row = bind.execute(
        sa.text(
            "SELECT id, trusted_by FROM sign_in_endpoint "
            "WHERE trusted_by <> '' ORDER BY trusted_at LIMIT 1"
        )
    ).first()
    if row is None:
        return ""
    endpoint_id, trusted_by = row
    # trusted_by was a bare Proxmox user (sign-in) or already a user id (Settings page).
    return trusted_by if trusted_by.endswith(f"@{endpoint_id}") else f"{trusted_by}@{endpoint_id}"


def upgrade() -> None:
    bind = op.get_bind()
    id_map = _replace_endpoint_table(bind, to_text=True)
    _rewrite_user_ids(bind, id_map)

    op.create_table(
        "installation_mark",
        sa.Column("name", sa.String(length=64), primary_key=True),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    if id_map:
        marks = sa.table(
            "installation_mark", sa.column("name"), sa.column("value"), sa.column("at")
        )
        bind.execute(
            marks.insert().values(name="first-trust", value="migrated", at=sa.func.now())
        )

    for table in ("template", "package_bucket"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("owner", sa.String(length=255), nullable=False, server_default="")
            )
            batch.add_column(
                sa.Column(
                    "visibility", sa.String(length=16), nullable=False, server_default="private"
                )
            )
            batch.create_index(f"ix_{table}_owner", ["owner"])
    admin = _first_administrator(bind)
    bind.execute(sa.text("UPDATE template SET visibility = 'shared'"))
    bind.execute(sa.text("UPDATE package_bucket SET visibility = 'shared'"))
    bind.execute(sa.text("UPDATE template SET owner = 'catalog' WHERE source = 'filesystem'"))
    for table in ("template", "package_bucket"):
        bind.execute(
            sa.text(f"UPDATE {table} SET owner = :admin WHERE owner = ''"),
            {"admin": admin},
        )
        bind.execute(sa.text(f"UPDATE {table} SET owner = created_by WHERE owner = ''"))
        bind.execute(sa.text(f"UPDATE {table} SET owner = 'catalog' WHERE owner = ''"))

    with op.batch_alter_table("provisioning_job") as batch:
        batch.add_column(
            sa.Column("content_digest", sa.String(length=64), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("provisioning_job") as batch:
        batch.drop_column("content_digest")
    for table in ("template", "package_bucket"):
        with op.batch_alter_table(table) as batch:
            batch.drop_index(f"ix_{table}_owner")
            batch.drop_column("visibility")
            batch.drop_column("owner")
    op.drop_table("installation_mark")
    bind = op.get_bind()
    id_map = _replace_endpoint_table(bind, to_text=False)
    _rewrite_user_ids(bind, id_map)
