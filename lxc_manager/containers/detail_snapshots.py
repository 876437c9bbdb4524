"""Snapshots of one container: list, create, roll back and delete.

The actions answer an `ActionResult` like the lifecycle actions: same per-container lock,
audited, Proxmox errors turned into short messages.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import redis.exceptions

from lxc_manager.nodes import NodeNotFound
from lxc_manager.proxmox import ProxmoxClient, TaskFailed
from lxc_manager.proxmox.errors import MSG_UNEXPECTED

from .detail_access import _check, _client
from .lifecycle import (
    MSG_BUSY,
    MSG_LOCK_UNAVAILABLE,
    MSG_NODE_NOT_FOUND,
    ActionResult,
    _audit,
    _container_lock,
    _resolve,
    _run_task,
    _Target,
    lock_key,
    short_message,
    validation_error,
)

# Logged under the name these messages have always had.
log = logging.getLogger("lxc_manager.containers.detail")

# Proxmox's pve-configid (`^[a-z][a-z0-9_]+$`, case-insensitive), at most 40 characters.
_SNAPNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{1,39}$")


_SNAPSHOT_ERRORS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"snapshot .*does not exist", re.I), "The snapshot does not exist"),
    (re.compile(r"already used|already exists", re.I), "A snapshot with this name exists"),
    (re.compile(r"is reserved", re.I), "This snapshot name is reserved"),
)


@dataclass(frozen=True)
class Snapshot:
    name: str
    description: str
    created: int | None
    parent: str | None


def snapshot_name_error(name: str) -> str | None:
    """What is wrong with a snapshot name (Proxmox's rule), or None."""
    if not isinstance(name, str) or _SNAPNAME.fullmatch(name) is None:
        return "A snapshot name starts with a letter and has 2 to 40 letters, digits or '_'"
    if name == "current":
        return "This snapshot name is reserved"
    return None


async def list_snapshots(user_id: str, node_id: int, pve_node: str, vmid: int) -> list[Snapshot]:
    """The container's snapshots, oldest first (Proxmox's order within a second), without
    Proxmox's "current" entry."""
    _check(pve_node, vmid)
    client = await _client(user_id, node_id)
    async with client:
        data = await client.lxc_snapshots(pve_node, vmid)
    snapshots: list[Snapshot] = []
    for entry in data:
        if not isinstance(entry, dict) or entry.get("name") in (None, "current"):
            continue
        created = entry.get("snaptime")
        parent = entry.get("parent")
        snapshots.append(
            Snapshot(
                name=str(entry["name"]),
                description=str(entry.get("description") or "").strip(),
                created=int(created) if isinstance(created, int | float) else None,
                parent=str(parent) if parent else None,
            )
        )
    return sorted(snapshots, key=lambda s: (s.created is None, s.created or 0))


def _snapshot_message(error: BaseException) -> str:
    text = error.exitstatus if isinstance(error, TaskFailed) else getattr(error, "detail", "")
    for pattern, message in _SNAPSHOT_ERRORS:
        if isinstance(text, str) and pattern.search(text):
            return message
    return short_message(error)


async def _snapshot_action(
    user_id: str,
    node_id: int,
    pve_node: str,
    vmid: int,
    name: str,
    action: str,
    done: str,
    start: Callable[[ProxmoxClient], Awaitable[Any]],
    task_timeout: float,
) -> ActionResult:
    """Validate, resolve the node (NodeNotFound propagates, after an audit), take the
    container's lifecycle lock, run the task to its end, audit the outcome."""
    problem = validation_error(pve_node, vmid) or snapshot_name_error(name)
    if problem is not None:
        return ActionResult(ok=False, message=problem)
    audit_action = f"snapshot.{action}"
    try:
        target: _Target = await asyncio.to_thread(_resolve, user_id, node_id)
    except NodeNotFound:
        where = f"ct:node#{node_id}/{vmid}@{name}"
        await _audit(audit_action, user_id, where, False, MSG_NODE_NOT_FOUND)
        raise
    where = f"ct:{target.node_name}/{vmid}@{name}"
    try:
        async with (
            target.client,
            _container_lock(lock_key(user_id, target.cluster_key, vmid), task_timeout) as taken,
        ):
            if not taken:
                result = ActionResult(ok=False, message=MSG_BUSY)
            else:
                client = target.client
                upid, lines, error = await _run_task(
                    client, pve_node, lambda: start(client), task_timeout
                )
                if error is None:
                    result = ActionResult(True, done, upid or None, lines)
                else:
                    log.info("container.%s %s failed: %r", audit_action, where, error)
                    result = ActionResult(False, _snapshot_message(error), upid or None, lines)
    except redis.exceptions.RedisError:
        log.exception("container.%s on %s: Redis failed", audit_action, where)
        return ActionResult(ok=False, message=MSG_LOCK_UNAVAILABLE)
    except Exception:  # never a stack trace to the browser; the task may have run
        log.exception("container.%s on %s failed unexpectedly", audit_action, where)
        result = ActionResult(ok=False, message=MSG_UNEXPECTED)
    detail = result.message + (f" ({result.upid})" if result.upid else "")
    await _audit(audit_action, user_id, where, result.ok, detail)
    return result


async def create_snapshot(
    user_id: str,
    node_id: int,
    pve_node: str,
    vmid: int,
    name: str,
    description: str = "",
    *,
    task_timeout: float = 300.0,
) -> ActionResult:
    note = description.strip() or None
    return await _snapshot_action(
        user_id,
        node_id,
        pve_node,
        vmid,
        name,
        "create",
        "Snapshot created",
        lambda c: c.lxc_snapshot_create(pve_node, vmid, name, note),
        task_timeout,
    )


async def rollback_snapshot(
    user_id: str, node_id: int, pve_node: str, vmid: int, name: str, *, task_timeout: float = 300.0
) -> ActionResult:
    """Roll back to the snapshot (Proxmox stops a running container for it)."""
    return await _snapshot_action(
        user_id,
        node_id,
        pve_node,
        vmid,
        name,
        "rollback",
        "Rolled back",
        lambda c: c.lxc_snapshot_rollback(pve_node, vmid, name),
        task_timeout,
    )


async def delete_snapshot(
    user_id: str, node_id: int, pve_node: str, vmid: int, name: str, *, task_timeout: float = 300.0
) -> ActionResult:
    return await _snapshot_action(
        user_id,
        node_id,
        pve_node,
        vmid,
        name,
        "delete",
        "Snapshot deleted",
        lambda c: c.lxc_snapshot_delete(pve_node, vmid, name),
        task_timeout,
    )
