"""provisioning: one job per container creation, and its step events

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "provisioning_job",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("node_id", sa.Integer(), nullable=True),
        sa.Column("cluster_key", sa.Text(), nullable=False),
        sa.Column("pve_node", sa.String(length=64), nullable=False),
        sa.Column("vmid", sa.Integer(), nullable=False),
        sa.Column("hostname", sa.String(length=253), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=True),
        sa.Column("template_name", sa.String(length=64), nullable=False),
        sa.Column("request", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("rq_job_id", sa.String(length=64), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["node_id"], ["proxmox_node.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["template_id"], ["template.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_provisioning_job_status", "provisioning_job", ["status"])
    op.create_index("ix_provisioning_job_user_id", "provisioning_job", ["user_id"])
    op.create_index("ix_provisioning_job_vmid", "provisioning_job", ["vmid"])

    op.create_table(
        "provisioning_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["provisioning_job.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_provisioning_event_job_id", "provisioning_event", ["job_id"])


def downgrade() -> None:
    op.drop_index("ix_provisioning_event_job_id", table_name="provisioning_event")
    op.drop_table("provisioning_event")
    op.drop_index("ix_provisioning_job_status", table_name="provisioning_job")
    op.drop_index("ix_provisioning_job_user_id", table_name="provisioning_job")
    op.drop_index("ix_provisioning_job_vmid", table_name="provisioning_job")
    op.drop_table("provisioning_job")
