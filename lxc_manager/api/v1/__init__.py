"""`/api/v1`: every endpoint module registers its operations in `registry.API`.

To add endpoints, write a module here that declares them with `@API.operation(...)` and
import it below; its paths go in `lxc_manager.routes`.
"""

from __future__ import annotations

from starlette.routing import Route

from lxc_manager import routes as urls

from . import backup_actions, backups, containers, creations, meta, nodes, templates
from .registry import API, VERSION

__all__ = [
    "API",
    "VERSION",
    "backup_actions",
    "backups",
    "containers",
    "creations",
    "meta",
    "nodes",
    "routes",
    "templates",
]


def routes() -> list[Route]:
    """The Starlette routes of every operation, and JSON 404/405 answers under /api/v1."""
    return API.routes(urls.API_V1)
