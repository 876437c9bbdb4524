"""operation jobs: long operations on containers (backup, restore, clone...) as steps

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03

- `operation_job`: one RQ-run operation of a user on a container, its ordered steps
  (JSON), status, heartbeat and result (see `lxc_manager.operations`).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "operation_job",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("node_id", sa.Integer(), nullable=True),
        sa.Column("cluster_key", sa.Text(), nullable=False),
        sa.Column("pve_node", sa.String(length=64), nullable=False),
        sa.Column("vmid", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("steps", sa.Text(), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
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
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_operation_job_status", "operation_job", ["status"])
    op.create_index("ix_operation_job_user_id", "operation_job", ["user_id"])
    op.create_index("ix_operation_job_vmid", "operation_job", ["vmid"])


def downgrade() -> None:
    op.drop_index("ix_operation_job_vmid", table_name="operation_job")
    op.drop_index("ix_operation_job_user_id", table_name="operation_job")
    op.drop_index("ix_operation_job_status", table_name="operation_job")
    op.drop_table("operation_job")
