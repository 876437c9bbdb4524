"""The stateless pieces that render a recipe (`recipe.RecipeMixin`'s lists): each takes
the page State's vars and handlers in."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import reflex as rx
from reflex.event import EventSpec

from lxc_manager.pages.components.controls import small_icon_button


def bucket_picker(
    names: rx.Var[list[str]],
    chosen: rx.Var[list[str]],
    on_toggle: Callable[[rx.Var[str], rx.Var[bool]], Any],
    empty: rx.Component,
    disabled: rx.Var[bool] | bool = False,
) -> rx.Component:
    """A checkbox per bucket the user may choose; `empty` when there is none."""
    return rx.cond(
        names.length() > 0,
        rx.flex(
            rx.foreach(
                names,
                lambda name: rx.el.label(
                    rx.hstack(
                        rx.checkbox(
                            checked=chosen.contains(name),
                            on_change=lambda v: on_toggle(name, v),
                            disabled=disabled,
                        ),
                        rx.text(name, size="2"),
                        spacing="2",
                        align="center",
                    )
                ),
            ),
            gap="4",
            wrap="wrap",
        ),
        empty,
    )


def move_buttons(
    index: rx.Var[int],
    count: rx.Var[int],
    name: rx.Var[str],
    on_move: Callable[[rx.Var[int], int], Any],
) -> rx.Component:
    """Up and down arrows for the row at `index` of `count` rows."""

    def arrow(icon: str, delta: int, disabled: rx.Var[bool], where: str) -> rx.Component:
        label = rx.Var.create("Move ") + name + where
        return small_icon_button(
            icon, "gray", label, on_click=on_move(index, delta), disabled=disabled
        )

    return rx.fragment(
        arrow("arrow-up", -1, index == 0, " up"),
        arrow("arrow-down", 1, index == count - 1, " down"),
    )


def version_cell(version: rx.Var[str]) -> rx.Component:
    return rx.table.cell(rx.text(rx.cond(version != "", version, "latest"), size="2"))


def remove_button(
    name: rx.Var[str], on_click: EventSpec, icon: str = "trash-2", color: str = "red"
) -> rx.Component:
    label = rx.Var.create("Remove ") + name
    return small_icon_button(icon, color, label, on_click=on_click)


RESOURCES = {
    "cores": "Cores",
    "memory_mb": "Memory (MB)",
    "swap_mb": "Swap (MB)",
    "disk_gb": "Disk (GB)",
}


def resources_grid(
    number: Callable[[str, str], rx.Component], names: Sequence[str] = tuple(RESOURCES)
) -> rx.Component:
    """The container's size fields in a row of four, in the order of `names`;
    `number(label, name)` makes each field."""
    return rx.grid(
        *[number(RESOURCES[name], name) for name in names], columns="4", spacing="4", width="100%"
    )
