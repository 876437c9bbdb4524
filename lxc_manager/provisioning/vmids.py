"""Taken VMIDs per user and cluster (DESIGN §0, §3.3, §4): a short-lived cache and short
reservations.

VMIDs are unique across a whole cluster and shared by containers and VMs, so the cache is
kept per cluster key, filled from `GET /cluster/resources?type=vm`. Every key also names
the user: a cluster key is built from what a remote server answers (anyone can run a
server claiming any cluster and node names), so it proves nothing, and what one user's
credentials read (guest names) is never shown to, or planted for, another user.

- `vmids:{user}:{cluster}`        a set of the taken ids (plus the sentinel "0": an empty
                                  cluster still has a cache), expires after `CACHE_TTL_SECONDS`;
- `vmids:{user}:{cluster}:names`  a hash id -> "container web-1 on pve2", same lifetime;
- `vmid-hold:{user}:{cluster}:{vmid}` a reservation (`SET NX EX`) whose value is the job id.

Two users of one real cluster do not see each other's holds: Proxmox's own uniqueness and
the final check below guard VMIDs across users.

`check_vmid` answers from Redis in one round trip (refreshing once when the cache is
missing); the final word is Proxmox's `GET /cluster/nextid?vmid=N` just before create.

    check = await check_vmid(user_id, node_id, "105")   # VmidCheck("taken", "VMID 105 is taken (container web-1 on pve2)")
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import weakref
from dataclasses import dataclass
from typing import Literal

import redis
import redis.exceptions

from lxc_manager import redis_client
from lxc_manager.containers.known import forget_vmids as invalidate
from lxc_manager.containers.known import vmid_names_key as names_key
from lxc_manager.containers.known import vmids_key as cache_key
from lxc_manager.nodes import (
    NodeNotFound,
    NodeSecretError,
    NodeView,
    client_for,
    cluster_key_of,
    get_node_sync,
)
from lxc_manager.proxmox import ProxmoxClient, ProxmoxError

from .request_fields import MSG_VMID, VMID_MAX, VMID_MIN

__all__ = [
    "CACHE_TTL_SECONDS",
    "CacheLookup",
    "VmidCheck",
    "VmidStatus",
    "cache_key",
    "check_vmid",
    "cluster_key_of",
    "fill_cache",
    "forget_nodes",
    "hold_key",
    "holder",
    "invalidate",
    "lookup",
    "lookup_or_fill",
    "names_key",
    "parse_vmid",
    "refresh_cache",
    "release",
    "release_sync",
    "reserve",
    "taken_message",
]

log = logging.getLogger(__name__)

CACHE_TTL_SECONDS = 60
NODE_CACHE_SECONDS = 10.0
_SENTINEL = "0"  # never a VMID: marks "the cache exists" even for an empty cluster
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""

VmidStatus = Literal["free", "taken", "invalid", "unknown"]


@dataclass(frozen=True)
class VmidCheck:
    status: VmidStatus
    message: str


def hold_key(user_id: str, cluster_key: str, vmid: int) -> str:
    return f"vmid-hold:{user_id}:{cluster_key}:{vmid}"


def parse_vmid(text: str) -> int | None:
    """A VMID typed by a user ("105", " 105 "), None when it is not one."""
    value = text.strip() if isinstance(text, str) else ""
    if not value.isascii() or not value.isdigit() or len(value) > 9:
        return None
    number = int(value)
    return number if VMID_MIN <= number <= VMID_MAX else None


# -- the user's node, briefly cached in the process (the check stays Redis-only) ------------------

_nodes: dict[tuple[str, int], tuple[float, NodeView]] = {}


def forget_nodes() -> None:
    """Drop the process's node cache (tests, or after nodes changed)."""
    _nodes.clear()


async def _node(user_id: str, node_id: int) -> NodeView:
    """The user's node (NodeNotFound otherwise); remembered for a few seconds."""
    key = (user_id, node_id)
    cached = _nodes.get(key)
    now = time.monotonic()
    if cached is not None and now - cached[0] < NODE_CACHE_SECONDS:
        return cached[1]
    node = await asyncio.to_thread(get_node_sync, user_id, node_id)
    if len(_nodes) > 1000:
        _nodes.clear()
    _nodes[key] = (now, node)
    return node


# -- the cache ------------------------------------------------------------------------------------


def _describe(kind: str, name: str | None, node: str | None) -> str:
    what = "VM" if kind == "qemu" else "container"
    text = f"{what} {name}" if name else what
    return f"{text} on {node}" if node else text


async def fill_cache(user_id: str, cluster_key: str, client: ProxmoxClient) -> set[int]:
    """Read the cluster's guests with the user's client and replace the user's cache of
    the cluster with them; returns the taken ids."""
    resources = await client.cluster_resources(type="vm")
    names = {
        str(r.vmid): _describe(r.type, r.name, r.node) for r in resources if r.vmid is not None
    }
    key, nkey = cache_key(user_id, cluster_key), names_key(user_id, cluster_key)
    async with redis_client.async_client().pipeline(transaction=True) as pipe:
        pipe.delete(key, nkey)
        pipe.sadd(key, _SENTINEL, *names)
        if names:
            pipe.hset(nkey, mapping=names)
            pipe.expire(nkey, CACHE_TTL_SECONDS)
        pipe.expire(key, CACHE_TTL_SECONDS)
        await pipe.execute()
    return {int(vmid) for vmid in names}


async def refresh_cache(user_id: str, node_id: int) -> None:
    """Fill the cache of the node's cluster from Proxmox (the wizard calls it when it opens).
    Raises NodeNotFound, NodeSecretError, a ProxmoxError or a Redis error."""
    node = await _node(user_id, node_id)
    client = await asyncio.to_thread(client_for, user_id, node_id)
    async with client:
        await fill_cache(user_id, cluster_key_of(node), client)


@dataclass(frozen=True)
class CacheLookup:
    """What Redis knows about one VMID of a cluster (as the user's cache has it)."""

    cached: bool  # the cluster's cache exists (else `taken` means nothing)
    taken: bool  # a guest of the cluster has it
    held_by: str | None  # the job holding it, if any
    description: str | None  # "container web-1 on pve2"


# Many checks at once (every keystroke of every wizard) are answered together: the checks
# made in one turn of the event loop share one Redis round trip, a Lua script that answers
# each (user, cluster, vmid) as "<exists><member>\0<hold>\0<description>".
_LOOKUP = """
local answers = {}
local exists = {}
for i = 1, #ARGV do
  local set, hold, names = KEYS[3 * i - 2], KEYS[3 * i - 1], KEYS[3 * i]
  if exists[set] == nil then exists[set] = redis.call('EXISTS', set) end
  local member = redis.call('SISMEMBER', set, ARGV[i])
  local holder = redis.call('GET', hold) or ''
  local name = ''
  if member == 1 then name = redis.call('HGET', names, ARGV[i]) or '' end
  answers[i] = exists[set] .. member .. '\0' .. holder .. '\0' .. name
end
return answers
"""
_LOOKUP_SHA = hashlib.sha1(_LOOKUP.encode()).hexdigest()  # noqa: S324 (Redis names scripts so)
_BATCH_MAX = 500
_Pending = list[tuple[str, str, int, "asyncio.Future[CacheLookup]"]]
_pending: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Pending] = (
    weakref.WeakKeyDictionary()
)
_flushes: set[asyncio.Task[None]] = set()


def _parse(answer: bytes | str) -> CacheLookup:
    text = answer.decode() if isinstance(answer, bytes) else answer
    flags, hold, name = text.split("\0", 2)
    return CacheLookup(flags[0] == "1", flags[1] == "1", hold or None, name or None)


async def _run_lookup(batch: _Pending) -> list[CacheLookup]:
    keys: list[str] = []
    for user_id, cluster_key, vmid, _future in batch:
        keys += [
            cache_key(user_id, cluster_key),
            hold_key(user_id, cluster_key, vmid),
            names_key(user_id, cluster_key),
        ]
    args = [str(vmid) for _user, _key, vmid, _future in batch]
    client = redis_client.async_client()
    try:
        answers = await client.evalsha(_LOOKUP_SHA, len(keys), *keys, *args)  # type: ignore[misc]
    except redis.exceptions.NoScriptError:
        answers = await client.eval(_LOOKUP, len(keys), *keys, *args)  # type: ignore[misc]
    return [_parse(answer) for answer in answers]


async def _flush(batch: _Pending) -> None:
    for start in range(0, len(batch), _BATCH_MAX):
        part = batch[start : start + _BATCH_MAX]
        try:
            results = await _run_lookup(part)
        except Exception as exc:  # every waiting check gets the error
            for _user, _key, _vmid, future in part:
                if not future.done():
                    future.set_exception(exc)
            continue
        for (_user, _key, _vmid, future), result in zip(part, results, strict=True):
            if not future.done():
                future.set_result(result)


def _start_flush(loop: asyncio.AbstractEventLoop) -> None:
    batch = _pending.pop(loop, [])
    if batch:
        task = loop.create_task(_flush(batch))
        _flushes.add(task)
        task.add_done_callback(_flushes.discard)


async def lookup(user_id: str, cluster_key: str, vmid: int) -> CacheLookup:
    """What the user's cache knows about the VMID: one round trip (shared with the other
    lookups of the same event-loop turn)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[CacheLookup] = loop.create_future()
    queue = _pending.get(loop)
    if queue is None:
        queue = _pending[loop] = []
        loop.call_soon(_start_flush, loop)
    queue.append((user_id, cluster_key, vmid, future))
    return await future


async def lookup_or_fill(user_id: str, node_id: int, cluster_key: str, vmid: int) -> CacheLookup:
    """`lookup`, filling the cache once from Proxmox when it is missing (raises what
    `refresh_cache` raises)."""
    found = await lookup(user_id, cluster_key, vmid)
    if not found.cached:
        await _refresh_once(user_id, node_id)
        found = await lookup(user_id, cluster_key, vmid)
    return found


_refreshes: dict[tuple[int, str, int], asyncio.Task[None]] = {}


async def _refresh_once(user_id: str, node_id: int) -> None:
    """`refresh_cache`, shared by the checks that find the cache missing at the same time
    (one request to Proxmox, not one per keystroke)."""
    loop = asyncio.get_running_loop()
    key = (id(loop), user_id, node_id)
    task = _refreshes.get(key)
    if task is None or task.done() or task.get_loop() is not loop:
        task = loop.create_task(refresh_cache(user_id, node_id))
        _refreshes[key] = task

        def forget(done: asyncio.Task[None]) -> None:
            if _refreshes.get(key) is done:
                del _refreshes[key]
            if not done.cancelled():
                done.exception()  # retrieved: the waiting checks got it (or nobody waits)

        task.add_done_callback(forget)
    await asyncio.shield(task)


def taken_message(vmid: int, found: CacheLookup) -> str | None:
    """Why the VMID cannot be used, or None when it is free."""
    if found.taken:
        return (
            f"VMID {vmid} is taken ({found.description})"
            if found.description
            else f"VMID {vmid} is taken"
        )
    if found.held_by is not None:
        return f"VMID {vmid} is taken (a container is being created with it)"
    return None


def _text(value: bytes | str | None) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else value


async def check_vmid(user_id: str, node_id: int, vmid_text: str) -> VmidCheck:
    """Is the VMID free in the node's cluster? Answered from the Redis cache (filled once
    when missing). "unknown" when neither Redis nor Proxmox could say."""
    vmid = parse_vmid(vmid_text)
    if vmid is None:
        return VmidCheck("invalid", MSG_VMID)
    try:
        node = await _node(user_id, node_id)
    except NodeNotFound:
        return VmidCheck("unknown", "Node not found")
    try:
        found = await lookup_or_fill(user_id, node_id, cluster_key_of(node), vmid)
    except ProxmoxError as exc:
        log.info("VMID check on node %s: %r", node_id, exc)
        return VmidCheck("unknown", f"Could not check VMID {vmid} now: {exc.user_message}")
    except NodeSecretError as exc:
        return VmidCheck("unknown", exc.user_message)
    except redis.exceptions.RedisError:
        log.warning("VMID check: Redis failed", exc_info=True)
        return VmidCheck("unknown", f"Could not check VMID {vmid} now; try again")
    message = taken_message(vmid, found)
    if message is not None:
        return VmidCheck("taken", message)
    return VmidCheck("free", f"VMID {vmid} is free")


# -- reservations ---------------------------------------------------------------------------------


async def reserve(user_id: str, cluster_key: str, vmid: int, job_id: str, ttl: int) -> bool:
    """Hold the VMID for the user's `job_id` for `ttl` seconds; False when another job of
    the user holds it."""
    taken = await redis_client.async_client().set(
        hold_key(user_id, cluster_key, vmid), job_id, nx=True, ex=max(1, int(ttl))
    )
    return bool(taken)


async def holder(user_id: str, cluster_key: str, vmid: int) -> str | None:
    """The user's job id holding the VMID, if any."""
    return _text(await redis_client.async_client().get(hold_key(user_id, cluster_key, vmid)))


def release_sync(
    client: redis.Redis, user_id: str, cluster_key: str, vmid: int, job_id: str
) -> bool:
    """`release` for synchronous code, with the caller's client."""
    try:
        return bool(client.eval(_RELEASE, 1, hold_key(user_id, cluster_key, vmid), job_id))
    except redis.exceptions.RedisError:
        log.warning("could not release VMID %s of %s", vmid, cluster_key, exc_info=True)
        return False


async def release(user_id: str, cluster_key: str, vmid: int, job_id: str) -> bool:
    """Drop the hold if `job_id` still owns it (compare-and-delete). Never raises."""
    try:
        result = await redis_client.async_client().eval(  # type: ignore[misc]
            _RELEASE, 1, hold_key(user_id, cluster_key, vmid), job_id
        )
    except redis.exceptions.RedisError:
        log.warning("could not release VMID %s of %s", vmid, cluster_key, exc_info=True)
        return False
    return bool(result)
