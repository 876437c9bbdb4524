"""Migration 0006 moves existing data, on SQLite and on PostgreSQL: integer sign-in
endpoint ids become random text ids and every user id follows them; existing templates
and buckets become shared, owned by `catalog` (catalog ones) or by the first administrator
seen (the user whose sign-in trusted the first endpoint)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.config import Config

from alembic import command
from lxc_manager.db.migrate import alembic_config
from tests.support.postgres import postgres_server

SEED = [
    "INSERT INTO sign_in_endpoint (id, host, port, tls_fingerprint, cluster_name, trusted_by, "
    "trusted_at) VALUES (1, 'pve-a', 8006, 'AA', 'lab', 'root@pam', '2026-11-01 10:00:00+00'), "
    "(2, 'pve-b', 8006, 'BB', '', 'root@pam@1', '2026-11-02 10:00:00+00')",
    "INSERT INTO proxmox_node (id, user_id, name, host, port, token_id, token_secret, "
    "ssh_user, ssh_port, ssh_secret_kind, tls_fingerprint, cluster_name, cluster_key, "
    "pve_nodes, is_default, created_at, updated_at) VALUES "
    "(1, 'root@pam@1', 'a', 'pve-a', 8006, 'root@pam!t', 'x', 'root', 22, '', 'AA', '', '', "
    "'[]', true, '2026-11-01 10:00:00+00', '2026-11-01 10:00:00+00'), "
    "(2, 'alice@pve@2', 'b', 'pve-b', 8006, 'alice@pve!t', 'x', 'root', 22, '', 'BB', '', '', "
    "'[]', true, '2026-11-01 10:00:00+00', '2026-11-01 10:00:00+00'), "
    "(3, 'bob@pve@12', 'c', 'pve-c', 8006, 'bob@pve!t', 'x', 'root', 22, '', 'CC', '', '', "
    "'[]', true, '2026-11-01 10:00:00+00', '2026-11-01 10:00:00+00')",
    "INSERT INTO template (id, slug, name, description, tags, os_template, version, cores, "
    "memory_mb, swap_mb, disk_gb, storage, bridge, unprivileged, nesting, keyctl, fuse, "
    "source, source_path, created_by, updated_by, created_at, updated_at) VALUES "
    "(1, 'docker', 'Docker', '', '[]', '', '', 1, 512, 512, 8, '', 'vmbr0', true, false, "
    "false, false, 'filesystem', '/x', 'root@pam@1', 'root@pam@1', "
    "'2026-11-01 10:00:00+00', '2026-11-01 10:00:00+00'), "
    "(2, 'mine', 'Mine', '', '[]', '', '', 1, 512, 512, 8, '', 'vmbr0', true, false, false, "
    "false, 'custom', '', 'alice@pve@2', 'alice@pve@2', "
    "'2026-11-01 10:00:00+00', '2026-11-01 10:00:00+00')",
    "INSERT INTO package_bucket (id, name, description, created_by, created_at, updated_at) "
    "VALUES (1, 'tools', '', 'alice@pve@2', '2026-11-01 10:00:00+00', "
    "'2026-11-01 10:00:00+00')",
    "INSERT INTO provisioning_job (id, user_id, cluster_key, pve_node, vmid, hostname, "
    "template_name, request, status, step, error, attempts, rq_job_id, created_at) VALUES "
    "('j1', 'alice@pve@2', '', 'pve1', 100, 'web', '', '{}', 'succeeded', 8, '', 1, '', "
    "'2026-11-01 10:00:00+00')",
    "INSERT INTO audit_event (at, user_id, action, target, outcome, detail) VALUES "
    "('2026-11-01 10:00:00+00', 'root@pam@1', 'login', '', 'ok', '')",
]


def _config(url: str) -> Config:
    return alembic_config(url)


def check_migration_moves_data(url: str) -> None:
    command.upgrade(_config(url), "0005")
    engine = sa.create_engine(url)
    try:
        with engine.begin() as db:
            for statement in SEED:
                db.execute(sa.text(statement))
        command.upgrade(_config(url), "0006")
        with engine.connect() as db:
            ids = {
                host: id_
                for host, id_ in db.execute(sa.text("SELECT host, id FROM sign_in_endpoint"))
            }
            a, b = ids["pve-a"], ids["pve-b"]
            assert len(a) == 16 and len(b) == 16 and a != b and not a.isdigit()
            assert db.execute(
                sa.text("SELECT enabled, trusted_by FROM sign_in_endpoint WHERE id = :id"),
                {"id": b},
            ).one() == (True, f"root@pam@{a}")
            nodes = db.execute(sa.text("SELECT name, user_id FROM proxmox_node ORDER BY name"))
            # bob's endpoint 12 no longer exists: his id is left as it was (no new meaning).
            assert [tuple(row) for row in nodes] == [
                ("a", f"root@pam@{a}"),
                ("b", f"alice@pve@{b}"),
                ("c", "bob@pve@12"),
            ]
            templates = db.execute(
                sa.text("SELECT slug, owner, visibility, created_by FROM template ORDER BY id")
            )
            assert [tuple(row) for row in templates] == [
                ("docker", "catalog", "shared", f"root@pam@{a}"),
                ("mine", f"root@pam@{a}", "shared", f"alice@pve@{b}"),
            ]
            assert db.execute(sa.text("SELECT owner, visibility FROM package_bucket")).one() == (
                f"root@pam@{a}",
                "shared",
            )
            assert db.execute(sa.text("SELECT user_id FROM provisioning_job")).scalar_one() == (
                f"alice@pve@{b}"
            )
            assert db.execute(sa.text("SELECT user_id FROM audit_event")).scalar_one() == (
                f"root@pam@{a}"
            )
            assert db.execute(sa.text("SELECT name FROM installation_mark")).scalar_one() == (
                "first-trust"
            )
        command.downgrade(_config(url), "0005")  # and back: integer ids again
        with engine.connect() as db:
            back = db.execute(sa.text("SELECT user_id FROM proxmox_node ORDER BY name"))
            assert back.scalars().all() == ["root@pam@1", "alice@pve@2", "bob@pve@12"]
    finally:
        engine.dispose()


def test_migration_0006_moves_data_on_sqlite(tmp_path: Path) -> None:
    check_migration_moves_data(f"sqlite:///{tmp_path / 'm.db'}")


def test_migration_0006_moves_data_on_postgresql() -> None:
    with postgres_server() as url:
        check_migration_moves_data(url)
