"""The Reflex app: pages (guarded by the session check), and the plain HTTP routes on the same port."""

from __future__ import annotations

import reflex as rx
from starlette.applications import Starlette

from lxc_manager.http_routes import ROUTES
from lxc_manager.logging_setup import configure_logging
from lxc_manager.pages import (
    container_detail,
    dashboard,
    job_progress,
    login,
    new_container,
    nodes,
    not_found,
    package_buckets,
    sign_in_endpoints,
    template_editor,
    templates,
)
from lxc_manager.state.session import SessionState

configure_logging()

app = rx.App(
    head_components=[
        rx.el.link(rel="icon", href="/favicon.svg", type="image/svg+xml"),
        rx.el.meta(name="color-scheme", content="light dark"),
    ],
    stylesheets=["/layout.css"],
    api_transformer=Starlette(routes=ROUTES),
)


def _title(text: str) -> str:
    return f"{text} · LXC Manager"


app.add_page(
    login.page, route=login.ROUTE, title=_title(login.TITLE), on_load=login.LoginState.load
)
# Every page but /login is guarded: the session check runs first, then the page's own load.
for module in (
    dashboard,
    container_detail,
    new_container,
    job_progress,
    templates,
    package_buckets,
    template_editor,
    nodes,
    sign_in_endpoints,
):
    page_load = getattr(module, "ON_LOAD", None)
    app.add_page(
        module.page,
        route=module.ROUTE,
        title=_title(module.TITLE),
        on_load=[SessionState.check_session, *([page_load] if page_load is not None else [])],
    )
app.add_page(not_found.page, route="404", title=_title("Not found"))
