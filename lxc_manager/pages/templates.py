"""`/templates`: the template catalog."""

from __future__ import annotations

import reflex as rx

from lxc_manager.pages.components.layout import empty_state, page_shell

ROUTE = "/templates"
TITLE = "Templates"


def page() -> rx.Component:
    return page_shell(
        "Templates",
        empty_state(
            "layout-template",
            "No templates yet",
            "Templates describe a container: its OS image, resources, packages, files and "
            "setup scripts. None are defined yet.",
        ),
    )
