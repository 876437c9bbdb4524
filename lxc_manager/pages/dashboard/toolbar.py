"""Above and below the listing: the summary, filters, view switch, bulk bar and pager."""

from __future__ import annotations

import reflex as rx

from lxc_manager.backups.selection import DAYS_MAX
from lxc_manager.containers.view import ALL, SORTS
from lxc_manager.pages.components.controls import list_note
from lxc_manager.pages.components.layout import muted
from lxc_manager.pages.components.listing import choices, filter_select, search_box
from lxc_manager.pages.dashboard.state import OLDER
from lxc_manager.pages.dashboard.state import DashboardState as S

STATUS_CHOICES = (
    ("Any status", ALL),
    ("Running", "running"),
    ("Stopped", "stopped"),
    ("Unknown", "unknown"),
)


def filters() -> rx.Component:
    return rx.flex(
        search_box(
            "Search name, VMID, IP or tag",
            S.search,
            S.set_search,
            "Search containers",
            width="16rem",
        ),
        filter_select(
            "Filter by node",
            S.node_filter,
            S.set_node_filter,
            *choices("All nodes", ALL, S.node_names),
        ),
        filter_select(
            "Filter by status",
            S.status_filter,
            S.set_status_filter,
            *[rx.select.item(label, value=value) for label, value in STATUS_CHOICES],
        ),
        filter_select(
            "Filter by tag", S.tag_filter, S.set_tag_filter, *choices("Any tag", ALL, S.tag_names)
        ),
        backup_filter(),
        filter_select(
            "Sort by",
            S.sort,
            S.set_sort,
            *[rx.select.item(f"Sort: {label}", value=value) for value, label in SORTS.items()],
        ),
        gap="2",
        wrap="wrap",
        align="center",
    )


def backup_filter() -> rx.Component:
    """ "Any backup age" or "No backup in N days", N typed beside it (7 at first)."""
    return rx.hstack(
        filter_select(
            "Filter by last backup",
            S.backup_filter,
            S.set_backup_filter,
            rx.select.item("Any backup age", value=ALL),
            rx.select.item(S.backup_filter_label, value=OLDER),
            trigger_id="backup-filter",
        ),
        rx.cond(
            S.backup_filter == OLDER,
            rx.hstack(
                rx.input(
                    value=S.backup_days,
                    on_change=S.set_backup_days.debounce(400),
                    type="number",
                    min=1,
                    max=DAYS_MAX,
                    width="5rem",
                    aria_label="Days without a backup",
                    aria_invalid=S.backup_days_error != "",
                    id="backup-days",
                ),
                muted("days", size="2"),
                rx.cond(
                    S.backup_days_error != "",
                    rx.text(S.backup_days_error, size="1", color=rx.color("red", 11), role="alert"),
                ),
                spacing="1",
                align="center",
            ),
        ),
        spacing="2",
        align="center",
    )


def view_switch() -> rx.Component:
    return rx.segmented_control.root(
        rx.segmented_control.item(rx.icon("rows-3", size=14), value="rows", aria_label="Rows"),
        rx.segmented_control.item(
            rx.icon("layout-grid", size=14), value="cards", aria_label="Cards"
        ),
        value=S.view,
        on_change=S.set_view,
        aria_label="View",
        size="1",
    )


def summary() -> rx.Component:
    return rx.hstack(
        rx.badge(S.summary.total, " containers", size="2", variant="surface", id="summary-total"),
        rx.badge(S.summary.running, " running", color_scheme="green", size="2", variant="soft"),
        rx.badge(S.summary.stopped, " stopped", color_scheme="gray", size="2", variant="soft"),
        rx.foreach(
            S.summary.per_node,
            lambda n: rx.badge(n, color_scheme="indigo", variant="outline"),
        ),
        rx.foreach(
            S.backup_problems,
            lambda p: rx.badge(
                rx.icon("archive-x", size=12),
                p,
                color_scheme="orange",
                variant="soft",
                custom_attrs={"data-testid": "backup-problem"},
            ),
        ),
        rx.foreach(
            S.problems,
            lambda p: rx.badge(
                rx.icon("triangle-alert", size=12),
                p,
                color_scheme="red",
                variant="soft",
                custom_attrs={"data-testid": "node-problem"},
            ),
        ),
        spacing="2",
        wrap="wrap",
    )


def _bulk_button(label: str, action: str, **style: str) -> rx.Component:
    return rx.button(label, size="1", variant="soft", on_click=S.bulk(action), **style)


def bulk_bar() -> rx.Component:
    return rx.cond(
        S.selected.length() > 0,
        rx.hstack(
            rx.text(S.selected.length(), " selected", size="2", weight="medium"),
            _bulk_button("Start", "start", color_scheme="green"),
            _bulk_button("Shut down", "shutdown"),
            _bulk_button("Stop", "stop", color_scheme="red"),
            rx.button(
                "Clear", size="1", variant="ghost", color_scheme="gray", on_click=S.clear_selection
            ),
            spacing="2",
            align="center",
            padding="0.5rem 0.75rem",
            border_radius="var(--radius-3)",
            background=rx.color("accent", 3),
            id="bulk-bar",
        ),
    )


def bulk_results() -> rx.Component:
    lines = rx.foreach(S.bulk_results, lambda line: rx.text(line, size="2"))
    return list_note(
        S.bulk_results, "list-checks", rx.vstack(lines, spacing="1"), id="bulk-results"
    )


def pager() -> rx.Component:
    return rx.hstack(
        muted(S.page_label, size="2", shade=11),
        rx.spacer(),
        rx.button(
            "Previous", size="1", variant="soft", on_click=S.previous_page, disabled=S.page == 0
        ),
        rx.button(
            "Next", size="1", variant="soft", on_click=S.next_page, disabled=~S.has_next_page
        ),
        width="100%",
        align="center",
    )
