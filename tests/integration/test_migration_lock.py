"""Scale-out start-up: replicas migrating one database at once, and a schema newer than
the code (real PostgreSQL and SQLite, real `lxc-manager` processes)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy

from lxc_manager.db.migrate import current_revision, upgrade_head
from tests.integration.test_migrations import EXPECTED_TABLES, HEAD, clean_env, tables
from tests.support.postgres import postgres_server

REPLICAS = 3


def migrate_at_once(env: dict[str, str], cwd: Path) -> list[subprocess.CompletedProcess[str]]:
    """Start `REPLICAS` `lxc-manager migrate` together; wait for all of them."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "lxc_manager.cli", "migrate"],
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(REPLICAS)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        results.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return results


def version_rows(url: str) -> list[str]:
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as connection:
            return [
                row[0]
                for row in connection.exec_driver_sql("SELECT version_num FROM alembic_version")
            ]
    finally:
        engine.dispose()


def stamp(url: str, revision: str) -> None:
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(f"UPDATE alembic_version SET version_num = '{revision}'")
    finally:
        engine.dispose()


def assert_all_migrated(results: list[subprocess.CompletedProcess[str]], url: str) -> None:
    for result in results:
        assert result.returncode == 0, result.stderr[-3000:]
        assert f"database at revision {HEAD}" in result.stdout
    assert version_rows(url) == [HEAD]
    assert tables(url) >= EXPECTED_TABLES


def test_replicas_migrating_one_postgresql_at_once_all_succeed(tmp_path: Path) -> None:
    with postgres_server() as url:
        results = migrate_at_once(
            clean_env(LXCM_DATA_DIR=str(tmp_path / "data"), DATABASE_URL=url), tmp_path
        )
        assert_all_migrated(results, url)


def test_replicas_migrating_one_sqlite_at_once_all_succeed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    results = migrate_at_once(clean_env(LXCM_DATA_DIR=str(data)), tmp_path)
    assert_all_migrated(results, f"sqlite:///{data / 'lxc-manager.db'}")
    assert (data / "lxc-manager.db.migrate.lock").exists()


REFUSAL = "refusing to start: the database schema is at revision 9999"


@pytest.mark.parametrize("command", ["migrate", "serve"])
def test_a_schema_newer_than_the_code_is_refused(tmp_path: Path, command: str) -> None:
    data = tmp_path / "data"
    url = f"sqlite:///{data / 'lxc-manager.db'}"
    upgrade_head(url)
    stamp(url, "9999")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "lxc_manager.cli",
            command,
            *(["--no-build"] if command == "serve" else []),
        ],
        env=clean_env(LXCM_DATA_DIR=str(data)),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    refusal = [line for line in result.stderr.splitlines() if REFUSAL in line]
    assert refusal, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert version_rows(url) == ["9999"]  # nothing ran


def test_a_schema_newer_than_the_code_is_refused_on_postgresql() -> None:
    from lxc_manager.db.migrate import SchemaNewerThanCode

    with postgres_server() as url:
        upgrade_head(url)
        stamp(url, "9999")
        with pytest.raises(SchemaNewerThanCode, match="revision 9999"):
            upgrade_head(url)
        assert current_revision(url) == "9999"
