"""The routes the app mounts for the API: `/api/v1/...` and the Settings page's one-time
key fetch."""

from __future__ import annotations

from starlette.routing import Route

from lxc_manager import routes

from . import v1
from .reveal import reveal_once


def api_routes() -> list[Route]:
    return [Route(routes.API_KEY_ONCE, reveal_once, methods=["POST"]), *v1.routes()]
