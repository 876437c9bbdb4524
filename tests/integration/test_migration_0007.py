"""Migration 0007 adds `proxmox_node.ssh_member_keys` (the cluster members' pinned SSH
host keys) with `{}` for existing nodes, and its downgrade removes it again, on SQLite and
on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from alembic import command
from lxc_manager.db.migrate import alembic_config
from tests.support.postgres import postgres_server

NODE = (
    "INSERT INTO proxmox_node (id, user_id, name, host, port, token_id, token_secret, "
    "ssh_user, ssh_port, ssh_secret_kind, tls_fingerprint, cluster_name, cluster_key, "
    "pve_nodes, is_default, created_at, updated_at) VALUES "
    "(1, 'root@pam@e1', 'a', 'pve-a', 8006, 'root@pam!t', 'x', 'root', 22, '', 'AA', 'lab', "
    "'k', '[\"pve1\",\"pve2\"]', true, '2026-11-01 10:00:00+00', '2026-11-01 10:00:00+00')"
)
KEYS = '{"pve2": {"ip": "10.0.0.2", "key": "SHA256:abc"}}'


def _columns(engine: sa.Engine) -> set[str]:
    return {c["name"] for c in sa.inspect(engine).get_columns("proxmox_node")}


def check_member_keys_column(url: str) -> None:
    config = alembic_config(url)
    command.upgrade(config, "0006")
    engine = sa.create_engine(url)
    try:
        with engine.begin() as db:
            db.execute(sa.text(NODE))
        assert "ssh_member_keys" not in _columns(engine)
        command.upgrade(config, "0007")
        with engine.begin() as db:
            assert (
                db.execute(sa.text("SELECT ssh_member_keys FROM proxmox_node")).scalar_one() == "{}"
            )
            db.execute(sa.text("UPDATE proxmox_node SET ssh_member_keys = :k"), {"k": KEYS})
            second = NODE.replace("(1, ", "(2, ").replace("'a', 'pve-a'", "'b', 'pve-b'")
            db.execute(sa.text(second.replace("true,", "false,")))
            rows = db.execute(sa.text("SELECT id, ssh_member_keys FROM proxmox_node ORDER BY id"))
            assert [tuple(r) for r in rows] == [(1, KEYS), (2, "{}")]
        command.downgrade(config, "0006")
        engine.dispose()
        assert "ssh_member_keys" not in _columns(engine)
        with engine.connect() as db:
            names = db.execute(sa.text("SELECT name, host FROM proxmox_node ORDER BY id"))
            assert [tuple(r) for r in names] == [("a", "pve-a"), ("b", "pve-b")]
        command.upgrade(config, "head")
        engine.dispose()
        assert "ssh_member_keys" in _columns(engine)
    finally:
        engine.dispose()


def test_migration_0007_on_sqlite(tmp_path: Path) -> None:
    check_member_keys_column(f"sqlite:///{tmp_path / 'm.db'}")


def test_migration_0007_on_postgresql() -> None:
    with postgres_server() as url:
        check_member_keys_column(url)
