"""Reflex configuration, derived from LXC Manager's settings (lxc_manager/settings.py)."""

import reflex as rx

from lxc_manager.redis_client import RedisDb, url_for
from lxc_manager.security.origins import allowed_origins
from lxc_manager.settings import get_settings

settings = get_settings()

config = rx.Config(
    app_name="lxc_manager",
    api_url=settings.public_url,
    deploy_url=settings.public_url,
    backend_port=settings.port,
    frontend_port=settings.port,
    redis_url=url_for(RedisDb.STATE, settings.redis_url) if settings.redis_url else None,
    # The event socket accepts only the app's own origins (a cross-origin page cannot
    # drive events); X-Forwarded-For is resolved by lxc_manager.security.clients.
    cors_allowed_origins=list(allowed_origins(settings)),
    trusted_proxy_hops=0,
    telemetry_enabled=False,
    show_built_with_reflex=False,
    plugins=[
        rx.plugins.RadixThemesPlugin(
            theme=rx.theme(accent_color="indigo", gray_color="slate", radius="medium"),
        ),
    ],
    disable_plugins=[rx.plugins.SitemapPlugin],
)
