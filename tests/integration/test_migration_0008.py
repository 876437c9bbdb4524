"""Migration 0008 adds the console recording tables (a recording and its sealed chunks),
and its downgrade removes them again, on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from alembic import command
from lxc_manager.db.migrate import alembic_config
from tests.support.postgres import postgres_server

RECORDING = (
    "INSERT INTO console_recording (id, user_id, node_id, vmid, path, started_at, duration, "
    "bytes_in, bytes_out, truncated, expires_at) VALUES ('r1', 'root@pam@e1', 1, 101, 'ssh', "
    "'2026-12-01 10:00:00+00', 1.5, 3, 40, false, '2026-12-31 10:00:00+00')"
)
CHUNK = "INSERT INTO console_recording_chunk (recording_id, seq, sealed) VALUES ('r1', 0, 'v1:k:x')"


def _tables(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def check_console_tables(url: str) -> None:
    config = alembic_config(url)
    command.upgrade(config, "0007")
    engine = sa.create_engine(url)
    try:
        assert "console_recording" not in _tables(engine)
        command.upgrade(config, "0008")
        with engine.begin() as db:
            db.execute(sa.text(RECORDING))
            db.execute(sa.text(CHUNK))
            rows = db.execute(
                sa.text(
                    "SELECT r.id, r.path, c.seq, c.sealed FROM console_recording r "
                    "JOIN console_recording_chunk c ON c.recording_id = r.id"
                )
            )
            assert [tuple(r) for r in rows] == [("r1", "ssh", 0, "v1:k:x")]
        # the same position of a recording twice is refused by the database
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as db:
            db.execute(sa.text(CHUNK))
        command.downgrade(config, "0007")
        engine.dispose()
        assert not {"console_recording", "console_recording_chunk"} & _tables(engine)
        assert "proxmox_node" in _tables(engine)
        command.upgrade(config, "head")
        engine.dispose()
        assert {"console_recording", "console_recording_chunk"} <= _tables(engine)
    finally:
        engine.dispose()


def test_migration_0008_on_sqlite(tmp_path: Path) -> None:
    check_console_tables(f"sqlite:///{tmp_path / 'm.db'}")


def test_migration_0008_on_postgresql() -> None:
    with postgres_server() as url:
        check_console_tables(url)
