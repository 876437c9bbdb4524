"""Administrators only: enable another endpoint after comparing its certificate."""

from __future__ import annotations

import reflex as rx

from lxc_manager.pages.components import form as kit
from lxc_manager.pages.components.controls import busy_button
from lxc_manager.pages.components.fingerprint import fingerprint_confirmation
from lxc_manager.pages.components.form_data import field_names
from lxc_manager.pages.sign_in_endpoints.rows import EndpointForm
from lxc_manager.pages.sign_in_endpoints.state import SignInEndpointsState

# The page reports problems in one callout above the table, never under a field.
FORM = kit.Form(
    errors=rx.Var.create({}).to(dict[str, str]),
    id_prefix="new-",
    fields=field_names(EndpointForm),
)


def _fields() -> rx.Component:
    return rx.form(
        rx.hstack(
            rx.box(
                kit.field(
                    FORM,
                    "Host",
                    "host",
                    kit.text_input(
                        FORM, "host", placeholder="192.168.1.100 or pve.local", required=True
                    ),
                ),
                flex="1",
            ),
            rx.box(
                kit.field(
                    FORM,
                    "Port",
                    "port",
                    kit.number_input(FORM, "port", default_value="8006", required=True),
                ),
                width="6rem",
            ),
            busy_button("Check certificate", SignInEndpointsState.busy, type="submit"),
            align="end",
            spacing="3",
            width="100%",
        ),
        on_submit=SignInEndpointsState.check_new,
        width="100%",
    )


def _retrusting() -> rx.Component:
    return rx.cond(
        SignInEndpointsState.old_fingerprint != "",
        rx.text(
            "Re-trusting ",
            rx.code(SignInEndpointsState.new_host),
            ". Pinned now: ",
            rx.code(
                SignInEndpointsState.old_fingerprint,
                id="old-fingerprint",
                overflow_wrap="anywhere",
            ),
            size="2",
        ),
    )


def _confirmation() -> rx.Component:
    return rx.cond(
        SignInEndpointsState.new_fingerprint != "",
        fingerprint_confirmation(
            "TLS certificate fingerprint (SHA-256)",
            SignInEndpointsState.new_fingerprint,
            "new-fingerprint",
            rx.button(
                "Trust and enable",
                on_click=SignInEndpointsState.confirm_new,
                id="trust-endpoint",
            ),
            rx.button(
                "Cancel",
                variant="soft",
                color_scheme="gray",
                on_click=SignInEndpointsState.cancel_new,
            ),
        ),
    )


def add_form() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Enable another endpoint", size="3", as_="h2"),
            _fields(),
            _retrusting(),
            _confirmation(),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )
