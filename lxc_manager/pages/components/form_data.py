"""Submitted forms read through a declared field set (Reflex-free).

A form's fields are a frozen dataclass of strings, one attribute per control `name`:
the page builds its `Form(fields=field_names(X))` from it, so a component for an unknown
name fails when the page is compiled, and the State reads the browser's form data with
`read_form(X, form)`, so a handler that names a field the form lacks fails too (an
AttributeError, and mypy says so first). Keys the dataclass does not declare are ignored.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")


def field_names(form_type: type[Any]) -> tuple[str, ...]:
    """The control names of a form dataclass, for `Form(fields=...)`."""
    return tuple(f.name for f in dataclasses.fields(form_type))


def read_form(form_type: type[T], form: Mapping[str, Any]) -> T:
    """The submitted values of `form_type`'s fields; a field absent from the submission
    keeps the dataclass's default."""
    values = {
        f.name: str(form[f.name])
        for f in dataclasses.fields(form_type)  # type: ignore[arg-type]
        if form.get(f.name) is not None
    }
    return form_type(**values)
