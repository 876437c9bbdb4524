"""Reading a user's saved nodes: the row lookups and the `NodeView` the pages get.

Every lookup is scoped to the user: another user's node is `NodeNotFound`. `service`
re-exports `list_nodes`, `get_node` and their sync forms.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

from sqlmodel import Session, col, func, select

from lxc_manager.db.engine import session_scope
from lxc_manager.db.models import ProxmoxNode

from . import members
from .types import NodeNotFound, NodeView


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


def _target(name: str) -> str:
    return f"node:{name}"[:255]
