"""What the API keys page shows and what its form submits (Reflex-free)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import BaseModel

from lxc_manager.api.keys import ApiKeyView


@dataclass(frozen=True)
class KeyForm:
    """The "Create key" form's submitted fields (control names)."""

    name: str = ""
    expires_days: str = ""


class KeyRow(BaseModel):
    id: int
    name: str
    prefix: str
    created: str
    expires: str
    last_used: str
    status: str  # "active" | "expired" | "revoked"


def _when(value: datetime | None, empty: str) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else empty


def key_row(view: ApiKeyView, now: datetime | None = None) -> KeyRow:
    return KeyRow(
        id=view.id,
        name=view.name,
        prefix=f"lxcm_{view.prefix}_…",
        created=_when(view.created_at, "—"),
        expires=_when(view.expires_at, "never"),
        last_used=_when(view.last_used_at, "never"),
        status=view.status(now),
    )


def endpoint_of(user_id: str) -> str:
    """`root@pam@3f9c…` → `3f9c…`: the sign-in endpoint that vouched for the user."""
    return user_id.rsplit("@", 1)[1] if user_id.count("@") >= 2 else ""
