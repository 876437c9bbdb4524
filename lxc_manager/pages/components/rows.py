"""Building a page's row models from service objects."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


def row_of(model: type[M], source: object, **shown: Any) -> M:
    """A `model` whose fields are read from `source`'s attributes of the same name, except
    those given in `shown` (the ones the page shows differently, or that `source` lacks).
    A field found in neither fails validation, so a renamed attribute is not missed."""
    same = {
        name: getattr(source, name)
        for name in model.model_fields
        if name not in shown and hasattr(source, name)
    }
    return model(**same, **shown)
