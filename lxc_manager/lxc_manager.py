"""The Reflex app: pages (each guarded by its own State's `load`), and the plain HTTP
routes on the same port."""

from __future__ import annotations

import reflex as rx
from starlette.applications import Starlette

from lxc_manager.api.mount import api_routes
from lxc_manager.console_routes import ROUTES as CONSOLE_ROUTES
from lxc_manager.http_routes import ROUTES
from lxc_manager.logging_setup import configure_logging
from lxc_manager.pages import not_found
from lxc_manager.pages.api_keys import page as api_keys
from lxc_manager.pages.backups import page as backups
from lxc_manager.pages.container_detail import page as container_detail
from lxc_manager.pages.dashboard import page as dashboard
from lxc_manager.pages.job_progress import page as job_progress
from lxc_manager.pages.login import page as login
from lxc_manager.pages.new_container import page as new_container
from lxc_manager.pages.nodes import page as nodes
from lxc_manager.pages.package_buckets import page as package_buckets
from lxc_manager.pages.sign_in_endpoints import page as sign_in_endpoints
from lxc_manager.pages.template_editor import page as template_editor
from lxc_manager.pages.templates import page as templates

configure_logging()

app = rx.App(
    head_components=[
        rx.el.link(rel="icon", href="/favicon.svg", type="image/svg+xml"),
        rx.el.meta(name="color-scheme", content="light dark"),
    ],
    stylesheets=["/layout.css"],
    api_transformer=Starlette(routes=ROUTES + CONSOLE_ROUTES + api_routes()),
)

# Each page module: ROUTE, TITLE, `page` (the component) and ON_LOAD, its State's `load`.
# Every page but /login is guarded by that `load` (the session check runs in its guard).
PAGES = (
    login,
    dashboard,
    container_detail,
    new_container,
    job_progress,
    templates,
    package_buckets,
    backups,
    template_editor,
    nodes,
    sign_in_endpoints,
    api_keys,
)

for module in PAGES:
    app.add_page(
        module.page,
        route=module.ROUTE,
        title=f"{module.TITLE} · LXC Manager",
        on_load=module.ON_LOAD,
    )
app.add_page(not_found.page, route="404", title="Not found · LXC Manager")
