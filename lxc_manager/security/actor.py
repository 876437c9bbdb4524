"""Who acts: a user id and whether that user is an administrator (DESIGN §3.2).

Services that own data shared between users (templates, package buckets) take an `Actor`
instead of a bare user id, so every read and change can apply the owner/visibility rules.
Pages build it from the session (`require_session` has just re-read it), never from
anything the browser sends.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Actor"]


@dataclass(frozen=True)
class Actor:
    user_id: str
    is_admin: bool

    def __post_init__(self) -> None:
        if not self.user_id:
            raise ValueError("an actor needs a user id")
