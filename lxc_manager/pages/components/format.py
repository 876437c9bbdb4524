"""Display formatting shared by the pages: plain functions, no Reflex.

Pages and their row models format numbers for people here, so that the same quantity
reads the same on every page and tests import this module rather than a page.
"""

from __future__ import annotations

from datetime import datetime

NONE = "—"  # what a page shows for a value it does not have


def owner_label(catalog: bool, mine: bool, visibility: str, owner_name: str) -> str:
    """Whose a template or package bucket is and who sees it: `catalog`, `mine · private`,
    `mine · shared` or `shared by USER`."""
    if catalog:
        return "catalog"
    return f"mine · {visibility}" if mine else f"shared by {owner_name}"


def minute(at: datetime) -> str:
    """A timestamp to the minute: `2025-01-31 14:05`."""
    return at.strftime("%Y-%m-%d %H:%M")
