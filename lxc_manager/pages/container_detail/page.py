"""`/containers/{node_id}/{vmid}`: one container, in tabs."""

from __future__ import annotations

import reflex as rx

from lxc_manager import routes
from lxc_manager.pages.components.layout import empty_state, page_shell
from lxc_manager.pages.container_detail import (
    backups,
    console,
    events,
    logs,
    metrics,
    overview,
    services,
    snapshots,
)
from lxc_manager.pages.container_detail.state import ContainerDetailState as S

ROUTE = routes.CONTAINER
TITLE = "Container"
ON_LOAD = S.load

TABS = (
    ("Metrics", "metrics", metrics.metrics),
    ("Overview", "overview", overview.overview),
    ("Services", "services", services.services),
    ("Logs", "logs", logs.logs),
    ("Snapshots", "snapshots", snapshots.snapshots),
    ("Backups", "backups", backups.backups),
    ("Events", "events", events.events),
    ("Console", "console", console.console),
)


def _not_found() -> rx.Component:
    return empty_state(
        "circle-help",
        S.problem,  # type: ignore[arg-type]
        "It may have been deleted, or it is not on one of your nodes.",
        rx.link(
            rx.button("Back to the dashboard", size="2", variant="soft"), href=routes.DASHBOARD
        ),
        test_id="ct-problem",
    )


def _tabs() -> rx.Component:
    return rx.tabs.root(
        rx.tabs.list(*[rx.tabs.trigger(label, value=value) for label, value, _ in TABS]),
        *[
            rx.tabs.content(content(), value=value, padding_top="1rem")
            for _, value, content in TABS
        ],
        value=S.tab,
        on_change=S.tab_opened,
        width="100%",
    )


def page() -> rx.Component:
    return page_shell(
        "Container",
        rx.cond(
            S.loaded,
            rx.cond(
                S.problem != "",
                _not_found(),
                rx.vstack(
                    overview.header(),
                    rx.heading(S.title, size="7", id="ct-title"),
                    _tabs(),
                    spacing="4",
                    width="100%",
                ),
            ),
            rx.center(rx.spinner(), padding="3rem", width="100%"),
        ),
    )
