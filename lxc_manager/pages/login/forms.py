"""The login page's forms: credentials (with the certificate to confirm on first contact)
and the two-factor code. Controls keep their plain ids (`host`, `password`, `code`...)."""

from __future__ import annotations

import reflex as rx

from lxc_manager.pages.components import form as kit
from lxc_manager.pages.components.controls import busy_button, error_callout
from lxc_manager.pages.components.fingerprint import fingerprint_confirmation
from lxc_manager.pages.components.form_data import field_names
from lxc_manager.pages.components.layout import muted
from lxc_manager.pages.login.fields import CodeForm, CredentialsForm
from lxc_manager.pages.login.state import LoginState
from lxc_manager.signin.service import REALMS

CREDENTIALS = kit.Form(errors=LoginState.field_errors, fields=field_names(CredentialsForm))
CODE = kit.Form(errors=LoginState.field_errors, fields=field_names(CodeForm))


def _general_error() -> rx.Component:
    return rx.cond(
        (LoginState.error != "") & (LoginState.field == ""),
        error_callout(LoginState.error, id="login-error", overflow_wrap="anywhere"),
    )


def _input(form: kit.Form, name: str, **props: object) -> rx.Component:
    return kit.text_input(form, name, size="3", **props)


def _realm() -> rx.Component:
    """Part of the submitted form (not controlled), so the kit's select does not serve."""
    return rx.select.root(
        rx.select.trigger(
            id=CREDENTIALS.control_id("realm"),
            width="100%",
            custom_attrs=CREDENTIALS.a11y("realm"),
        ),
        rx.select.content(*[rx.select.item(label, value=value) for value, label in REALMS.items()]),
        name=CREDENTIALS.known("realm"),
        default_value=LoginState.realm,
        size="3",
    )


def _host_and_port() -> rx.Component:
    return rx.hstack(
        rx.box(
            kit.field(
                CREDENTIALS,
                "Proxmox Host",
                "host",
                _input(
                    CREDENTIALS,
                    "host",
                    placeholder="192.168.1.100 or pve.local",
                    default_value=LoginState.host,
                    auto_focus=True,
                    required=True,
                ),
            ),
            flex="1",
            min_width="0",
        ),
        rx.box(
            kit.field(
                CREDENTIALS,
                "Port",
                "port",
                _input(
                    CREDENTIALS,
                    "port",
                    default_value=LoginState.port,
                    input_mode="numeric",
                    required=True,
                ),
            ),
            width="6.5rem",
        ),
        width="100%",
        spacing="3",
        align="start",
    )


def credentials_form() -> rx.Component:
    confirming = LoginState.step == "confirm"
    return rx.form(
        rx.vstack(
            _general_error(),
            _host_and_port(),
            kit.field(
                CREDENTIALS,
                "Username",
                "username",
                _input(
                    CREDENTIALS,
                    "username",
                    default_value=LoginState.username,
                    auto_complete="username",
                    required=True,
                ),
            ),
            kit.field(
                CREDENTIALS,
                "Password",
                "password",
                _input(
                    CREDENTIALS,
                    "password",
                    type="password",
                    auto_complete="current-password",
                    required=True,
                ),
            ),
            kit.field(CREDENTIALS, "Realm", "realm", _realm()),
            rx.cond(
                confirming,
                fingerprint_confirmation(
                    "First connection to this Proxmox host: its TLS certificate fingerprint "
                    "(SHA-256)",
                    LoginState.fingerprint,
                    "fingerprint",
                    panel_id="fingerprint-panel",
                ),
            ),
            rx.el.input(
                type="hidden",
                name=CREDENTIALS.known("confirmed_fingerprint"),
                value=LoginState.fingerprint,
            ),
            busy_button(
                rx.cond(confirming, "Trust this certificate and sign in", "Sign in"),
                LoginState.busy,
                type="submit",
                size="3",
                width="100%",
                id="sign-in",
            ),
            rx.cond(
                confirming,
                rx.button(
                    "Cancel",
                    type="button",
                    variant="ghost",
                    on_click=LoginState.start_over,
                    width="100%",
                ),
            ),
            spacing="4",
            width="100%",
        ),
        on_submit=LoginState.submit_credentials,
        width="100%",
        id="sign-in-form",
        custom_attrs={"data-ready": rx.cond(LoginState.ready, "true", "false")},
    )


def _code_field() -> rx.Component:
    return kit.field(
        CODE,
        rx.text(
            rx.cond(LoginState.use_recovery, "Recovery key", "Authentication code"),
            size="2",
            weight="medium",
        ),
        "code",
        _input(
            CODE,
            "code",
            auto_complete="one-time-code",
            auto_focus=True,
            required=True,
            input_mode=rx.cond(LoginState.use_recovery, "text", "numeric"),
        ),
    )


def _code_links() -> rx.Component:
    return rx.hstack(
        rx.cond(
            LoginState.can_switch_factor,
            rx.button(
                rx.cond(
                    LoginState.use_recovery,
                    "Use an authentication code",
                    "Use a recovery key",
                ),
                type="button",
                variant="ghost",
                on_click=LoginState.toggle_recovery,
            ),
            rx.fragment(),
        ),
        rx.spacer(),
        rx.button(
            "Start over",
            type="button",
            variant="ghost",
            color_scheme="gray",
            on_click=LoginState.start_over,
        ),
        width="100%",
    )


def code_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            muted(
                rx.cond(
                    LoginState.use_recovery,
                    "Enter one of your recovery keys.",
                    "Enter the 6-digit code from your authenticator app.",
                ),
                size="2",
                shade=11,
            ),
            _general_error(),
            _code_field(),
            busy_button(
                "Verify",
                LoginState.busy,
                type="submit",
                size="3",
                width="100%",
                id="verify",
            ),
            _code_links(),
            spacing="4",
            width="100%",
        ),
        on_submit=LoginState.submit_code,
        width="100%",
    )
