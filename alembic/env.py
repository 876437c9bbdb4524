"""Alembic environment wired to SQLModel.metadata and LXC Manager's settings."""

from __future__ import annotations

from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

import lxc_manager.db.models  # noqa: F401 - registers every table on SQLModel.metadata
from alembic import context
from lxc_manager.db.engine import make_engine
from lxc_manager.db.migrate import migration_lock, refuse_newer_schema
from lxc_manager.settings import get_settings

config = context.config
target_metadata = SQLModel.metadata


def database_url() -> str:
    # A caller (tests, `lxc-manager migrate --url`) may pass the URL; else the settings decide.
    return config.attributes.get("database_url") or get_settings().database_url


def run_migrations_offline() -> None:
    url = database_url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = database_url()
    engine = make_engine(url)
    try:
        # Replicas starting together: one migrates while the others wait, then find the
        # schema at head. A schema newer than this code is refused before anything runs.
        with engine.connect() as connection, migration_lock(connection, url):
            refuse_newer_schema(connection, ScriptDirectory.from_config(config))
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=url.startswith("sqlite"),
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
            if connection.in_transaction():
                connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
