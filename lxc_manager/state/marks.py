"""Marks for State methods."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def not_an_event(method: F) -> F:
    """Keep a helper method out of the State's event handlers.

    Reflex turns every public method of a State into an event that any browser may fire
    by name; these helpers are called by the handlers and the guards only. The marker is
    the one Reflex uses for its own overridden base methods, and the handler walk checks
    that they stay out (tests/unit/test_handler_guards.py).
    """
    method.__override_base_method__ = True  # type: ignore[attr-defined]
    return method
