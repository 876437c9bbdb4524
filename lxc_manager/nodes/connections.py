"""Connections to a user's nodes, secrets decrypted at the point of use.

The node's Proxmox client (own or shared per user and node), its SSH target (also on
another cluster member, whose host key is pinned on first use), the reachability probe of
all nodes, and re-sealing every stored secret under the current key (`rotate_keys`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from dataclasses import dataclass, field

from sqlmodel import col, select

from lxc_manager.db.engine import session_scope
from lxc_manager.db.models import ProxmoxNode
from lxc_manager.proxmox import ProxmoxClient, ProxmoxError, Timeouts, TlsPolicy, TokenAuth
from lxc_manager.proxmox import shared as shared_clients_cache
from lxc_manager.security import audit
from lxc_manager.security.crypto import Keyring
from lxc_manager.settings import get_settings
from lxc_manager.ssh import SshPool, SshTarget

from . import checks, members
from .members import MemberKey, MemberKeyChanged, MemberNotFound
from .reading import _row, _target, _view
from .secrets import SECRET_FIELDS, keyring, seal, unseal
from .types import NodeClient, NodeSecretError, NodeView, Probe

# Logged under the name these messages have always had.
log = logging.getLogger("lxc_manager.nodes.service")


def _timeouts() -> Timeouts:
    settings = get_settings()
    return Timeouts(connect=settings.proxmox_connect_timeout, read=settings.proxmox_read_timeout)


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
