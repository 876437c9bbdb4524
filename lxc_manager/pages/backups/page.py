"""`/backups`: the scheduled backup jobs of every cluster the user's nodes reach (schedule,
storage, selection, enabled), which job covers each container, and the containers no job
covers, named. Read-only: jobs are edited in Proxmox."""

from __future__ import annotations

import reflex as rx

from lxc_manager import routes
from lxc_manager.pages.components.controls import loading
from lxc_manager.pages.components.layout import empty_state, page_shell, page_stack
from lxc_manager.pages.components.no_nodes import no_nodes_banner

from .components import clusters, read_only_note, summary
from .state import BackupsState as S

ROUTE = routes.BACKUPS
TITLE = "Backups"
ON_LOAD = S.load

NO_NODES = (
    "Add a Proxmox node with an API token: its cluster's backup jobs, and the containers "
    "they leave out, show up here."
)


def page() -> rx.Component:
    return page_shell(
        TITLE,
        page_stack(
            no_nodes_banner(S.summary_loaded, S.has_nodes),
            read_only_note(),
            loading(
                S.loaded,
                rx.cond(
                    S.has_nodes,
                    rx.vstack(summary(), clusters(), spacing="4", width="100%"),
                    empty_state(
                        "archive",
                        "No nodes yet",
                        NO_NODES,
                        rx.link(rx.button("Add a node", size="2"), href=routes.NODES),
                    ),
                ),
            ),
        ),
    )
