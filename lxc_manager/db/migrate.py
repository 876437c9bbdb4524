"""Run Alembic migrations from code (`lxc-manager migrate`, `serve` at start, tests).

Several replicas may start together on one database: `alembic/env.py` holds
`migration_lock` around the upgrade (a PostgreSQL advisory lock on the connection Alembic
migrates with; an flock on a file next to a SQLite database), so one migrates and the
others find the schema at head. A database whose revision this code does not know (a newer
release migrated it) is refused with `SchemaNewerThanCode` before anything runs.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

from alembic import command
from lxc_manager.frontend import project_dir

# pg_advisory_lock key of the schema migration (any fixed bigint; "LXCM" + 1).
MIGRATION_LOCK_KEY = 0x4C58434D0001
LOCK_FILE_NAME = ".lxc-manager-migrate.lock"


class SchemaNewerThanCode(RuntimeError):
    """The database was migrated by a newer release; its message is one line for the operator."""


def alembic_config(database_url: str | None = None) -> Config:
    root = project_dir()
    config = Config(str(root / "alembic.ini"))
    config.set_main_option("script_location", str(root / "alembic"))
    if database_url:
        config.attributes["database_url"] = database_url
    return config


def upgrade_head(database_url: str | None = None) -> None:
    command.upgrade(alembic_config(database_url), "head")


def lock_file_for(url: str) -> Path:
    """The file flocked around a SQLite migration: next to the database file, else in
    LXCM_DATA_DIR (an in-memory database)."""
    path = url.removeprefix("sqlite:///").partition("?")[0] if url.startswith("sqlite:///") else ""
    if path and path != ":memory:":
        database = Path(path)
        return database.with_name(database.name + ".migrate.lock")
    from lxc_manager.settings import get_settings

    return get_settings().data_dir / LOCK_FILE_NAME


@contextmanager
def migration_lock(connection: Connection, url: str) -> Iterator[None]:
    """Hold the cross-process migration lock while the block runs."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        connection.commit()  # a session lock: it outlives this transaction
        try:
            yield
        finally:
            if connection.in_transaction():
                connection.rollback()
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
            connection.commit()
        return
    if connection.dialect.name == "sqlite":
        lock_path = lock_file_for(url)
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the flock
        return
    yield


def refuse_newer_schema(connection: Connection, script: ScriptDirectory) -> None:
    """Raise `SchemaNewerThanCode` when the database names a revision `script` does not know."""
    from alembic.runtime.migration import MigrationContext

    known = {revision.revision for revision in script.walk_revisions()}
    current = MigrationContext.configure(connection).get_current_heads()
    if connection.in_transaction():
        connection.commit()
    unknown = [revision for revision in current if revision not in known]
    if unknown:
        raise SchemaNewerThanCode(
            f"the database schema is at revision {', '.join(unknown)}, which this version of "
            f"LXC Manager does not know (its newest is {script.get_current_head()}): a newer "
            "release migrated it; run that release (or restore a backup made for this one)"
        )


def current_revision(database_url: str | None = None) -> str | None:
    from alembic.runtime.migration import MigrationContext

    from lxc_manager.db.engine import make_engine
    from lxc_manager.settings import get_settings

    engine = make_engine(database_url or get_settings().database_url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
