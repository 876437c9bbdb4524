"""console recordings: a row per recorded browser console, its events in sealed chunks

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-10

- `console_recording`: who recorded which container through which path, when, how long,
  bytes each way, and when it expires (LXCM_CONSOLE_RECORDING_DAYS).
- `console_recording_chunk`: the terminal events, AES-256-GCM with the app's keyring,
  bound to recording id, user and position.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "console_recording",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("node_id", sa.Integer(), nullable=False),
        sa.Column("vmid", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration", sa.Float(), nullable=False),
        sa.Column("bytes_in", sa.Integer(), nullable=False),
        sa.Column("bytes_out", sa.Integer(), nullable=False),
        sa.Column("truncated", sa.Boolean(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_console_recording_user_id", "console_recording", ["user_id"])
    op.create_index("ix_console_recording_node_id", "console_recording", ["node_id"])
    op.create_index("ix_console_recording_vmid", "console_recording", ["vmid"])
    op.create_index("ix_console_recording_expires_at", "console_recording", ["expires_at"])
    op.create_table(
        "console_recording_chunk",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recording_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["recording_id"], ["console_recording.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("recording_id", "seq", name="uq_console_chunk_seq"),
    )
    op.create_index(
        "ix_console_recording_chunk_recording_id", "console_recording_chunk", ["recording_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_console_recording_chunk_recording_id", table_name="console_recording_chunk")
    op.drop_table("console_recording_chunk")
    op.drop_index("ix_console_recording_expires_at", table_name="console_recording")
    op.drop_index("ix_console_recording_vmid", table_name="console_recording")
    op.drop_index("ix_console_recording_node_id", table_name="console_recording")
    op.drop_index("ix_console_recording_user_id", table_name="console_recording")
    op.drop_table("console_recording")
