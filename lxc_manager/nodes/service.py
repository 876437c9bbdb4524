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

This module saves, changes and deletes nodes (with `utcnow` looked up here, where tests
patch it); beside it are `reading` (the row lookups and `NodeView`), `connection_check`
(`check_node`) and `connections` (clients, SSH targets, probes, key rotation), all
re-exported here.
"""

from __future__ import annotations

import asyncio
import json
import logging

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select, update

from lxc_manager.db.engine import session_scope
from lxc_manager.db.models import ProxmoxNode, utcnow
from lxc_manager.proxmox import shared as shared_clients_cache
from lxc_manager.security import audit
from lxc_manager.settings import get_settings

from . import members
from .connection_check import (
    MSG_STORED_SSH_UNREADABLE,
    MSG_STORED_TOKEN_UNREADABLE,
    _checked,
    _Plan,
    check_node,
    too_many_nodes_message,
)
from .connections import (
    _owner,
    client_for,
    probe_nodes,
    rotate_keys,
    shared_node_clients,
    ssh_target_for,
    ssh_target_on,
)
from .reading import (
    _name_taken,
    _node_count,
    _row,
    _target,
    _view,
    get_node,
    get_node_sync,
    list_nodes,
    list_nodes_sync,
)
from .secrets import keyring, seal
from .types import (
    CheckResult,
    NodeClient,
    NodeInput,
    NodeNotFound,
    NodeSecretError,
    NodeView,
    Probe,
)
from .validation import PRIVSEP_HINT, name_taken_message

__all__ = [
    "MSG_STORED_SSH_UNREADABLE",
    "MSG_STORED_TOKEN_UNREADABLE",
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
    "get_node_sync",
    "list_nodes",
    "list_nodes_sync",
    "make_default",
    "probe_nodes",
    "rotate_keys",
    "shared_node_clients",
    "ssh_target_for",
    "ssh_target_on",
    "update_node",
]

log = logging.getLogger(__name__)

_INSERT_ATTEMPTS = 3


class _NameTaken(Exception):
    pass


class _TooManyNodes(Exception):
    pass


# -- writing -------------------------------------------------------------------------------


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
