"""`/settings/api-keys`: the signed-in user's personal API keys for /api/v1."""

from __future__ import annotations

import reflex as rx

from lxc_manager import routes
from lxc_manager.pages.api_keys.rows import KeyForm
from lxc_manager.pages.api_keys.state import (
    COPY_SCRIPT,
    FORM_PREFIX,
    KEY_ELEMENT_ID,
    ApiKeysState,
)
from lxc_manager.pages.api_keys.table import keys_table
from lxc_manager.pages.components import form as kit
from lxc_manager.pages.components.controls import error_callout, loading
from lxc_manager.pages.components.form_data import field_names
from lxc_manager.pages.components.layout import empty_state, muted, page_shell

ROUTE = routes.API_KEYS
TITLE = "API keys"
ON_LOAD = ApiKeysState.load

FORM = kit.Form(
    errors=ApiKeysState.field_errors, id_prefix=FORM_PREFIX, fields=field_names(KeyForm)
)
INTRO = (
    "A personal API key lets scripts use the HTTP API (/api/v1, described at "
    "/api/v1/openapi.json) as you: your nodes, containers and templates, never "
    "administration. Scripts send it in the header Authorization: Bearer <key>. It is "
    "shown once; LXC Manager keeps only its hash."
)


def _create_form() -> rx.Component:
    return rx.form(
        rx.hstack(
            rx.box(
                kit.field(
                    FORM, "Name", "name", kit.text_input(FORM, "name", placeholder="ci-runner")
                ),
                flex="1",
                min_width="12rem",
            ),
            rx.box(
                kit.field(
                    FORM,
                    "Expires after (days)",
                    "expires_days",
                    kit.number_input(FORM, "expires_days", placeholder="never"),
                    hint="Empty: never expires",
                ),
                width="12rem",
            ),
            rx.button(rx.icon("plus", size=16), "Create key", type="submit", id="create-api-key"),
            align="start",
            spacing="3",
            wrap="wrap",
            width="100%",
        ),
        on_submit=ApiKeysState.create,
        reset_on_submit=False,
        width="100%",
    )


def _shown_once() -> rx.Component:
    """The new key, fetched once by a script straight into `KEY_ELEMENT_ID` (not state);
    closing the dialog removes it from the page."""
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(rx.text("API key ", rx.code(ApiKeysState.shown_name), " created")),
            rx.dialog.description(
                "Copy it now: it is shown only this once and cannot be read again."
            ),
            rx.box(
                rx.el.code(id=KEY_ELEMENT_ID, style={"word_break": "break-all"}),
                padding="0.75rem",
                margin_y="1rem",
                border_radius="6px",
                background=rx.color("gray", 3),
            ),
            rx.hstack(
                rx.button(
                    rx.icon("copy", size=16),
                    "Copy",
                    on_click=[rx.call_script(COPY_SCRIPT), rx.toast.success("Copied")],
                    id="copy-api-key",
                    variant="soft",
                ),
                rx.dialog.close(rx.button("Done", id="close-api-key")),
                justify="end",
                spacing="3",
            ),
            max_width="40rem",
        ),
        open=ApiKeysState.show_open,
        on_open_change=ApiKeysState.close_shown,
    )


def page() -> rx.Component:
    state = ApiKeysState
    return page_shell(
        "API keys",
        rx.vstack(
            muted(INTRO, size="2", shade=11),
            _create_form(),
            error_callout(state.form_error),
            rx.cond(
                state.message != "",
                rx.callout(state.message, icon="check", color_scheme="green", id="api-key-message"),
            ),
            loading(
                state.loaded,
                rx.cond(
                    state.rows.length() > 0,
                    keys_table(),
                    empty_state("key-round", "No API keys", "Create one above."),
                ),
            ),
            _shown_once(),
            spacing="4",
            width="100%",
        ),
    )
