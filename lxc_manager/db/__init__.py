"""Database access: the engine, sessions and the SQLModel tables."""

from lxc_manager.db.engine import dispose_engine, get_engine, session_scope

__all__ = ["dispose_engine", "get_engine", "session_scope"]
