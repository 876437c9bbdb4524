"""Reflex configuration, derived from LXC Manager's settings (lxc_manager/settings.py)."""

import reflex as rx

from lxc_manager.redis_client import RedisDb, url_for
from lxc_manager.settings import get_settings

settings = get_settings()

config = rx.Config(
    app_name="lxc_manager",
    api_url=settings.public_url,
    deploy_url=settings.public_url,
    backend_port=settings.port,
    frontend_port=settings.port,
    redis_url=url_for(RedisDb.STATE, settings.redis_url) if settings.redis_url else None,
    telemetry_enabled=False,
    show_built_with_reflex=False,
    plugins=[
        rx.plugins.RadixThemesPlugin(
            theme=rx.theme(accent_color="indigo", gray_color="slate", radius="medium"),
        ),
    ],
    disable_plugins=[rx.plugins.SitemapPlugin],
)
