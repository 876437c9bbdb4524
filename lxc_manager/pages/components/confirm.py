"""A button that asks before it acts: an alert dialog with Cancel and the action."""

from __future__ import annotations

from typing import Any

import reflex as rx


def confirm_button(
    trigger: rx.Component,
    title: Any,
    description: rx.Component | str,
    action_label: str,
    on_confirm: Any,
    color: str = "red",
    *extra: rx.Component,
) -> rx.Component:
    """`trigger` opens the dialog; `title` is one child or a tuple of children; `extra` (options such as a checkbox) stands between the
    description and the buttons; the action button runs `on_confirm`."""
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(trigger),
        rx.alert_dialog.content(
            rx.alert_dialog.title(*(title if isinstance(title, tuple) else (title,))),
            rx.alert_dialog.description(description),
            *extra,
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(
                    rx.button(action_label, color_scheme=color, on_click=on_confirm)
                ),
                justify="end",
                spacing="3",
                margin_top="1rem",
            ),
        ),
    )
