"""The node service: each user's Proxmox endpoints (DESIGN §0, §3.3-3.5). Plain Python.

Every query is scoped to the user: another user's node id, like a deleted one, raises
`NodeNotFound`. Nothing is saved before the connection test passes. Secrets are sealed
with the app's keyring and bound to their row and field; they are decrypted only where a
connection is built (`client_for`, `ssh_target_for`, the tests) and never returned.

A stored secret only ever goes where it was verified: an edit that changes the host, port
or token ID must enter the token secret again, one that changes the host, SSH port or SSH
user the SSH secret (otherwise whoever holds the session, a stolen tab say, could point
the node at their own server and receive the secrets). Connection tests are counted per
user (`throttle`), and a user has at most `LXCM_MAX_NODES_PER_USER` nodes.

    result = await create_node(user_id, NodeInput(...))
    if isinstance(result, CheckResult):      # not saved: show field_errors / error, or ask
        ...                                  # to confirm result.tls_fingerprint / ssh_host_key
    else:
        node = result                        # NodeView
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select, update

from lxc_manager.db.engine import session_scope
from lxc_manager.db.models import ProxmoxNode, utcnow
from lxc_manager.proxmox import ProxmoxClient, ProxmoxError, Timeouts, TlsPolicy, TokenAuth
from lxc_manager.proxmox import shared as shared_clients_cache
from lxc_manager.security import audit
from lxc_manager.security.crypto import Keyring
from lxc_manager.settings import get_settings
from lxc_manager.ssh import SshPool, SshTarget

from . import checks, members, throttle
from .checks import ApiCheck, SshCheck
from .members import MemberKey, MemberKeyChanged, MemberNotFound
from .secrets import SECRET_FIELDS, keyring, seal, unseal
from .types import (
    CheckResult,
    NodeClient,
    NodeInput,
    NodeNotFound,
    NodeSecretError,
    NodeView,
    Probe,
)
from .validation import PRIVSEP_HINT, field_errors, name_taken_message, normalized

__all__ = [
    "PRIVSEP_HINT",
    "CheckResult",
    "NodeClient",
    "NodeInput",
    "NodeNotFound",
    "NodeSecretError",
    "NodeView",
    "Probe",
    "check_node",
    "client_for",
    "create_node",
    "delete_node",
    "get_node",
    "list_nodes",
    "make_default",
    "probe_nodes",
    "rotate_keys",
    "shared_node_clients",
    "ssh_target_for",
    "ssh_target_on",
    "update_node",
]

log = logging.getLogger(__name__)

MSG_STORED_TOKEN_UNREADABLE = "The stored token secret cannot be read: enter it again"
MSG_STORED_SSH_UNREADABLE = "The stored SSH secret cannot be read: enter it again"
_INSERT_ATTEMPTS = 3
# What a stored secret is bound to: changing any of these needs the secret typed again.
_TOKEN_BOUND = (("host", "address"), ("port", "address"), ("token_id", "token ID"))
_SSH_BOUND = (("host", "address"), ("ssh_port", "SSH port"), ("ssh_user", "SSH user"))


class _NameTaken(Exception):
    pass


class _TooManyNodes(Exception):
    pass


def too_many_nodes_message(limit: int) -> str:
    return (
        f"You have {limit} nodes, the most one user may add (LXCM_MAX_NODES_PER_USER): "
        "delete one before adding another"
    )


# -- reading -------------------------------------------------------------------------------


def _row(db: Session, user_id: str, node_id: int) -> ProxmoxNode:
    """The user's node, or NodeNotFound (never another user's row)."""
    if isinstance(node_id, bool) or not isinstance(node_id, int):
        raise NodeNotFound()
    node = db.exec(
        select(ProxmoxNode).where(ProxmoxNode.id == node_id, ProxmoxNode.user_id == user_id)
    ).first()
    if node is None:
        raise NodeNotFound()
    return node


def _pve_nodes(text: str) -> list[str]:
    try:
        value = json.loads(text or "[]")
    except ValueError:
        return [part for part in text.split(",") if part]
    return [str(v) for v in value] if isinstance(value, list) else []


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes: every stored time is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _view(node: ProxmoxNode) -> NodeView:
    assert node.id is not None
    return NodeView(
        id=node.id,
        name=node.name,
        host=node.host,
        port=node.port,
        token_id=node.token_id,
        ssh_user=node.ssh_user,
        ssh_port=node.ssh_port,
        has_ssh=node.ssh_secret is not None,
        tls_fingerprint=node.tls_fingerprint,
        ssh_host_key=node.ssh_host_key,
        is_default=node.is_default,
        cluster_name=node.cluster_name,
        cluster_key=node.cluster_key,
        pve_nodes=_pve_nodes(node.pve_nodes),
        created_at=_aware(node.created_at),
        updated_at=_aware(node.updated_at),
        member_keys=tuple(members.parse_member_keys(node.ssh_member_keys).values()),
    )


def list_nodes_sync(user_id: str) -> list[NodeView]:
    """The user's nodes: the default first, then by name (blocking: for code that already
    runs in a thread; async code awaits `list_nodes`)."""
    with session_scope() as db:
        rows = db.exec(
            select(ProxmoxNode)
            .where(ProxmoxNode.user_id == user_id)
            .order_by(
                col(ProxmoxNode.is_default).desc(),
                func.lower(ProxmoxNode.name),
                col(ProxmoxNode.id),
            )
        )
        return [_view(node) for node in rows]


async def list_nodes(user_id: str) -> list[NodeView]:
    """The user's nodes: the default first, then by name."""
    return await asyncio.to_thread(list_nodes_sync, user_id)


def get_node_sync(user_id: str, node_id: int) -> NodeView:
    """The user's node or NodeNotFound (blocking: for code that already runs in a thread;
    async code awaits `get_node`)."""
    with session_scope() as db:
        return _view(_row(db, user_id, node_id))


async def get_node(user_id: str, node_id: int) -> NodeView:
    """The user's node; NodeNotFound for another user's or a missing one."""
    return await asyncio.to_thread(get_node_sync, user_id, node_id)


def _node_count(db: Session, user_id: str) -> int:
    query = select(func.count()).select_from(ProxmoxNode).where(ProxmoxNode.user_id == user_id)
    return int(db.exec(query).one())


def _name_taken(db: Session, user_id: str, name: str, exclude_id: int | None) -> bool:
    query = select(ProxmoxNode.id).where(
        ProxmoxNode.user_id == user_id, func.lower(ProxmoxNode.name) == name.lower()
    )
    if exclude_id is not None:
        query = query.where(ProxmoxNode.id != exclude_id)
    return db.exec(query.limit(1)).first() is not None


# -- the connection test -----------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    """A valid input with the secrets it will use (typed or kept): never leaves the module."""

    data: NodeInput
    token_secret: str = field(repr=False)
    ssh_secret: str | None = field(repr=False)
    ssh_kind: str
    api: ApiCheck
    ssh: SshCheck | None


def _timeouts() -> Timeouts:
    settings = get_settings()
    return Timeouts(connect=settings.proxmox_connect_timeout, read=settings.proxmox_read_timeout)


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


# -- writing -------------------------------------------------------------------------------


def _target(name: str) -> str:
    return f"node:{name}"[:255]


def _failure_detail(result: CheckResult) -> str:
    parts = [f"{name}: {message}" for name, message in result.field_errors.items()]
    if result.error:
        parts.append(result.error)
    return "; ".join(parts)


async def _audit(
    action: str, user_id: str, name: str, result: CheckResult | None = None, detail: str = ""
) -> None:
    if result is not None and (result.ok or not (result.field_errors or result.error)):
        return  # nothing failed (only a fingerprint to confirm): nothing to record
    outcome = audit.Outcome.OK if result is None else audit.Outcome.FAILED
    text = detail if result is None else _failure_detail(result)
    await asyncio.to_thread(
        audit.record, action, user_id=user_id, target=_target(name), outcome=outcome, detail=text
    )


def _apply_check(node: ProxmoxNode, plan: _Plan, result: CheckResult) -> None:
    node.tls_fingerprint = result.tls_fingerprint
    node.cluster_name = result.cluster_name
    node.cluster_key = result.cluster_key
    node.pve_nodes = json.dumps(result.pve_nodes)
    node.ssh_host_key = result.ssh_host_key if plan.ssh is not None else None
    node.ssh_member_keys = (
        members.dump_member_keys(result.member_keys) if plan.ssh is not None else "{}"
    )


def _insert(user_id: str, plan: _Plan, result: CheckResult) -> NodeView:
    """Insert, flush for the id, then seal the secrets bound to it: one transaction.

    The first node of a user becomes the default. Two first nodes saved at once both try;
    the partial unique index refuses the second, which is retried as a non-default. The
    node cap is checked again here (the connection test took a while)."""
    ring = keyring()
    data = plan.data
    limit = get_settings().max_nodes_per_user
    for _ in range(_INSERT_ATTEMPTS):
        try:
            with session_scope() as db:
                count = _node_count(db, user_id)
                if count >= limit:
                    raise _TooManyNodes()
                has_nodes = count > 0
                now = utcnow()
                node = ProxmoxNode(
                    user_id=user_id,
                    name=data.name,
                    host=data.host,
                    port=data.port,
                    token_id=data.token_id,
                    ssh_user=data.ssh_user,
                    ssh_port=data.ssh_port,
                    ssh_secret_kind=plan.ssh_kind if plan.ssh_secret is not None else "",
                    tls_fingerprint=result.tls_fingerprint,
                    is_default=not has_nodes,
                    created_at=now,
                    updated_at=now,
                )
                _apply_check(node, plan, result)
                db.add(node)
                db.flush()
                assert node.id is not None
                node.token_secret = seal(node.id, "token_secret", plan.token_secret, ring)
                if plan.ssh_secret is not None:
                    node.ssh_secret = seal(node.id, "ssh_secret", plan.ssh_secret, ring)
                db.add(node)
                db.flush()
                return _view(node)
        except IntegrityError:
            with session_scope() as db:
                if _name_taken(db, user_id, data.name, None):
                    raise _NameTaken() from None
            log.info("concurrent first node for %s: saving as non-default", user_id)
    raise RuntimeError("could not save the node (concurrent changes); try again")


async def create_node(
    user_id: str, data: NodeInput, *, throttled: bool = True
) -> NodeView | CheckResult:
    """Test, then save. A `CheckResult` (ok=False) means nothing was saved."""
    plan, result = await _checked(user_id, data, None, throttled)
    name = data.name.strip()
    if plan is None or not result.ok:
        if plan is not None:  # the connection test failed (bad input alone is not recorded)
            await _audit("node.create", user_id, name, result)
        return result
    try:
        view = await asyncio.to_thread(_insert, user_id, plan, result)
    except _NameTaken:
        return CheckResult(ok=False, field_errors={"name": name_taken_message(name)})
    except _TooManyNodes:
        limit = get_settings().max_nodes_per_user
        return CheckResult(ok=False, error=too_many_nodes_message(limit))
    await _audit(
        "node.create",
        user_id,
        view.name,
        detail=f"{view.address} token {view.token_id}; {view.cluster_key}"
        + ("; ssh" if view.has_ssh else "")
        + ("; default" if view.is_default else ""),
    )
    return view


def _update(
    user_id: str, node_id: int, plan: _Plan, result: CheckResult
) -> tuple[NodeView, list[str]]:
    ring = keyring()
    data = plan.data
    try:
        with session_scope() as db:
            node = _row(db, user_id, node_id)
            assert node.id is not None
            changed = [
                name
                for name in ("name", "host", "port", "token_id", "ssh_user", "ssh_port")
                if getattr(node, name) != getattr(data, name)
            ]
            node.name, node.host, node.port = data.name, data.host, data.port
            node.token_id, node.ssh_user, node.ssh_port = (
                data.token_id,
                data.ssh_user,
                data.ssh_port,
            )
            if data.token_secret is not None:
                node.token_secret = seal(node.id, "token_secret", data.token_secret, ring)
                changed.append("token_secret")
            if plan.ssh_secret is None:
                if node.ssh_secret is not None:
                    changed.append("ssh removed")
                node.ssh_secret, node.ssh_secret_kind = None, ""
            elif data.ssh_secret is not None:
                node.ssh_secret = seal(node.id, "ssh_secret", data.ssh_secret, ring)
                node.ssh_secret_kind = plan.ssh_kind
                changed.append("ssh_secret")
            if node.tls_fingerprint != result.tls_fingerprint:
                changed.append("tls_fingerprint")
            if plan.ssh is not None and node.ssh_host_key != result.ssh_host_key:
                changed.append("ssh_host_key")
            member_keys = node.ssh_member_keys
            _apply_check(node, plan, result)
            if node.ssh_member_keys != member_keys:
                changed.append("member host keys")
            node.updated_at = utcnow()
            db.add(node)
            db.flush()
            return _view(node), changed
    except IntegrityError:
        raise _NameTaken() from None


async def update_node(user_id: str, node_id: int, data: NodeInput) -> NodeView | CheckResult:
    """Test the edited node (empty secrets = the stored ones), then save it."""
    plan, result = await _checked(user_id, data, node_id)
    name = data.name.strip()
    if plan is None or not result.ok:
        if plan is not None:
            await _audit("node.update", user_id, name, result)
        return result
    try:
        view, changed = await asyncio.to_thread(_update, user_id, node_id, plan, result)
    except _NameTaken:
        return CheckResult(ok=False, field_errors={"name": name_taken_message(name)})
    shared_clients_cache.forget(_owner(node_id))
    await _audit(
        "node.update", user_id, view.name, detail="changed: " + (", ".join(changed) or "nothing")
    )
    return view


async def delete_node(user_id: str, node_id: int) -> None:
    """Delete the node; if it was the default, the oldest remaining node becomes the default
    in the same transaction."""
    await asyncio.to_thread(_delete_node, user_id, node_id)


def _delete_node(user_id: str, node_id: int) -> None:
    with session_scope() as db:
        node = _row(db, user_id, node_id)
        name, was_default = node.name, node.is_default
        db.delete(node)
        db.flush()  # the row must be gone before another takes the default
        promoted = None
        if was_default:
            promoted = db.exec(
                select(ProxmoxNode)
                .where(ProxmoxNode.user_id == user_id)
                .order_by(col(ProxmoxNode.created_at), col(ProxmoxNode.id))
                .limit(1)
            ).first()
            if promoted is not None:
                promoted.is_default = True
                db.add(promoted)
                db.flush()
        promoted_name = promoted.name if promoted is not None else None
    shared_clients_cache.forget(_owner(node_id))
    audit.record(
        "node.delete",
        user_id=user_id,
        target=_target(name),
        detail=f"default moved to {promoted_name}" if promoted_name else "",
    )


async def make_default(user_id: str, node_id: int) -> None:
    """Make the node the user's default: the old default is cleared first, one transaction."""
    await asyncio.to_thread(_make_default, user_id, node_id)


def _make_default(user_id: str, node_id: int) -> None:
    with session_scope() as db:
        node = _row(db, user_id, node_id)
        if node.is_default:
            return
        db.exec(
            update(ProxmoxNode)
            .where(col(ProxmoxNode.user_id) == user_id, col(ProxmoxNode.is_default))
            .values(is_default=False)
        )
        node.is_default = True
        db.add(node)
        db.flush()
        name = node.name
    audit.record("node.make_default", user_id=user_id, target=_target(name))


# -- connections (decrypt at the point of use) -------------------------------------------------


def _client(node: ProxmoxNode, ring: Keyring | None = None) -> ProxmoxClient:
    assert node.id is not None
    secret = unseal(node.id, "token_secret", node.token_secret, ring)
    return ProxmoxClient(
        node.host,
        node.port,
        tls=TlsPolicy(fingerprint=node.tls_fingerprint),
        auth=TokenAuth(node.token_id, secret),
        timeouts=_timeouts(),
    )


def _ssh_target(node: ProxmoxNode, ring: Keyring | None = None) -> SshTarget | None:
    if node.ssh_secret is None:
        return None
    assert node.id is not None
    secret = unseal(node.id, "ssh_secret", node.ssh_secret, ring)
    key = node.ssh_secret_kind == "key"
    return SshTarget(
        host=node.host,
        port=node.ssh_port,
        username=node.ssh_user,
        password=None if key else secret,
        private_key=secret if key else None,
        host_key_fingerprint=node.ssh_host_key,
    )


def client_for(user_id: str, node_id: int) -> ProxmoxClient:
    """A pinned, token-authenticated client for the user's node (use `async with`).
    Raises NodeNotFound, or NodeSecretError when the stored secret does not decrypt."""
    with session_scope() as db:
        node = _row(db, user_id, node_id)
    return _client(node)


@dataclass(frozen=True)
class _Connection:
    """What a shared client is built from (stays inside this module: it holds the secret)."""

    node: NodeView
    token_secret: str = field(repr=False)


def _owner(node_id: int) -> tuple[str, int]:
    return ("node", node_id)


def _connections(user_id: str) -> list[_Connection | tuple[NodeView, NodeSecretError]]:
    """Every node of the user with its decrypted token secret: one query, one keyring."""
    with session_scope() as db:
        rows = list(db.exec(select(ProxmoxNode).where(ProxmoxNode.user_id == user_id)))
        views = [_view(node) for node in rows]
    ring = keyring() if rows else None
    found: list[_Connection | tuple[NodeView, NodeSecretError]] = []
    for node, view in zip(rows, views, strict=True):
        try:
            found.append(
                _Connection(view, unseal(view.id, "token_secret", node.token_secret, ring))
            )
        except NodeSecretError as exc:
            found.append((view, exc))
    return found


def _shared(connection: _Connection) -> ProxmoxClient:
    node, timeouts = connection.node, _timeouts()
    tls = TlsPolicy(fingerprint=node.tls_fingerprint)
    digest = shared_clients_cache.credential_digest(node.token_id, connection.token_secret)
    key = (node.host, node.port, tls, node.token_id, digest, timeouts)
    return shared_clients_cache.shared_client(
        _owner(node.id),
        key,
        lambda: ProxmoxClient(
            node.host,
            node.port,
            tls=tls,
            auth=TokenAuth(node.token_id, connection.token_secret),
            timeouts=timeouts,
        ),
    )


async def shared_node_clients(user_id: str) -> list[NodeClient]:
    """Every node of the user (the default first, then by name) with a shared, pinned,
    token-authenticated client (`proxmox.shared`: reused across calls, never closed by the
    caller, no `async with`), or the NodeSecretError that prevents one. One database query
    and one keyring load for all nodes; call it on the event loop that uses the clients."""
    loaded = await asyncio.to_thread(_connections, user_id)
    found: list[NodeClient] = []
    for item in loaded:
        if isinstance(item, _Connection):
            found.append(NodeClient(item.node, _shared(item)))
        else:
            found.append(NodeClient(item[0], None, item[1]))
    found.sort(key=lambda c: (not c.node.is_default, c.node.name.lower(), c.node.id))
    return found


def ssh_target_for(user_id: str, node_id: int) -> SshTarget | None:
    """The pinned SSH target of the user's node; None without SSH credentials."""
    with session_scope() as db:
        node = _row(db, user_id, node_id)
    return _ssh_target(node)


def _endpoint_and_members(
    user_id: str, node_id: int
) -> tuple[SshTarget | None, dict[str, MemberKey], str]:
    with session_scope() as db:
        node = _row(db, user_id, node_id)
    return _ssh_target(node), members.parse_member_keys(node.ssh_member_keys), node.name


def _pin_member(user_id: str, node_id: int, member: MemberKey) -> None:
    """Pin a member's key on first use (one transaction; a key pinned meanwhile wins)."""
    with session_scope() as db:
        node = _row(db, user_id, node_id)
        known = members.parse_member_keys(node.ssh_member_keys)
        pinned = known.get(member.name)
        if pinned is not None:
            if pinned.key != member.key:
                raise MemberKeyChanged(member.name, member.ip, pinned.key, member.key)
            return
        known[member.name] = member
        node.ssh_member_keys = members.dump_member_keys(known.values())
        db.add(node)
        name = node.name
    audit.record(
        "node.member_key",
        user_id=user_id,
        target=_target(name),
        detail=f"pinned on first use: {member.name} {member.ip} {member.key}",
    )


async def ssh_target_on(
    user_id: str, node_id: int, pve_node: str, client: ProxmoxClient
) -> SshTarget | None:
    """The SSH target that runs `pct` on PVE node `pve_node` of the user's node's cluster:
    the node's own target when it is the endpoint's host, else the member itself at its
    `/cluster/status` address with its own pinned host key and the node's credentials
    (see `members`). None without SSH credentials. Raises NodeNotFound, NodeSecretError,
    and SshErrors with a message for the user: MemberNotFound, MemberUnreachable,
    MemberKeyChanged (nothing was sent to that member)."""
    endpoint, pinned, _ = await asyncio.to_thread(_endpoint_and_members, user_id, node_id)
    if endpoint is None:
        return None
    try:
        status = await client.cluster_status()
    except ProxmoxError as exc:
        raise MemberNotFound(pve_node, f"cluster status unreadable: {exc}") from None
    local = status.local_node
    if len(status.nodes) <= 1 or (local is not None and local.name == pve_node):
        return endpoint
    member = next((n for n in status.nodes if n.name == pve_node), None)
    if member is None or not member.ip:
        raise MemberNotFound(pve_node)
    where = f"{member.ip}:{endpoint.port}"
    presented = await members.presented_member_key(pve_node, member.ip, endpoint.port)
    known = pinned.get(pve_node)
    if known is None:
        log.info("member %s of node %s pinned on first use: %s", pve_node, node_id, presented)
        await asyncio.to_thread(
            _pin_member, user_id, node_id, MemberKey(pve_node, member.ip, presented)
        )
    elif known.key != presented:
        log.warning(
            "member %s at %s: host key %s, pinned %s", pve_node, where, presented, known.key
        )
        raise MemberKeyChanged(pve_node, where, known.key, presented)
    return dataclasses.replace(endpoint, host=member.ip, host_key_fingerprint=presented)


async def probe_nodes(user_id: str, timeout: float = 5.0) -> dict[int, Probe]:  # noqa: ASYNC109
    """Reachability of every node of the user, concurrently, each within `timeout` seconds
    (API and SSH side by side): one dead node never delays the others."""

    def load() -> tuple[list[ProxmoxNode], Keyring]:
        with session_scope() as db:
            nodes = list(db.exec(select(ProxmoxNode).where(ProxmoxNode.user_id == user_id)))
        return nodes, keyring()

    nodes, ring = await asyncio.to_thread(load)
    if not nodes:
        return {}

    async def one(node: ProxmoxNode, pool: SshPool) -> tuple[int, Probe]:
        assert node.id is not None
        try:
            client = _client(node, ring)
            target = _ssh_target(node, ring)
        except NodeSecretError as exc:
            log.warning("probe: %s", exc)
            return node.id, Probe(False, None, NodeSecretError.user_message, "unknown")
        (reachable, latency, error), ssh = await asyncio.gather(
            checks.probe_api(client, timeout), checks.probe_ssh(pool, target, timeout)
        )
        return node.id, Probe(reachable, latency, error, ssh)

    async with checks.probe_pool(timeout) as pool:
        results = await asyncio.gather(*(one(node, pool) for node in nodes))
    return dict(results)


def rotate_keys() -> int:
    """Re-encrypt every node secret not sealed with the keyring's active key (one
    transaction). Returns how many stored values changed. Raises NodeSecretError (nothing
    changed) when a value does not decrypt with any key of the keyring."""
    ring = keyring()
    changed = 0
    with session_scope() as db:
        for node in db.exec(select(ProxmoxNode).order_by(col(ProxmoxNode.id))):
            assert node.id is not None
            for name in SECRET_FIELDS:
                value = getattr(node, name)
                if value and ring.needs_rotation(value):
                    plaintext = unseal(node.id, name, value, ring)
                    setattr(node, name, seal(node.id, name, plaintext, ring))
                    changed += 1
            db.add(node)
    return changed
