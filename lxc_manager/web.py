"""The ASGI factory the web server (granian) loads in each of its worker processes."""

from __future__ import annotations

from typing import Any

from lxc_manager.process import set_parent_death_signal


def create_app() -> Any:
    """Build the Reflex ASGI app; the worker process dies with the server that spawned it."""
    set_parent_death_signal()
    from lxc_manager.lxc_manager import app

    return app()
