"""The API keys table: name, prefix, dates, status, and Revoke (confirmed)."""

from __future__ import annotations

import reflex as rx

from lxc_manager.pages.api_keys.rows import KeyRow
from lxc_manager.pages.api_keys.state import ApiKeysState
from lxc_manager.pages.components.controls import row_button
from lxc_manager.pages.components.dialogs import confirm_button

_STATUS_COLOURS = {"active": "green", "expired": "orange", "revoked": "gray"}


def _status(row: KeyRow) -> rx.Component:
    return rx.match(
        row.status,
        *[(s, rx.badge(s, color_scheme=c)) for s, c in _STATUS_COLOURS.items()],  # type: ignore[arg-type]
        rx.badge(row.status),
    )


def _revoke(row: KeyRow) -> rx.Component:
    return rx.cond(
        row.status == "active",
        confirm_button(
            row_button("ban", "Revoke", color_scheme="red", custom_attrs={"data-key": row.name}),
            "Revoke API key?",
            rx.text(
                "Scripts using ",
                rx.code(row.name),
                " (",
                rx.code(row.prefix),
                ") stop working at once. This cannot be undone.",
            ),
            "Revoke",
            ApiKeysState.revoke(row.id),
        ),
    )


def _row(row: KeyRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row.name, weight="medium")),
        rx.table.cell(rx.code(row.prefix, size="1")),
        rx.table.cell(row.created),
        rx.table.cell(row.expires),
        rx.table.cell(row.last_used),
        rx.table.cell(_status(row)),
        rx.table.cell(_revoke(row)),
        align="center",
        custom_attrs={"data-key-row": row.name},
    )


HEADERS = ("Name", "Key", "Created", "Expires", "Last used", "Status", "")


def keys_table() -> rx.Component:
    return rx.table.root(
        rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in HEADERS])),
        rx.table.body(rx.foreach(ApiKeysState.rows, _row)),
        variant="surface",
        width="100%",
        id="api-keys-table",
    )
