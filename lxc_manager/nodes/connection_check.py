"""The connection test of a node's settings before they are saved (`check_node`).

The input is validated and normalised, a stored secret is reused only while what it is
bound to is unchanged, and the API (and SSH, when configured) is checked, throttled per
user. `service` saves a node only after this test passed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from lxc_manager.db.engine import session_scope
from lxc_manager.db.models import ProxmoxNode
from lxc_manager.settings import get_settings

from . import checks, members, throttle
from .checks import ApiCheck, SshCheck
from .connections import _timeouts
from .reading import _name_taken, _node_count, _row
from .secrets import unseal
from .types import CheckResult, NodeInput, NodeSecretError
from .validation import field_errors, name_taken_message, normalized

MSG_STORED_TOKEN_UNREADABLE = "The stored token secret cannot be read: enter it again"
MSG_STORED_SSH_UNREADABLE = "The stored SSH secret cannot be read: enter it again"
# What a stored secret is bound to: changing any of these needs the secret typed again.
_TOKEN_BOUND = (("host", "address"), ("port", "address"), ("token_id", "token ID"))
_SSH_BOUND = (("host", "address"), ("ssh_port", "SSH port"), ("ssh_user", "SSH user"))


def too_many_nodes_message(limit: int) -> str:
    return (
        f"You have {limit} nodes, the most one user may add (LXCM_MAX_NODES_PER_USER): "
        "delete one before adding another"
    )


@dataclass(frozen=True)
class _Plan:
    """A valid input with the secrets it will use (typed or kept): never leaves the package."""

    data: NodeInput
    token_secret: str = field(repr=False)
    ssh_secret: str | None = field(repr=False)
    ssh_kind: str
    api: ApiCheck
    ssh: SshCheck | None


def _changed(existing: ProxmoxNode, data: NodeInput, bound: tuple[tuple[str, str], ...]) -> str:
    """What of `bound` the edit changes, for a message ("address and token ID"), or ""."""
    labels = [label for name, label in bound if getattr(existing, name) != getattr(data, name)]
    return " and ".join(dict.fromkeys(labels))


def _reentry_errors(existing: ProxmoxNode, data: NodeInput) -> dict[str, str]:
    """The stored secrets the edit would send somewhere they were not verified."""
    errors: dict[str, str] = {}
    token_moved = _changed(existing, data, _TOKEN_BOUND)
    if data.token_secret is None and token_moved:
        errors["token_secret"] = f"Enter the token secret again: the {token_moved} changed"
    keeps_ssh = data.ssh_secret is None and existing.ssh_secret is not None and not data.clear_ssh
    ssh_moved = _changed(existing, data, _SSH_BOUND)
    if keeps_ssh and ssh_moved:
        what = "private key" if existing.ssh_secret_kind == "key" else "password"
        errors["ssh_secret"] = f"Enter the SSH {what} again: the {ssh_moved} changed"
    return errors


def _prepare(user_id: str, raw: NodeInput, node_id: int | None) -> _Plan | CheckResult:
    """Validate the form and resolve what the test uses (sync: runs in a thread)."""
    data = normalized(raw)
    limit = get_settings().max_nodes_per_user
    with session_scope() as db:
        existing = _row(db, user_id, node_id) if node_id is not None else None
        if existing is None and _node_count(db, user_id) >= limit:
            return CheckResult(ok=False, error=too_many_nodes_message(limit))
        errors = field_errors(data, creating=existing is None)
        if "name" not in errors and _name_taken(db, user_id, data.name, node_id):
            errors["name"] = name_taken_message(data.name)
        if existing is not None:
            errors = {**_reentry_errors(existing, data), **errors}
    if errors:
        return CheckResult(ok=False, field_errors=errors)

    token_secret = data.token_secret
    ssh_secret, ssh_kind = (data.ssh_secret, data.ssh_secret_kind)
    if existing is not None:
        assert existing.id is not None
        try:
            token_secret = token_secret or unseal(
                existing.id, "token_secret", existing.token_secret
            )
        except NodeSecretError:
            return CheckResult(ok=False, field_errors={"token_secret": MSG_STORED_TOKEN_UNREADABLE})
        if ssh_secret is None and existing.ssh_secret is not None and not data.clear_ssh:
            try:
                ssh_secret = unseal(existing.id, "ssh_secret", existing.ssh_secret)
            except NodeSecretError:
                return CheckResult(ok=False, field_errors={"ssh_secret": MSG_STORED_SSH_UNREADABLE})
            ssh_kind = existing.ssh_secret_kind or "password"
    if data.clear_ssh:
        ssh_secret = None
    assert token_secret is not None  # required on create, kept on edit

    same_api = existing is not None and (existing.host, existing.port) == (data.host, data.port)
    same_ssh = existing is not None and (existing.host, existing.ssh_port) == (
        data.host,
        data.ssh_port,
    )
    api = ApiCheck(
        host=data.host,
        port=data.port,
        token_id=data.token_id,
        token_secret=token_secret,
        confirmed=data.tls_fingerprint,
        pinned=existing.tls_fingerprint if existing is not None and same_api else None,
        timeouts=_timeouts(),
    )
    ssh = None
    if ssh_secret is not None:
        ssh = SshCheck(
            host=data.host,
            port=data.ssh_port,
            user=data.ssh_user,
            secret=ssh_secret,
            kind=ssh_kind,
            confirmed=data.ssh_host_key,
            pinned=existing.ssh_host_key if existing is not None and same_ssh else None,
            precise=existing is not None and data.ssh_secret is None,
            pinned_members=members.parse_member_keys(existing.ssh_member_keys)
            if existing is not None and same_ssh
            else {},
            confirmed_members=dict(data.member_host_keys),
        )
    return _Plan(data, token_secret, ssh_secret, ssh_kind, api, ssh)


async def _throttled(user_id: str) -> CheckResult | None:
    """Count the connection test about to run; a refusal when the user ran too many."""
    try:
        wait = await throttle.take(user_id)
    except throttle.ThrottleUnavailable:
        return CheckResult(ok=False, error=throttle.MSG_UNAVAILABLE)
    return None if wait is None else CheckResult(ok=False, error=throttle.wait_message(wait))


async def _checked(
    user_id: str, data: NodeInput, node_id: int | None, throttled: bool = True
) -> tuple[_Plan | None, CheckResult]:
    """(plan, result): plan None when nothing was contacted (bad input, too many tests)."""
    prepared = await asyncio.to_thread(_prepare, user_id, data, node_id)
    if isinstance(prepared, CheckResult):
        return None, prepared
    refused = await _throttled(user_id) if throttled else None
    if refused is not None:
        return None, refused
    return prepared, await checks.check_connection(prepared.api, prepared.ssh)


async def check_node(user_id: str, data: NodeInput, node_id: int | None = None) -> CheckResult:
    """Validate and test without saving. `node_id`: the node being edited (its stored
    secrets and pins apply as on save)."""
    return (await _checked(user_id, data, node_id))[1]
