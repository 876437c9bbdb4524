"""One SQLAlchemy engine per process, and a small session helper.

SQLite runs in WAL mode with foreign keys on and a busy timeout, because the web process
and the RQ workers write concurrently. RQ work-horses are forked: they call
`dispose_engine()` first so no connection is shared across the fork.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from lxc_manager.settings import get_settings

SQLITE_BUSY_TIMEOUT_MS = 15_000

_lock = threading.Lock()
_engine: Engine | None = None


def make_engine(url: str) -> Engine:
    """Create an engine for `url` with the pragmas the app relies on."""
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def get_engine() -> Engine:
    """The process-wide engine for `DATABASE_URL`."""
    global _engine
    with _lock:
        if _engine is None:
            _engine = make_engine(get_settings().database_url)
        return _engine


def dispose_engine() -> None:
    """Forget the engine (after a fork, or at shutdown); the next use makes a new one."""
    global _engine
    with _lock:
        if _engine is not None:
            _engine.dispose(close=False)
        _engine = None


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
