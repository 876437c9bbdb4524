"""Run Alembic migrations from code (`lxc-manager migrate`, `serve` at start, tests)."""

from __future__ import annotations

from alembic.config import Config

from alembic import command
from lxc_manager.frontend import project_dir


def alembic_config(database_url: str | None = None) -> Config:
    root = project_dir()
    config = Config(str(root / "alembic.ini"))
    config.set_main_option("script_location", str(root / "alembic"))
    if database_url:
        config.attributes["database_url"] = database_url
    return config


def upgrade_head(database_url: str | None = None) -> None:
    command.upgrade(alembic_config(database_url), "head")


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
