"""The Reflex app: pages, theme and the plain HTTP routes on the same port."""

from __future__ import annotations

import reflex as rx
from starlette.applications import Starlette

from lxc_manager.http_routes import ROUTES
from lxc_manager.logging_setup import configure_logging
from lxc_manager.pages import dashboard, new_container, nodes, not_found, templates

configure_logging()

app = rx.App(
    head_components=[
        rx.el.link(rel="icon", href="/favicon.svg", type="image/svg+xml"),
        rx.el.meta(name="color-scheme", content="light dark"),
    ],
    api_transformer=Starlette(routes=ROUTES),
)

for module in (dashboard, new_container, templates, nodes):
    app.add_page(module.page, route=module.ROUTE, title=f"{module.TITLE} · LXC Manager")
app.add_page(not_found.page, route="404", title="Not found · LXC Manager")
