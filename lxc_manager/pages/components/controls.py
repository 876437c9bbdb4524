"""Small stateless pieces several pages show the same way: a submit button that spins
while its form is busy, an error callout, a loading spinner."""

from __future__ import annotations

from typing import Any

import reflex as rx


def busy_button(label: Any, busy: rx.Var[bool], **props: Any) -> rx.Component:
    """A button with a spinner before its label while `busy` (and disabled then)."""
    return rx.button(
        rx.cond(busy, rx.spinner(size="2"), rx.fragment()),
        label,
        disabled=busy,
        **props,
    )


def error_callout(message: rx.Var[str], **props: Any) -> rx.Component:
    """A red callout announced when it appears."""
    return rx.callout(message, icon="circle-alert", color_scheme="red", role="alert", **props)


def loading() -> rx.Component:
    return rx.center(rx.spinner(), width="100%", padding="2rem")


def two_lines(main: rx.Var[str], detail: rx.Var[str]) -> rx.Component:
    """A table cell's value over a smaller, grey detail line."""
    return rx.vstack(
        rx.text(main, size="2"),
        rx.text(detail, size="1", color=rx.color("gray", 10)),
        spacing="0",
    )
