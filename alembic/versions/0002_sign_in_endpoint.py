"""sign_in_endpoint: trusted Proxmox sign-in endpoints

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sign_in_endpoint",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("tls_fingerprint", sa.String(length=95), nullable=False),
        sa.Column("cluster_name", sa.String(length=255), nullable=False),
        sa.Column("trusted_by", sa.String(length=255), nullable=False),
        sa.Column("trusted_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("host", "port", name="uq_sign_in_endpoint_host_port"),
    )


def downgrade() -> None:
    op.drop_table("sign_in_endpoint")
