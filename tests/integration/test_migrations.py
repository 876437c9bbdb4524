"""Migrations on an empty SQLite and on a real PostgreSQL, through both entry points."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy

from lxc_manager.db.migrate import current_revision, upgrade_head
from lxc_manager.security import audit
from tests.support.app import REPO
from tests.support.postgres import postgres_server

HEAD = "0010"  # the newest revision in alembic/versions

EXPECTED_TABLES = {
    "audit_event",
    "sign_in_endpoint",
    "proxmox_node",
    "template",
    "template_script",
    "template_file",
    "package",
    "package_bucket",
    "template_bucket",
    "provisioning_job",
    "provisioning_event",
    "installation_mark",
    "console_recording",
    "console_recording_chunk",
    "api_key",
    "alembic_version",
}


def tables(url: str) -> set[str]:
    engine = sqlalchemy.create_engine(url)
    try:
        return set(sqlalchemy.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LXCM_", "DATABASE_URL", "REDIS_URL"))
    }
    env.update(extra)
    return env


def test_cli_migrate_on_empty_sqlite(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "lxc_manager.cli", "migrate"],
        env=clean_env(LXCM_DATA_DIR=str(tmp_path / "data")),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert f"database at revision {HEAD}" in result.stdout
    url = f"sqlite:///{tmp_path / 'data' / 'lxc-manager.db'}"
    assert tables(url) >= EXPECTED_TABLES
    with sqlalchemy.create_engine(url).connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_alembic_upgrade_head_on_empty_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'alembic.db'}"
    result = subprocess.run(
        [str(Path(sys.executable).with_name("alembic")), "upgrade", "head"],
        env=clean_env(DATABASE_URL=url),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert tables(url) >= EXPECTED_TABLES
    assert current_revision(url) == HEAD


def test_migrations_on_postgresql() -> None:
    with postgres_server() as url:
        upgrade_head(url)
        assert tables(url) >= EXPECTED_TABLES
        assert current_revision(url) == HEAD
        upgrade_head(url)  # idempotent
        result = subprocess.run(
            [str(Path(sys.executable).with_name("alembic")), "downgrade", "base"],
            env=clean_env(DATABASE_URL=url.replace("+psycopg", "")),
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert tables(url) == {"alembic_version"}


@pytest.mark.usefixtures("app_settings")
def test_audit_record_is_stored_and_listed() -> None:
    upgrade_head()
    audit.record("node.create", user_id="root@pam@1", target="node:pve1", detail="added")
    audit.record("login", user_id="alice@pve@1", outcome=audit.Outcome.FAILED, detail="x" * 5000)
    events = audit.recent()
    assert [e.action for e in events] == ["login", "node.create"]
    assert events[0].outcome == "failed" and len(events[0].detail) == audit.DETAIL_LIMIT
    assert [e.target for e in audit.recent(user_id="root@pam@1")] == ["node:pve1"]


def assert_models_match_migrations(url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlmodel import SQLModel

    import lxc_manager.db.models  # noqa: F401

    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, SQLModel.metadata) == []
    finally:
        engine.dispose()


def test_models_match_migrations_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'compare.db'}"
    upgrade_head(url)
    assert_models_match_migrations(url)


def test_models_match_migrations_postgresql() -> None:
    with postgres_server() as url:
        upgrade_head(url)
        assert_models_match_migrations(url)
