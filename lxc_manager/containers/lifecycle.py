"""Container lifecycle: start / shutdown / stop / reboot / delete, one at a time per container.

Every call goes through the user's own node (`client_for` scopes it: another user's node id
is "Node not found"), follows the Proxmox task to its end and answers an `ActionResult`
with a short message for the user; Proxmox's own text goes to the log. Two actions on the
same container never overlap: a Redis lock `ct-action:{user}:{cluster_key}:{vmid}` is held
while one runs (per user: a cluster key is what a remote server claims, so another user's
server claiming the same cluster must not block this user's actions). Every attempt on an existing node is audited (`container.<action>`).

    result = await run_action(user_id, node_id, "pve2", 105, "shutdown", shutdown_timeout=30)
    if not result.ok:
        show(result.message)
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import redis.exceptions

from lxc_manager import redis_client
from lxc_manager.nodes import (
    NodeNotFound,
    NodeSecretError,
    client_for,
    cluster_key_of,
    get_node_sync,
)
from lxc_manager.proxmox import (
    ProxmoxClient,
    ProxmoxError,
    Upid,
)
from lxc_manager.proxmox.errors import (
    MSG_RUNNING,
    MSG_UNEXPECTED,
    failure_message,
    short_message,
)
from lxc_manager.security import audit

from . import known

__all__ = [
    "ACTIONS",
    "BULK_CONCURRENCY",
    "MSG_BUSY",
    "MSG_NODE_NOT_FOUND",
    "TASK_LOG_LINES",
    "ActionResult",
    "bulk_action",
    "delete_container",
    "failure_message",
    "lock_key",
    "run_action",
    "short_message",
    "task_log",
    "validation_error",
]

log = logging.getLogger(__name__)

ACTIONS = ("start", "shutdown", "stop", "reboot")
# Start / stop / shutdown of an HA resource answer a `hastart` / `hastop` task that ends
# once the request is queued (pve-container src/PVE/API2/LXC/Status.pm); HA's resource
# manager acts later. The status the container must reach afterwards, per task type:
HA_TASKS = {"hastart": "running", "hastop": "stopped"}
HA_FOLLOW_TIMEOUT = 120.0
HA_POLL_INTERVAL = (0.25, 2.0)  # first and longest pause between status reads
BULK_CONCURRENCY = 8
TASK_LOG_LINES = 50
VMID_MIN, VMID_MAX = 100, 999_999_999

MSG_NODE_NOT_FOUND = "Node not found"
MSG_BUSY = "Another action is running on this container"
MSG_LOCK_UNAVAILABLE = "Actions are unavailable right now (internal error); try again"

_DONE = {
    "start": "Started",
    "shutdown": "Shut down",
    "stop": "Stopped",
    "reboot": "Rebooted",
    "delete": "Deleted",
}
_PVE_NODE = re.compile(r"^[a-zA-Z0-9](?:[a-zA-Z0-9\-]{0,61}[a-zA-Z0-9])?$")
# Compare-and-delete: only the holder of the lock (its token) releases it.
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


@dataclass(frozen=True)
class ActionResult:
    ok: bool
    message: str
    upid: str | None = None
    task_log: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Target:
    node_name: str
    cluster_key: str
    client: ProxmoxClient


# -- pure helpers ---------------------------------------------------------------------------


def validation_error(pve_node: str, vmid: int, action: str | None = None) -> str | None:
    """What is wrong with the request, or None."""
    if action is not None and action not in ACTIONS:
        return f"Unknown action (use one of: {', '.join(ACTIONS)})"
    if isinstance(vmid, bool) or not isinstance(vmid, int) or not VMID_MIN <= vmid <= VMID_MAX:
        return f"The container id must be a number from {VMID_MIN} to {VMID_MAX}"
    if not isinstance(pve_node, str) or _PVE_NODE.fullmatch(pve_node) is None:
        return "Invalid Proxmox node name"
    return None


def lock_key(user_id: str, cluster_key: str, vmid: int) -> str:
    return f"ct-action:{user_id}:{cluster_key}:{vmid}"


def _ha_target(upid: str) -> str | None:
    """The status an HA task's request leads to ("running" / "stopped"), else None."""
    try:
        return HA_TASKS.get(Upid.parse(upid).type)
    except ValueError:
        return None


def ha_timeout_message(wanted: str, seconds: float) -> str:
    return (
        f"HA accepted the request, but the container was not {wanted} after {seconds:g} s; "
        "HA may still be working on it"
    )


def _task_node(upid: str, fallback: str) -> str:
    try:
        return Upid.parse(upid).node
    except ValueError:
        return fallback


def _log_lines(data: Any) -> tuple[str, ...]:
    if not isinstance(data, list):
        return ()
    lines = [str(entry.get("t", "")) for entry in data if isinstance(entry, dict)]
    return tuple(lines[-TASK_LOG_LINES:])


# -- plumbing -------------------------------------------------------------------------------


def _resolve(user_id: str, node_id: int) -> _Target:
    """The user's node (NodeNotFound otherwise) and a client for it (sync: in a thread)."""
    node = get_node_sync(user_id, node_id)
    return _Target(node.name, cluster_key_of(node), client_for(user_id, node_id))


@asynccontextmanager
async def _container_lock(key: str, seconds: float) -> AsyncIterator[bool]:
    """Yields whether the lock was taken; released at the end only by its owner."""
    client = redis_client.async_client()
    token = secrets.token_hex(16)
    taken = bool(await client.set(key, token, nx=True, ex=max(1, int(seconds) + 10)))
    try:
        yield taken
    finally:
        if taken:
            try:
                await client.eval(_RELEASE, 1, key, token)  # type: ignore[misc]
            except redis.exceptions.RedisError:
                log.warning("could not release %s (it expires by itself)", key, exc_info=True)


async def _fetch_log(client: ProxmoxClient, node: str, upid: str) -> tuple[str, ...]:
    """The task's last lines; () when they cannot be read (never fails the action)."""
    try:
        data = await client.task_log(node, upid)
    except ProxmoxError as exc:
        log.info("task log of %s not available: %r", upid, exc)
        return ()
    return _log_lines(data)


async def _run_task(
    client: ProxmoxClient,
    pve_node: str,
    start: Callable[[], Awaitable[Any]],
    task_timeout: float,
) -> tuple[str, tuple[str, ...], BaseException | None]:
    """Start a task, follow it to its end: (upid, log lines, error or None).
    An error before the task exists comes back with an empty upid."""
    try:
        upid = str(await start())
    except ProxmoxError as exc:
        return "", (), exc
    node = _task_node(upid, pve_node)
    error: BaseException | None = None
    try:
        await client.wait_for_task(node, upid, timeout=task_timeout)
    except ProxmoxError as exc:
        error = exc
    return upid, await _fetch_log(client, node, upid), error


async def _follow_ha(
    client: ProxmoxClient, pve_node: str, vmid: int, wanted: str, within: float
) -> str | None:
    """Read the container's status until HA has brought it to `wanted`; None when it got
    there, else what to tell the user."""
    deadline = asyncio.get_running_loop().time() + within
    pause, longest = HA_POLL_INTERVAL
    while True:
        try:
            if (await client.lxc_status(pve_node, vmid)).status == wanted:
                return None
        except ProxmoxError as exc:
            log.info("status of HA-managed CT %s not readable: %r", vmid, exc)
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            return ha_timeout_message(wanted, within)
        await asyncio.sleep(min(pause, remaining))
        pause = min(pause * 2, longest)


async def _audit(action: str, user_id: str, target: str, ok: bool, detail: str) -> None:
    outcome = audit.Outcome.OK if ok else audit.Outcome.FAILED
    try:
        await asyncio.to_thread(
            audit.record,
            f"container.{action}",
            user_id=user_id,
            target=target,
            outcome=outcome,
            detail=detail,
        )
    except Exception:  # the action happened: a failed audit write must not hide that
        log.exception("audit of container.%s on %s failed", action, target)


async def _guarded(
    user_id: str,
    node_id: int,
    vmid: int,
    action: str,
    lock_seconds: float,
    body: Callable[[_Target], Awaitable[tuple[ActionResult, str]]],
) -> ActionResult:
    """Resolve the node, take the container's lock, run `body`, audit the outcome.
    `body` returns the result and the audit detail."""
    try:
        target = await asyncio.to_thread(_resolve, user_id, node_id)
    except NodeNotFound:
        await _audit(action, user_id, f"ct:node#{node_id}/{vmid}", False, MSG_NODE_NOT_FOUND)
        return ActionResult(ok=False, message=MSG_NODE_NOT_FOUND)
    except NodeSecretError as exc:
        log.warning("container.%s: %s", action, exc)
        return ActionResult(ok=False, message=exc.user_message)
    audit_target = f"ct:{target.node_name}/{vmid}"
    try:
        async with (
            target.client,
            _container_lock(lock_key(user_id, target.cluster_key, vmid), lock_seconds) as taken,
        ):
            if not taken:
                result, detail = ActionResult(ok=False, message=MSG_BUSY), MSG_BUSY
            else:
                result, detail = await body(target)
    except redis.exceptions.RedisError:
        log.exception("container.%s on %s: Redis failed", action, audit_target)
        return ActionResult(ok=False, message=MSG_LOCK_UNAVAILABLE)
    except Exception:  # never a stack trace to the browser; the task may have run
        log.exception("container.%s on %s failed unexpectedly", action, audit_target)
        result, detail = ActionResult(ok=False, message=MSG_UNEXPECTED), MSG_UNEXPECTED
    await _audit(action, user_id, audit_target, result.ok, detail)
    return result


def _result(
    action: str, vmid: int, upid: str, lines: tuple[str, ...], error: BaseException | None
) -> tuple[ActionResult, str]:
    if error is None:
        message = _DONE[action]
        return ActionResult(True, message, upid or None, lines), f"{message} ({upid})"
    message = failure_message(error, lines)
    log.info("container.%s CT %s failed: %r", action, vmid, error)
    detail = f"{message}" + (f" ({upid})" if upid else "")
    return ActionResult(False, message, upid or None, lines), detail


# -- the API --------------------------------------------------------------------------------


async def run_action(
    user_id: str,
    node_id: int,
    pve_node: str,
    vmid: int,
    action: str,
    *,
    shutdown_timeout: int = 60,
    force: bool = False,
    task_timeout: float = 120.0,
    ha_timeout: float = HA_FOLLOW_TIMEOUT,
) -> ActionResult:
    """start / shutdown / stop / reboot one container and follow its task to the end.
    `shutdown_timeout` and `force` (stop when the shutdown times out) apply to shutdown;
    the timeout also bounds the shutdown part of a reboot. For an HA resource the task only
    queues the request: the container's status is then followed for up to `ha_timeout`
    seconds until HA has done it."""
    problem = validation_error(pve_node, vmid, action)
    if problem is not None:
        return ActionResult(ok=False, message=problem)
    data: dict[str, Any] = {}
    if action == "shutdown":
        data = {"timeout": max(0, int(shutdown_timeout)), "forceStop": force or None}
    elif action == "reboot":
        data = {"timeout": max(0, int(shutdown_timeout))}

    async def body(target: _Target) -> tuple[ActionResult, str]:
        upid, lines, error = await _run_task(
            target.client,
            pve_node,
            lambda: target.client.lxc_action(pve_node, vmid, action, data),
            task_timeout,
        )
        wanted = _ha_target(upid) if error is None else None
        if wanted is None:
            return _result(action, vmid, upid, lines, error)
        problem = await _follow_ha(target.client, pve_node, vmid, wanted, ha_timeout)
        if problem is not None:
            return ActionResult(False, problem, upid, lines), f"{problem} ({upid})"
        message = f"{_DONE[action]} (through HA)"
        return ActionResult(True, message, upid, lines), f"{message} ({upid})"

    lock_seconds = task_timeout + ha_timeout
    return await _guarded(user_id, node_id, vmid, action, lock_seconds, body)


async def delete_container(
    user_id: str,
    node_id: int,
    pve_node: str,
    vmid: int,
    *,
    purge: bool = False,
    destroy_unreferenced_disks: bool = False,
    stop_first: bool = False,
    task_timeout: float = 120.0,
    ha_timeout: float = HA_FOLLOW_TIMEOUT,
) -> ActionResult:
    """Destroy a container. A running one is refused unless `stop_first` (then it is
    stopped first, following that task, and HA's stop for an HA resource). An HA resource
    is always destroyed with `purge` (Proxmox refuses it otherwise), which also removes it
    from the HA resources. Afterwards the cluster's VMID cache is dropped."""
    problem = validation_error(pve_node, vmid)
    if problem is not None:
        return ActionResult(ok=False, message=problem)

    async def body(target: _Target) -> tuple[ActionResult, str]:
        client = target.client
        try:
            status = await client.lxc_status(pve_node, vmid)
        except ProxmoxError as exc:
            return _result("delete", vmid, "", (), exc)
        stop_lines: tuple[str, ...] = ()
        if status.status == "running":
            if not stop_first:
                return ActionResult(ok=False, message=MSG_RUNNING), MSG_RUNNING
            upid, stop_lines, error = await _run_task(
                client, pve_node, lambda: client.lxc_action(pve_node, vmid, "stop"), task_timeout
            )
            if error is not None:
                result, detail = _result("stop", vmid, upid, stop_lines, error)
                message = f"Could not stop the container: {result.message}"
                return ActionResult(False, message, result.upid, result.task_log), detail
            wanted = _ha_target(upid)
            if wanted is not None:
                problem = await _follow_ha(client, pve_node, vmid, wanted, ha_timeout)
                if problem is not None:
                    message = f"Could not stop the container: {problem}"
                    return ActionResult(False, message, upid, stop_lines), f"{message} ({upid})"
        upid, lines, error = await _run_task(
            client,
            pve_node,
            lambda: client.lxc_delete(
                pve_node,
                vmid,
                purge=purge or status.ha_managed,
                destroy_unreferenced_disks=destroy_unreferenced_disks,
            ),
            task_timeout,
        )
        if error is None:
            await known.forget_vmids(user_id, target.cluster_key)
        result, detail = _result(
            "delete", vmid, upid, (*stop_lines, *lines)[-TASK_LOG_LINES:], error
        )
        if stop_lines:
            detail = f"stopped first; {detail}"
        if status.ha_managed and result.ok:
            message = "Deleted (and removed from the HA resources)"
            result, detail = dataclasses.replace(result, message=message), f"purged; {detail}"
        return result, detail

    lock_seconds = task_timeout * (2 if stop_first else 1) + (ha_timeout if stop_first else 0)
    return await _guarded(user_id, node_id, vmid, "delete", lock_seconds, body)


async def bulk_action(
    user_id: str, targets: Sequence[tuple[int, str, int]], action: str
) -> list[tuple[tuple[int, str, int], ActionResult]]:
    """`run_action` on many containers, at most `BULK_CONCURRENCY` at once; the results in
    the order of `targets`. A duplicate target runs once and shares its result."""
    gate = asyncio.Semaphore(BULK_CONCURRENCY)
    unique = list(dict.fromkeys(targets))

    async def one(target: tuple[int, str, int]) -> ActionResult:
        node_id, pve_node, vmid = target
        async with gate:
            try:
                return await run_action(user_id, node_id, pve_node, vmid, action)
            except Exception:
                log.exception("bulk %s on %s failed", action, target)
                return ActionResult(ok=False, message=MSG_UNEXPECTED)

    results = dict(zip(unique, await asyncio.gather(*(one(t) for t in unique)), strict=True))
    return [(target, results[target]) for target in targets]


async def task_log(user_id: str, node_id: int, pve_node: str, upid: str) -> tuple[str, ...]:
    """The last lines of a task's log, through the user's node.

    Raises NodeNotFound (not the user's node), NodeSecretError, ValueError (bad node name
    or UPID) or a ProxmoxError (e.g. Unreachable, NotFound)."""
    if validation_error(pve_node, VMID_MIN) is not None:
        raise ValueError("Invalid Proxmox node name")
    Upid.parse(upid)
    client = await asyncio.to_thread(client_for, user_id, node_id)
    async with client:
        data = await client.task_log(pve_node, upid)
    return _log_lines(data)
