"""`/templates`: the templates a user may see — their own, shared ones and the catalog —
with owner and visibility badges; search, tag filter, duplicate, delete (what the user may
change), and "Sync catalog" for administrators."""

from __future__ import annotations

import reflex as rx

from lxc_manager import routes
from lxc_manager.pages.components.controls import error_callout, loading
from lxc_manager.pages.components.layout import empty_state, page_shell, page_stack

from .components import sync_button, sync_report, table, toolbar
from .state import TemplatesState as S

ROUTE = routes.TEMPLATES
TITLE = "Templates"
ON_LOAD = S.load


def _empty() -> rx.Component:
    return rx.cond(
        S.filtering,
        empty_state(
            "search-x",
            "No template matches",
            "Nothing matches this search and tag. Clear the filters to see every template.",
        ),
        empty_state(
            "layout-template",
            "No templates yet",
            "Templates describe a container: its OS image, resources, packages, "
            "files and setup scripts. An administrator syncs the catalog of "
            "templates shipped with LXC Manager; you can create your own.",
            rx.cond(S.is_admin, sync_button()),
        ),
    )


def page() -> rx.Component:
    return page_shell(
        TITLE,
        page_stack(
            toolbar(),
            sync_report(),
            error_callout(S.action_error),
            loading(S.loaded, rx.cond(S.rows.length() > 0, table(), _empty())),
        ),
    )
