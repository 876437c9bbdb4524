"""Small stateless pieces several pages show the same way: a submit button that spins
while its form is busy, a spinner in place of an icon, an error callout, a loading
spinner in place of content, a two-line table cell, and the age of a last backup."""

from __future__ import annotations

from typing import Any

import reflex as rx

from .backup_age import BACKUP_COLORS, BackupCell


def busy_button(label: Any, busy: rx.Var[bool], **props: Any) -> rx.Component:
    """A button with a spinner before its label while `busy` (and disabled then)."""
    return rx.button(
        rx.cond(busy, rx.spinner(size="2"), rx.fragment()),
        label,
        disabled=busy,
        **props,
    )


def busy_icon(busy: rx.Var[bool], icon: str, size: int = 16) -> rx.Component:
    """A spinner while `busy`, else the icon (for buttons that start something slow)."""
    return rx.cond(busy, rx.spinner(size="1" if size < 16 else "2"), rx.icon(icon, size=size))


def error_callout(message: rx.Var[str], **props: Any) -> rx.Component:
    """A red callout announcing `message` when it appears; nothing while it is empty."""
    return rx.cond(
        message != "",
        rx.callout(message, icon="circle-alert", color_scheme="red", role="alert", **props),
    )


def note(icon: str, content: rx.Component, color: str | None = None, **props: Any) -> rx.Component:
    """A callout across its container: an icon and `content` (an `rx.callout.text`, or
    lines of text in a stack)."""
    if color is not None:
        props["color_scheme"] = color
    return rx.callout.root(rx.callout.icon(rx.icon(icon)), content, width="100%", **props)


def list_note(
    items: rx.Var[list[Any]],
    icon: str,
    content: rx.Component,
    color: str | None = None,
    **props: Any,
) -> rx.Component:
    """A `note` about `items` (a bulk action's results, a sync's errors), shown while there
    are any."""
    return rx.cond(items.length() > 0, note(icon, content, color, **props))


def loading(loaded: rx.Var[bool], content: rx.Component) -> rx.Component:
    """`content` once the page's data is loaded, a spinner until then."""
    return rx.cond(loaded, content, rx.center(rx.spinner(), width="100%", padding="2rem"))


def row_button(icon: str | rx.Var[str], label: str | rx.Var[str], **props: Any) -> rx.Component:
    """A small soft button with an icon, for a table row's actions."""
    return rx.button(rx.icon(icon, size=14), label, size="1", variant="soft", **props)


def small_icon_button(icon: str, color: str, label: Any, **props: Any) -> rx.Component:
    """A small soft icon button of a row or a list, named by `label` for screen readers."""
    return rx.icon_button(
        rx.icon(icon, size=14),
        size="1",
        variant="soft",
        color_scheme=color,
        aria_label=label,
        **props,
    )


def two_lines(main: rx.Var[str], detail: rx.Var[str]) -> rx.Component:
    """A table cell's value over a smaller, grey detail line."""
    return rx.vstack(
        rx.text(main, size="2"),
        rx.text(detail, size="1", color=rx.color("gray", 10)),
        spacing="0",
    )


def age_badge(cell: rx.Var[BackupCell]) -> rx.Component:
    """The age of a container's newest backup, coloured by its tone, the date on hover."""
    return rx.tooltip(
        rx.badge(
            cell.text,
            color_scheme=rx.match(cell.tone, *BACKUP_COLORS.items(), "gray"),
            variant=rx.cond(cell.tone == "unknown", "outline", "soft"),
            custom_attrs={"data-testid": "last-backup", "data-tone": cell.tone},
        ),
        content=cell.title,
    )
