"""cluster member SSH host keys of a node

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02

- `proxmox_node.ssh_member_keys`: JSON `{"pve2": {"ip": "10.0.0.2", "key": "SHA256:..."}}`,
  the pinned SSH host key of every other member of the node's cluster (the app connects to
  the member that holds a container directly, at its `/cluster/status` address).
  Existing nodes start with none: their members are pinned on first use.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("proxmox_node") as batch:
        batch.add_column(
            sa.Column("ssh_member_keys", sa.Text(), nullable=False, server_default="{}")
        )


def downgrade() -> None:
    with op.batch_alter_table("proxmox_node") as batch:
        batch.drop_column("ssh_member_keys")
