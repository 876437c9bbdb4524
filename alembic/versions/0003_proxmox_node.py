"""proxmox_node: each user's Proxmox endpoints (API token, optional SSH credentials)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "proxmox_node",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("token_id", sa.String(length=255), nullable=False),
        sa.Column("token_secret", sa.Text(), nullable=False),
        sa.Column("ssh_user", sa.String(length=64), nullable=False),
        sa.Column("ssh_port", sa.Integer(), nullable=False),
        sa.Column("ssh_secret", sa.Text(), nullable=True),
        sa.Column("ssh_secret_kind", sa.String(length=16), nullable=False),
        sa.Column("tls_fingerprint", sa.String(length=95), nullable=False),
        sa.Column("ssh_host_key", sa.String(length=95), nullable=True),
        sa.Column("cluster_name", sa.String(length=255), nullable=False),
        sa.Column("cluster_key", sa.Text(), nullable=False),
        sa.Column("pve_nodes", sa.Text(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("user_id", "name", name="uq_proxmox_node_user_name"),
    )
    op.create_index("ix_proxmox_node_user_id", "proxmox_node", ["user_id"])
    # At most one default node per user, enforced by the database (a partial unique index).
    op.create_index(
        "uq_proxmox_node_one_default",
        "proxmox_node",
        ["user_id"],
        unique=True,
        sqlite_where=sa.text("is_default"),
        postgresql_where=sa.text("is_default"),
    )


def downgrade() -> None:
    op.drop_index("uq_proxmox_node_one_default", table_name="proxmox_node")
    op.drop_index("ix_proxmox_node_user_id", table_name="proxmox_node")
    op.drop_table("proxmox_node")
