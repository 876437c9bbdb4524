"""The API keys service: shown once, stored hashed, per user, validated, revocable, audited."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlmodel import select

from lxc_manager.api import keys
from lxc_manager.db.engine import session_scope
from lxc_manager.db.models import ApiKey, AuditEvent

USER_A = "root@pam@1"
USER_B = "alice@pve@1"


@pytest.fixture(autouse=True)
def _db(api_db: Path) -> None:
    return None


def _rows() -> list[ApiKey]:
    with session_scope() as session:
        return list(session.exec(select(ApiKey)))


def _audit() -> list[AuditEvent]:
    with session_scope() as session:
        return list(session.exec(select(AuditEvent)))


def test_a_key_is_shown_once_and_stored_only_as_its_hash() -> None:
    result = keys.create_key_sync(USER_A, "ep1", "  ci   runner ", "30")
    assert result.ok and result.key is not None
    assert keys.KEY_PATTERN.fullmatch(result.secret)
    assert result.key.name == "ci runner" and result.key.prefix in result.secret
    assert result.key.expires_at is not None and result.key.status() == "active"
    [row] = _rows()
    assert row.key_hash == hashlib.sha256(result.secret.encode()).hexdigest()
    secret_part = result.secret.rsplit("_", 1)[1]
    for value in row.model_dump().values():
        assert secret_part not in str(value)
    [view] = keys.list_keys_sync(USER_A)
    assert result.secret not in repr(view) and secret_part not in repr(result)
    assert keys.list_keys_sync(USER_B) == []
    [event] = _audit()
    assert (event.action, event.user_id, event.target) == (
        "api_key.create",
        USER_A,
        f"api-key:{row.prefix}",
    )
    assert secret_part not in event.detail


def test_authenticate_accepts_the_key_and_nothing_like_it() -> None:
    secret = keys.create_key_sync(USER_A, "ep1", "ci").secret
    found = keys.authenticate_sync(secret)
    assert isinstance(found, keys.Principal)
    assert (found.user_id, found.endpoint_id) == (USER_A, "ep1")
    assert found.actor.user_id == USER_A and not found.actor.is_admin
    [row] = _rows()
    assert row.last_used_at is not None
    prefix = keys.key_prefix(secret)
    other = f"lxcm_{prefix}_" + "A" * 43
    assert keys.authenticate_sync(other) == "mismatch"
    assert keys.authenticate_sync("lxcm_000000000000_" + "A" * 43) == "unknown"
    assert keys.authenticate_sync(secret + "x") == "malformed"
    assert keys.authenticate_sync("") == "malformed"


@pytest.mark.parametrize(
    ("name", "days", "field"),
    [
        ("", "", "name"),
        ("x" * 101, "", "name"),
        ("<script>", "", "name"),
        ("ok", "0", "expires_days"),
        ("ok", "3651", "expires_days"),
        ("ok", "1.5", "expires_days"),
        ("ok", "-1", "expires_days"),
    ],
)
def test_bad_input_names_the_field_and_creates_nothing(name: str, days: str, field: str) -> None:
    result = keys.create_key_sync(USER_A, "ep1", name, days)
    assert not result.ok and field in result.errors and result.secret == ""
    assert _rows() == [] and _audit() == []


def test_names_are_unique_among_a_users_active_keys_and_keys_are_limited() -> None:
    first = keys.create_key_sync(USER_A, "ep1", "ci")
    assert keys.create_key_sync(USER_A, "ep1", "ci").errors == {"name": keys.MSG_NAME_TAKEN}
    assert keys.create_key_sync(USER_B, "ep1", "ci").ok  # another user's names are theirs
    assert first.key is not None
    assert keys.revoke_key_sync(USER_A, first.key.id)
    assert keys.create_key_sync(USER_A, "ep1", "ci").ok  # a revoked key frees its name
    for n in range(keys.MAX_ACTIVE_KEYS - 1):
        assert keys.create_key_sync(USER_A, "ep1", f"k{n}").ok
    assert keys.create_key_sync(USER_A, "ep1", "one more").errors == {"name": keys.MSG_TOO_MANY}


def test_revoking_is_for_the_owner_only_and_is_audited() -> None:
    created = keys.create_key_sync(USER_A, "ep1", "ci")
    assert created.key is not None
    assert not keys.revoke_key_sync(USER_B, created.key.id)  # another user's: "not found"
    assert not keys.revoke_key_sync(USER_A, 999_999)
    assert isinstance(keys.authenticate_sync(created.secret), keys.Principal)
    assert keys.revoke_key_sync(USER_A, created.key.id)
    assert keys.authenticate_sync(created.secret) == "revoked"
    [view] = keys.list_keys_sync(USER_A)
    assert view.status() == "revoked"
    actions = [(e.action, e.user_id) for e in _audit()]
    assert actions == [("api_key.create", USER_A), ("api_key.revoke", USER_A)]
