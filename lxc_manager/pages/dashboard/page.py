"""`/`: every container of every node of the signed-in user, with lifecycle and bulk actions.

The listing is fetched live on load and every REFRESH_MS while the page is open; rows of
an unreachable node are shown as last listed, greyed, with no actions.
"""

from __future__ import annotations

import reflex as rx

from lxc_manager import routes
from lxc_manager.pages.components.layout import empty_state, page_shell
from lxc_manager.pages.components.no_nodes import no_nodes_banner
from lxc_manager.pages.dashboard import dialogs, jobs, table, toolbar
from lxc_manager.pages.dashboard.state import DashboardState as S

ROUTE = routes.DASHBOARD
TITLE = "Dashboard"
ON_LOAD = S.load
REFRESH_MS = 5000

NO_CONTAINERS = "Your nodes have no LXC containers. Create one from a template."
NO_NODES = (
    "Every container of every node you add shows up here, with its status and live "
    "metrics. Start by adding a Proxmox node with an API token."
)


def _new_container_button(label: str, icon: bool) -> rx.Component:
    parts = [rx.icon("plus", size=16)] if icon else []
    return rx.link(rx.button(*parts, label, size="2"), href=routes.new_container())


def _listing() -> rx.Component:
    return rx.cond(
        S.loaded,
        rx.cond(
            S.summary.total > 0,
            rx.vstack(
                rx.cond(S.view == "cards", table.cards(), table.table()),
                toolbar.pager(),
                width="100%",
                spacing="2",
            ),
            empty_state(
                "boxes",
                "No containers yet",
                NO_CONTAINERS,
                _new_container_button("Create a container", icon=False),
            ),
        ),
        rx.center(rx.spinner(), padding="3rem", width="100%"),
    )


def _containers() -> rx.Component:
    return rx.vstack(
        rx.moment(interval=REFRESH_MS, on_change=S.refresh, display="none"),
        toolbar.summary(),
        rx.hstack(
            toolbar.filters(),
            rx.spacer(),
            toolbar.view_switch(),
            _new_container_button("New container", icon=True),
            width="100%",
            align="center",
            wrap="wrap",
        ),
        jobs.jobs(),
        toolbar.bulk_bar(),
        toolbar.bulk_results(),
        dialogs.task_log(),
        _listing(),
        dialogs.delete_dialog(),
        spacing="3",
        width="100%",
    )


def _add_a_node() -> rx.Component:
    return empty_state(
        "boxes",
        "Your containers will appear here",
        NO_NODES,
        rx.link(rx.button(rx.icon("plus", size=16), "Add a node", size="2"), href=routes.NODES),
    )


def page() -> rx.Component:
    return page_shell(
        "Containers",
        rx.vstack(
            no_nodes_banner(S.summary_loaded, S.has_nodes),
            rx.cond(
                S.summary_loaded & S.has_nodes,
                _containers(),
                rx.cond(S.summary_loaded, _add_a_node()),
            ),
            spacing="4",
            width="100%",
        ),
    )
