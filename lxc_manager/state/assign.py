"""Assigning a State's vars only when they change.

Reflex sends every assigned var in the event's delta, even when the value is the same, so
a refresh that finds nothing new should assign nothing."""

from __future__ import annotations

import reflex as rx


def assign(state: rx.State, **values: object) -> None:
    """Set each of `values` on `state` whose current value differs."""
    for name, value in values.items():
        if getattr(state, name) != value:
            setattr(state, name, value)
