"""Stateless pieces of a listing page: a table, a search box and a filter select.

Values and handlers come in; nothing here reads a State. Search and filters carry an
`aria_label` and no visible label (the placeholder and the chosen item say what they are).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import reflex as rx

Handler = Callable[..., Any]
SEARCH_DEBOUNCE_MS = 250


def data_table(headers: Sequence[str], body: rx.Component, **props: Any) -> rx.Component:
    """A table with one header row of `headers` and `body` (usually an `rx.foreach` of
    rows); `props` (`id`, `size`, ...) go to the table."""
    return rx.table.root(
        rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in headers])),
        rx.table.body(body),
        variant=props.pop("variant", "surface"),
        width=props.pop("width", "100%"),
        **props,
    )


def search_box(
    placeholder: str, value: rx.Var[str], on_change: Any, aria_label: str, **props: Any
) -> rx.Component:
    """A search input that sends what is typed once the user pauses; `on_change` is the
    State's setter (an event handler)."""
    return rx.input(
        rx.input.slot(rx.icon("search", size=14)),
        placeholder=placeholder,
        value=value,
        on_change=on_change.debounce(SEARCH_DEBOUNCE_MS),
        aria_label=aria_label,
        **props,
    )


def filter_select(
    aria_label: str,
    value: rx.Var[str],
    on_change: Handler,
    *items: rx.Component,
    trigger_id: str | None = None,
    placeholder: str | None = None,
) -> rx.Component:
    """A select of `items` (`rx.select.item`s, or an `rx.foreach` of them)."""
    trigger: dict[str, Any] = {"aria_label": aria_label}
    if placeholder:
        trigger["placeholder"] = placeholder
    if trigger_id:
        trigger["id"] = trigger_id
    return rx.select.root(
        rx.select.trigger(**trigger),
        rx.select.content(*items),
        value=value,
        on_change=on_change,
    )


def choices(all_label: str, all_value: str, names: rx.Var[list[str]]) -> list[rx.Component]:
    """The items of a filter: "all" first, then every name as its own value."""
    return [
        rx.select.item(all_label, value=all_value),
        rx.foreach(names, lambda name: rx.select.item(name, value=name)),
    ]
