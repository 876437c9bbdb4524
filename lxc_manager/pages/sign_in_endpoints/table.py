"""The sign-in endpoints table; administrators see the row actions."""

from __future__ import annotations

import reflex as rx

from lxc_manager.pages.components.controls import row_button, two_lines
from lxc_manager.pages.components.dialogs import confirm_button
from lxc_manager.pages.components.layout import muted
from lxc_manager.pages.sign_in_endpoints.rows import EndpointRow
from lxc_manager.pages.sign_in_endpoints.state import SignInEndpointsState


def _disable_button(row: EndpointRow) -> rx.Component:
    return confirm_button(
        row_button(
            "ban",
            "Disable",
            color_scheme="red",
            disabled=row.current,
            title=rx.cond(row.current, "You are signed in through this endpoint", ""),
        ),
        "Disable sign-in endpoint?",
        rx.text(
            "Users can no longer sign in through ",
            rx.code(row.label),
            " and their open sessions end at their next action. Their nodes, "
            "templates and jobs are kept and come back when it is enabled again.",
        ),
        "Disable",
        SignInEndpointsState.set_enabled(row.id, False),
    )


def _row_actions(row: EndpointRow) -> rx.Component:
    """Administrators only: enable/disable and re-trust (others see the list read-only)."""
    return rx.cond(
        SignInEndpointsState.is_admin,
        rx.flex(
            rx.cond(
                row.enabled,
                _disable_button(row),
                row_button(
                    "circle-check",
                    "Enable",
                    on_click=SignInEndpointsState.set_enabled(row.id, True),
                ),
            ),
            row_button(
                "shield-check",
                "Re-trust",
                color_scheme="gray",
                on_click=SignInEndpointsState.check_retrust(row.id),
            ),
            direction="column",
            align="start",
            spacing="2",
        ),
    )


def _status(row: EndpointRow) -> rx.Component:
    return rx.vstack(
        rx.cond(
            row.enabled,
            rx.badge("enabled", color_scheme="green"),
            rx.badge("disabled", color_scheme="red"),
        ),
        rx.cond(row.changed != "", muted(row.changed)),
        spacing="1",
    )


def _row(row: EndpointRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.hstack(
                rx.text(row.label, weight="medium"),
                rx.cond(row.current, rx.badge("current")),
            ),
        ),
        rx.table.cell(_status(row)),
        rx.table.cell(row.cluster_name),
        rx.table.cell(
            rx.code(row.fingerprint, size="1", word_break="break-all"),
            max_width="22rem",
        ),
        rx.table.cell(two_lines(row.trusted_by, row.trusted_at)),
        rx.table.cell(_row_actions(row)),
        align="center",
    )


HEADERS = ("Endpoint", "Status", "Cluster", "TLS fingerprint (SHA-256)", "Trusted by", "")


def endpoints_table() -> rx.Component:
    return rx.table.root(
        rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in HEADERS])),
        rx.table.body(rx.foreach(SignInEndpointsState.rows, _row)),
        variant="surface",
        width="100%",
        id="endpoints-table",
    )
