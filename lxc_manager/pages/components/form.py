"""The form kit: stateless fields used by every form of the app.

A `Form` says how one form names its controls and where its errors are; the components
take values and handlers in and hold no state. Every label points at its control
(`html_for`), every control points at its error (`aria-describedby`) and says when it is
invalid (`aria-invalid`), and an error is announced when it appears (`role="alert"`).

Field names are checked: a `Form` built with `fields` refuses, when the page is compiled,
a component for a name it does not know, and the page State refuses the same names at run
time (`Form.known`), so a typo is an error, never a silently ignored field.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

import reflex as rx

Handler = Callable[..., Any]

# The `errors` of a form whose fields have no message of their own (it reports by toast).
NO_ERRORS: rx.Var[dict[str, str]] = rx.Var.create({}).to(dict[str, str])


@dataclass(frozen=True)
class Form:
    """One form: `errors` maps a field name to its message; a control's id is
    `id_prefix + name`, its error's id `error_prefix + name + "-error"`."""

    # A Reflex dict Var (`.contains`, `[name]`): Reflex's typing of Var does not express
    # them, so it is typed as Any here.
    errors: Any
    id_prefix: str = ""
    error_prefix: str | None = None
    fields: Collection[str] = dataclass_field(default=())
    read_only: rx.Var[bool] | bool = False

    def known(self, name: str) -> str:
        if self.fields and name not in self.fields:
            raise KeyError(f"no field {name!r} in the form {self.id_prefix or '(unnamed)'}")
        return name

    def control_id(self, name: str) -> str:
        return self.id_prefix + self.known(name).rsplit(".", 1)[-1]

    def error_id(self, name: str) -> str:
        prefix = self.id_prefix if self.error_prefix is None else self.error_prefix
        return f"{prefix}{self.known(name)}-error"

    def invalid(self, name: str) -> rx.Var[str]:
        invalid: rx.Var[str] = rx.cond(self.errors.contains(name), "true", "false")
        return invalid

    def a11y(self, name: str) -> dict[str, Any]:
        """The attributes that tie a control to its error."""
        return {"aria-invalid": self.invalid(name), "aria-describedby": self.error_id(name)}


def hint_text(text: str | rx.Var[str]) -> rx.Component:
    component: rx.Component = rx.text(text, size="1", color=rx.color("gray", 10))
    return component


def _hints(hint: str | rx.Var[str] | None) -> list[rx.Component]:
    return [hint_text(hint)] if isinstance(hint, rx.Var) or hint else []


def error(form: Form, name: str) -> rx.Component:
    """The field's message, announced when it appears; nothing when the field is fine."""
    component: rx.Component = rx.cond(
        form.errors.contains(name),
        rx.text(
            form.errors[name],
            size="1",
            color=rx.color("red", 11),
            role="alert",
            id=form.error_id(name),
            overflow_wrap="anywhere",
        ),
    )
    return component


def field(
    form: Form,
    label: str | rx.Component,
    name: str,
    control: rx.Component,
    hint: str | rx.Var[str] | None = None,
    control_id: str | None = None,
) -> rx.Component:
    """A label pointing at `control`, the control, its hint and its error."""
    component: rx.Component = rx.vstack(
        rx.el.label(
            rx.text(label, size="2", weight="medium") if isinstance(label, str) else label,
            html_for=control_id or form.control_id(name),
        ),
        control,
        *_hints(hint),
        error(form, name),
        spacing="1",
        width="100%",
    )
    return component


def _control(
    component_fn: Callable[..., rx.Component],
    form: Form,
    name: str,
    value: rx.Var[str] | None = None,
    on_change: Handler | None = None,
    **props: Any,
) -> rx.Component:
    """A text box (`rx.input` or `rx.text_area`) of `form`. Controlled (`value` +
    `on_change`) or part of a submitted form (no `value`: it carries `name`, and
    `default_value` may be passed). `slot`: an `rx.input.slot(...)` shown inside the box
    (a search icon)."""
    controlled: dict[str, Any] = (
        {"value": value, "on_change": on_change} if value is not None else {"name": name}
    )
    custom = {**form.a11y(name), **props.pop("custom_attrs", {})}
    if form.read_only is not False:
        props.setdefault("read_only", form.read_only)
    slot = props.pop("slot", None)
    return component_fn(
        *([slot] if slot is not None else []),
        id=props.pop("id", form.control_id(name)),
        width=props.pop("width", "100%"),
        custom_attrs=custom,
        **controlled,
        **props,
    )


# text_input(form, name, value=None, on_change=None, **props), and the same for the others.
text_input = functools.partial(_control, rx.input)
# A whole number typed as text (the State parses and checks it).
number_input = functools.partial(_control, rx.input, input_mode="numeric")
textarea = functools.partial(_control, rx.text_area)


def select(
    form: Form,
    name: str,
    value: rx.Var[str],
    on_change: Handler,
    items: rx.Var[list[Any]] | Sequence[tuple[str, str]],
    placeholder: str = "",
    **props: Any,
) -> rx.Component:
    """A select of `items`: a Var of rows with `.value` and `.label`, or (value, label)
    pairs known when the page is compiled."""
    if isinstance(items, rx.Var):
        options = rx.foreach(items, lambda o: rx.select.item(o.label, value=o.value))
        content = rx.select.content(options)
    else:
        content = rx.select.content(*[rx.select.item(label, value=v) for v, label in items])
    component: rx.Component = rx.select.root(
        rx.select.trigger(
            placeholder=placeholder,
            id=props.pop("id", form.control_id(name)),
            width=props.pop("width", "100%"),
            aria_label=props.pop("aria_label", None),
            custom_attrs=form.a11y(name),
        ),
        content,
        value=value,
        on_change=on_change,
        disabled=props.pop("disabled", form.read_only),
        **props,
    )
    return component


def flag(
    form: Form,
    name: str,
    label: str | rx.Component,
    checked: rx.Var[bool] | None = None,
    on_change: Handler | None = None,
    hint: str = "",
    **props: Any,
) -> rx.Component:
    """A checkbox with its label (and hint) beside it; the whole row is clickable.
    Controlled (`checked` + `on_change`) or part of a submitted form (no `checked`: it
    carries `name`, sent as "on" when ticked)."""
    controlled: dict[str, Any] = (
        {"checked": checked, "on_change": on_change} if checked is not None else {"name": name}
    )
    component: rx.Component = rx.el.label(
        rx.hstack(
            rx.checkbox(
                **controlled,
                id=props.pop("id", form.control_id(name)),
                disabled=props.pop("disabled", form.read_only),
                **props,
            ),
            rx.vstack(
                rx.text(label, size="2", weight="medium") if isinstance(label, str) else label,
                *([hint_text(hint)] if hint else []),
                spacing="0",
            ),
            spacing="2",
            align="start",
        )
    )
    return component


def radios(
    choices: Sequence[tuple[str, str, str]],
    value: rx.Var[str],
    on_change: Any,
    wrap: str = "nowrap",
    **props: Any,
) -> rx.Component:
    """Radio buttons in a row (`wrap="wrap"`: on several lines when narrow), each
    `(value, label, id)` with its label pointing at it."""
    items: list[rx.Component] = []
    for choice, label, control_id in choices:
        items.append(
            rx.hstack(
                rx.radio_group.item(value=choice, id=control_id),
                rx.el.label(label, html_for=control_id),
                spacing="2",
                align="center",
            )
        )
    group: rx.Component = rx.radio_group.root(
        rx.hstack(*items, spacing="3", align="center", wrap=wrap),
        value=value,
        on_change=on_change,
        **props,
    )
    return group
