"""Personal API keys: created by a signed-in user, shown once, stored hashed (issue 18).

A key is `lxcm_<prefix>_<secret>`: `prefix` (12 hex digits, not secret) finds the row,
the SHA-256 of the whole key is compared in constant time. The key itself is never stored,
logged or audited; only its prefix is. Keys belong to one user (`user_id`, the Proxmox user
@ sign-in endpoint id) and act as that user without administrator rights (see `Principal`).
Creation, revocation and refused uses are audited.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlmodel import col, select

from lxc_manager.aio import in_thread
from lxc_manager.db.engine import session_scope
from lxc_manager.db.models import ApiKey
from lxc_manager.security import audit
from lxc_manager.security.actor import Actor

__all__ = [
    "KEY_PATTERN",
    "MAX_ACTIVE_KEYS",
    "MAX_EXPIRY_DAYS",
    "ApiKeyView",
    "CreateResult",
    "Principal",
    "audit_refusal",
    "authenticate",
    "authenticate_sync",
    "create_key",
    "create_key_sync",
    "key_prefix",
    "list_keys",
    "list_keys_sync",
    "revoke_key",
    "revoke_key_sync",
]

log = logging.getLogger(__name__)

KEY_PATTERN = re.compile(r"lxcm_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")
NAME_MAX = 100
MAX_ACTIVE_KEYS = 25
MAX_EXPIRY_DAYS = 3650
LAST_USED_EVERY = timedelta(seconds=60)  # last_used_at is written at most this often

MSG_NAME_REQUIRED = "Give the key a name"
MSG_NAME_TOO_LONG = f"At most {NAME_MAX} characters"
MSG_NAME_BAD = "Letters, digits, spaces and - _ . : only"
MSG_NAME_TAKEN = "You already have an active key with this name"
MSG_EXPIRY = f"A whole number of days from 1 to {MAX_EXPIRY_DAYS}, or empty for no expiry"
MSG_TOO_MANY = f"You have {MAX_ACTIVE_KEYS} active keys, the most allowed: revoke one first"
_NAME = re.compile(r"[\w .:\-]+")


@dataclass(frozen=True)
class ApiKeyView:
    """A key as its user may see it: never the key or its hash."""

    id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    def status(self, now: datetime | None = None) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and _aware(self.expires_at) <= (now or _now()):
            return "expired"
        return "active"


@dataclass(frozen=True)
class CreateResult:
    key: ApiKeyView | None = None
    secret: str = field(default="", repr=False)  # the whole key, to show once
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.key is not None and not self.errors


@dataclass(frozen=True)
class Principal:
    """Who a valid key acts as.

    A key carries its user id only, never the administrator role: that role comes from
    Proxmox (`Sys.Modify` on `/`, read with the user's own ticket at sign-in) or from
    `LXCM_ADMINS`, and a key has no ticket to read it again, so a role granted at creation
    would outlive its withdrawal in Proxmox. Administration stays in the browser.
    """

    key_id: int
    user_id: str
    endpoint_id: str
    prefix: str

    @property
    def actor(self) -> Actor:
        return Actor(self.user_id, is_admin=False)


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    """SQLite hands datetimes back without their zone; they were written in UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_prefix(key: str) -> str | None:
    """The lookup prefix of a well-formed key, else None."""
    match = KEY_PATTERN.fullmatch(key)
    return match.group(1) if match else None


def _view(row: ApiKey) -> ApiKeyView:
    assert row.id is not None
    return ApiKeyView(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        created_at=_aware(row.created_at),
        expires_at=_aware(row.expires_at) if row.expires_at else None,
        last_used_at=_aware(row.last_used_at) if row.last_used_at else None,
        revoked_at=_aware(row.revoked_at) if row.revoked_at else None,
    )


def _validate(name: str, expires_days: str) -> tuple[str, int | None, dict[str, str]]:
    errors: dict[str, str] = {}
    name = " ".join(name.split())
    if not name:
        errors["name"] = MSG_NAME_REQUIRED
    elif len(name) > NAME_MAX:
        errors["name"] = MSG_NAME_TOO_LONG
    elif not _NAME.fullmatch(name):
        errors["name"] = MSG_NAME_BAD
    days: int | None = None
    text = expires_days.strip()
    if text:
        if not text.isdigit() or not 1 <= int(text) <= MAX_EXPIRY_DAYS:
            errors["expires_days"] = MSG_EXPIRY
        else:
            days = int(text)
    return name, days, errors


def _active(user_id: str, now: datetime) -> list[ApiKey]:
    with session_scope() as session:
        rows = session.exec(
            select(ApiKey).where(ApiKey.user_id == user_id).where(col(ApiKey.revoked_at).is_(None))
        ).all()
    return [row for row in rows if row.expires_at is None or _aware(row.expires_at) > now]


def create_key_sync(
    user_id: str, endpoint_id: str, name: str, expires_days: str = ""
) -> CreateResult:
    """Make a key for `user_id`; `expires_days` is "" (never) or 1..MAX_EXPIRY_DAYS.
    Bad input changes nothing and says which field is wrong."""
    if not user_id:
        raise ValueError("a key needs a user")
    name, days, errors = _validate(name, expires_days)
    now = _now()
    if not errors:
        active = _active(user_id, now)
        if any(row.name == name for row in active):
            errors["name"] = MSG_NAME_TAKEN
        elif len(active) >= MAX_ACTIVE_KEYS:
            errors["name"] = MSG_TOO_MANY
    if errors:
        return CreateResult(errors=errors)
    prefix = secrets.token_hex(6)
    secret = f"lxcm_{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(
        user_id=user_id,
        endpoint_id=endpoint_id,
        name=name,
        prefix=prefix,
        key_hash=_digest(secret),
        created_at=now,
        expires_at=now + timedelta(days=days) if days else None,
    )
    with session_scope() as session:
        session.add(row)
        session.flush()
        view = _view(row)
    audit.record(
        "api_key.create",
        user_id=user_id,
        target=f"api-key:{prefix}",
        detail=f"name={name} expires={view.expires_at.isoformat() if view.expires_at else 'never'}",
    )
    return CreateResult(key=view, secret=secret)


def list_keys_sync(user_id: str) -> list[ApiKeyView]:
    """The user's keys, newest first (revoked ones too, marked)."""
    with session_scope() as session:
        rows = session.exec(
            select(ApiKey)
            .where(ApiKey.user_id == user_id)
            .order_by(col(ApiKey.created_at).desc(), col(ApiKey.id).desc())
        ).all()
        return [_view(row) for row in rows]


def revoke_key_sync(user_id: str, key_id: int) -> bool:
    """Revoke one of the user's keys; False when it is not theirs (or does not exist).
    Revoking a revoked key changes nothing and says True."""
    with session_scope() as session:
        row = session.get(ApiKey, key_id)
        if row is None or row.user_id != user_id:
            return False
        if row.revoked_at is not None:
            return True
        row.revoked_at = _now()
        session.add(row)
        prefix, name = row.prefix, row.name
    audit.record("api_key.revoke", user_id=user_id, target=f"api-key:{prefix}", detail=name)
    return True


def authenticate_sync(key: str) -> Principal | str:
    """The principal of a valid key, else why not ("malformed", "unknown", "revoked",
    "expired", "mismatch"). A valid use records `last_used_at` (at most once a minute)."""
    prefix = key_prefix(key)
    if prefix is None:
        return "malformed"
    now = _now()
    with session_scope() as session:
        row = session.exec(select(ApiKey).where(ApiKey.prefix == prefix)).first()
        # Compared even for an unknown prefix, so the answer takes as long either way.
        expected = row.key_hash if row is not None else _digest("")
        matches = hmac.compare_digest(_digest(key), expected)
        if row is None:
            return "unknown"
        if not matches:
            return "mismatch"
        if row.revoked_at is not None:
            return "revoked"
        if row.expires_at is not None and _aware(row.expires_at) <= now:
            return "expired"
        if row.last_used_at is None or _aware(row.last_used_at) + LAST_USED_EVERY <= now:
            row.last_used_at = now
            session.add(row)
        assert row.id is not None
        return Principal(row.id, row.user_id, row.endpoint_id, row.prefix)


def owner_of_prefix_sync(prefix: str) -> str:
    with session_scope() as session:
        row = session.exec(select(ApiKey).where(ApiKey.prefix == prefix)).first()
        return row.user_id if row is not None else ""


def audit_refusal(key: str, reason: str, client: str) -> None:
    """Audit a refused key: under its owner when the prefix names a key, never the key."""
    prefix = key_prefix(key)
    user_id = owner_of_prefix_sync(prefix) if prefix else ""
    audit.record(
        "api_key.use",
        user_id=user_id,
        target=f"api-key:{prefix}" if prefix else "api-key:-",
        outcome=audit.Outcome.FAILED,
        detail=f"{reason} from {client}",
    )


create_key = in_thread(create_key_sync)
list_keys = in_thread(list_keys_sync)
revoke_key = in_thread(revoke_key_sync)
authenticate = in_thread(authenticate_sync)
