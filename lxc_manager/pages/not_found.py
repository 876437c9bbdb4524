"""The 404 page. A module, not a package: it has no State and nothing to assemble."""

from __future__ import annotations

import reflex as rx

from lxc_manager import routes
from lxc_manager.pages.components.layout import empty_state, page_shell


def page() -> rx.Component:
    return page_shell(
        "Page not found",
        empty_state(
            "map-pin-off",
            "There is nothing at this address",
            "The page may have moved, or the link is mistyped.",
            rx.link(
                rx.button("Back to the dashboard", size="2", variant="soft"), href=routes.DASHBOARD
            ),
            test_id="not-found",
        ),
    )
