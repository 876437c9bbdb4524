"""`/login`: a card with the credentials form, or the two-factor form. Not guarded."""

from __future__ import annotations

import reflex as rx

from lxc_manager import routes
from lxc_manager.pages.components.layout import muted
from lxc_manager.pages.login.forms import code_form, credentials_form
from lxc_manager.pages.login.state import LoginState

ROUTE = routes.LOGIN
TITLE = "Sign in"
ON_LOAD = LoginState.load


def _heading() -> rx.Component:
    return rx.hstack(
        rx.image(src="/favicon.svg", width="36px", height="36px", alt=""),
        rx.heading("LXC Manager", size="6", as_="h1"),
        align="center",
        spacing="3",
    )


def page() -> rx.Component:
    tfa = LoginState.step == "tfa"
    return rx.center(
        rx.card(
            rx.vstack(
                _heading(),
                muted(
                    rx.cond(
                        tfa, "Two-factor authentication", "Sign in with your Proxmox VE account"
                    ),
                    size="2",
                    shade=11,
                ),
                rx.cond(
                    LoginState.notice != "",
                    rx.callout(
                        LoginState.notice, icon="info", color_scheme="blue", id="login-notice"
                    ),
                ),
                rx.cond(tfa, code_form(), credentials_form()),
                spacing="4",
                width="100%",
            ),
            size="4",
            width="100%",
            max_width="30rem",
        ),
        min_height="100vh",
        padding="1rem",
        background=rx.color("gray", 2),
    )
