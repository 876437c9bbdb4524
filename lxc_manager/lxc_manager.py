"""The Reflex app: pages (each guarded by its own State's `load`), and the plain HTTP
routes on the same port."""

from __future__ import annotations

import reflex as rx
from starlette.applications import Starlette

import lxc_manager.pages.container_detail as container_detail  # TRANSITIONAL: not yet a package
import lxc_manager.pages.dashboard as dashboard  # TRANSITIONAL: not yet a package
import lxc_manager.pages.job_progress as job_progress  # TRANSITIONAL: not yet a package
import lxc_manager.pages.login as login  # TRANSITIONAL: not yet a package
import lxc_manager.pages.new_container as new_container  # TRANSITIONAL: not yet a package
import lxc_manager.pages.nodes as nodes  # TRANSITIONAL: not yet a package
import lxc_manager.pages.package_buckets as package_buckets  # TRANSITIONAL: not yet a package
import lxc_manager.pages.sign_in_endpoints as sign_in_endpoints  # TRANSITIONAL: not yet a package
import lxc_manager.pages.template_editor as template_editor  # TRANSITIONAL: not yet a package
import lxc_manager.pages.templates as templates  # TRANSITIONAL: not yet a package
from lxc_manager.console_routes import ROUTES as CONSOLE_ROUTES
from lxc_manager.http_routes import ROUTES
from lxc_manager.logging_setup import configure_logging
from lxc_manager.pages import not_found
from lxc_manager.state.legacy_session import LegacySessionState  # TRANSITIONAL

configure_logging()

app = rx.App(
    head_components=[
        rx.el.link(rel="icon", href="/favicon.svg", type="image/svg+xml"),
        rx.el.meta(name="color-scheme", content="light dark"),
    ],
    stylesheets=["/layout.css"],
    api_transformer=Starlette(routes=ROUTES + CONSOLE_ROUTES),
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
    template_editor,
    nodes,
    sign_in_endpoints,
)

for module in PAGES:
    on_load = getattr(module, "ON_LOAD", None)
    if module.__name__.count(".") == 2 and module is not login:  # TRANSITIONAL
        on_load = [LegacySessionState.check_session, *([on_load] if on_load else [])]
    if module is login:
        on_load = login.LoginState.load
    app.add_page(
        module.page,
        route=module.ROUTE,
        title=f"{module.TITLE} · LXC Manager",
        on_load=on_load,
    )
app.add_page(not_found.page, route="404", title="Not found · LXC Manager")
