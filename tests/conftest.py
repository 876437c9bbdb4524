"""Fixtures shared by every test folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from lxc_manager import redis_client
from lxc_manager.db.engine import dispose_engine
from lxc_manager.embedded_redis import EmbeddedRedis
from lxc_manager.process import stop_children
from lxc_manager.settings import get_settings

# Every asyncio loop runs in debug mode; a callback that blocks it fails its test.
pytest_plugins = ["tests.support.slow_callbacks"]

CONFIG_PREFIXES = ("LXCM_", "REDIS_URL", "DATABASE_URL")


def reset_app_caches() -> None:
    get_settings.cache_clear()
    redis_client.sync_client.cache_clear()
    redis_client.async_client.cache_clear()
    dispose_engine()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    """A real redis-server for the session (the same embedded one the app starts)."""
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    stop_children([server.child], timeout=5)


@pytest.fixture
def app_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, redis_server: EmbeddedRedis
) -> Iterator[Path]:
    """Point the app's settings at a fresh data dir (SQLite) and the session's Redis."""
    for name in list(os.environ):
        if name.startswith(CONFIG_PREFIXES):
            monkeypatch.delenv(name)
    monkeypatch.setenv("LXCM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    reset_app_caches()
    yield tmp_path / "data"
    reset_app_caches()
