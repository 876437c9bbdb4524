"""Dialog pieces: a button that asks before it acts, a delete button built on it, and the
Cancel/submit row of a dialog's form."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import reflex as rx

from lxc_manager.pages.components.controls import busy_button, small_icon_button


def confirm_button(
    trigger: rx.Component,
    title: Any,
    description: rx.Component | str,
    action_label: str,
    on_confirm: Any,
    color: str = "red",
    extra: Sequence[rx.Component] = (),
) -> rx.Component:
    """`trigger` opens an alert dialog that asks before `on_confirm` runs (Cancel or
    `action_label`). `title` is one child or a tuple of children; `extra` (options such as
    a checkbox) stands between the description and the buttons."""
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


def trash_button(name: rx.Var[Any], **props: Any) -> rx.Component:
    """A small red trash icon button (`Delete {name}` for readers)."""
    return small_icon_button("trash-2", "red", f"Delete {name}", **props)


def delete_button(
    name: rx.Var[str],
    what: str,
    on_confirm: rx.EventSpec,
    text: tuple[str, str],
    *more: rx.Component | str,
) -> rx.Component:
    """A trash button that asks "Delete {what}?" and says what happens before it deletes:
    `text[0]`, the name, `text[1]`, then `more`."""
    said = rx.text(text[0], rx.code(name), text[1], *more)
    return confirm_button(trash_button(name), f"Delete {what}?", said, "Delete", on_confirm)


def dialog_actions(submit: Any, submit_id: str, busy: rx.Var[bool] | None = None) -> rx.Component:
    """Cancel (closes the dialog) and the submit button of a dialog's form; with `busy`,
    both are disabled and the submit button spins while the form is being handled."""
    cancel = {"disabled": busy} if busy is not None else {}
    return rx.hstack(
        rx.dialog.close(
            rx.button("Cancel", type="button", variant="soft", color_scheme="gray", **cancel)
        ),
        busy_button(submit, busy, type="submit", id=submit_id)
        if busy is not None
        else rx.button(submit, type="submit", id=submit_id),
        justify="end",
        width="100%",
        spacing="3",
    )


def form_dialog(
    title: rx.Component | str,
    form: rx.Component,
    *,
    open_: rx.Var[bool],
    on_open_change: Any,
    max_width: str,
    description: rx.Component | None = None,
) -> rx.Component:
    """A dialog around one form (`rx.form`), opened while `open_`; `description` (an
    `rx.dialog.description`) stands between the title and the form."""
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(title),
            *([description] if description is not None else []),
            form,
            max_width=max_width,
        ),
        open=open_,
        on_open_change=on_open_change,
    )
