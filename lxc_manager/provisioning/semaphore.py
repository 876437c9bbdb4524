"""A Redis semaphore shared by every process (DESIGN §4b: RQ jobs are forked processes).

Holders are leases in a sorted set scored by their expiry (Redis server time, ms): a dead
holder stops renewing and its slot frees itself after `lease_seconds`. Waiters queue in
arrival order (a second sorted set scored by a ticket number, plus a liveness set so a
dead waiter leaves the queue), so slots are handed out first come, first served. All of it
runs in Lua scripts, atomically.

`RedisSessionLimiter` is the `SessionLimiter` of `ssh/pool.py` on top of it: the SSH
sessions of provisioning jobs are capped per user and PVE node
(`ssh-slots:{user}:{cluster_key}:{pve_node}`). The user is part of the key because a
cluster key comes from a remote server's answer: a server claiming another user's cluster
and node names must not take (or wait for) that user's slots.

    limiter = node_limiter(user_id, cluster_key, "pve2")
    async with SshPool(limiter=limiter) as pool:
        ...
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import redis.exceptions

from lxc_manager import redis_client
from lxc_manager.settings import get_settings

__all__ = [
    "DEFAULT_LEASE_SECONDS",
    "RedisSemaphore",
    "RedisSessionLimiter",
    "SemaphoreTimeout",
    "node_limiter",
    "slots_key",
]

log = logging.getLogger(__name__)

DEFAULT_LEASE_SECONDS = 30.0
WAITER_TTL_MS = 5000
_POLL_MIN, _POLL_MAX = 0.005, 0.05

# KEYS: holders, queue, alive, sequence. ARGV: limit, lease ms, token, waiter ttl ms.
# 1 = acquired, 0 = waiting (queued).
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local dead = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
for _, member in ipairs(dead) do
  redis.call('ZREM', KEYS[2], member)
  redis.call('ZREM', KEYS[3], member)
end
local lease = tonumber(ARGV[2])
local ttl = tonumber(ARGV[4])
if not redis.call('ZSCORE', KEYS[2], ARGV[3]) then
  redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[4]), ARGV[3])
end
redis.call('ZADD', KEYS[3], now + ttl, ARGV[3])
local free = tonumber(ARGV[1]) - redis.call('ZCARD', KEYS[1])
local acquired = 0
if free > 0 and redis.call('ZRANK', KEYS[2], ARGV[3]) < free then
  redis.call('ZREM', KEYS[2], ARGV[3])
  redis.call('ZREM', KEYS[3], ARGV[3])
  redis.call('ZADD', KEYS[1], now + lease, ARGV[3])
  acquired = 1
end
local keep = math.max(lease, ttl) * 2
for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], keep) end
return acquired
"""

# KEYS: holders. ARGV: token, lease ms. 1 = renewed, 0 = the lease was lost.
_RENEW = """
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
return 1
"""

# KEYS: holders, queue, alive. ARGV: token.
_LEAVE = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return 1
"""

# KEYS: holders. Live holders right now.
_COUNT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')
"""


class SemaphoreTimeout(TimeoutError):
    """No slot became free within the acquire timeout."""


def slots_key(user_id: str, cluster_key: str, pve_node: str) -> str:
    return f"ssh-slots:{user_id}:{cluster_key}:{pve_node}"


class RedisSemaphore:
    """At most `limit` holders of `key` at once, across processes.

    `acquire()` returns a token (the lease); a background task renews it every third of
    `lease_seconds` while held through `hold()`. A process that dies stops renewing and its
    slot frees itself when the lease runs out."""

    def __init__(
        self, key: str, limit: int, *, lease_seconds: float = DEFAULT_LEASE_SECONDS
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        if lease_seconds <= 0:
            raise ValueError("lease_seconds must be positive")
        self.key = key
        self.limit = limit
        self.lease_ms = max(1, int(lease_seconds * 1000))

    @property
    def _keys(self) -> list[str]:
        return [self.key, f"{self.key}:queue", f"{self.key}:alive", f"{self.key}:seq"]

    async def _eval(self, script: str, keys: list[str], *args: str | int) -> int:
        client = redis_client.async_client()
        result = await client.eval(script, len(keys), *keys, *args)  # type: ignore[misc]
        return int(result)

    async def try_acquire(self, token: str) -> bool:
        """One attempt (the token joins the queue when no slot is free for it)."""
        keys = self._keys
        return bool(
            await self._eval(_ACQUIRE, keys, self.limit, self.lease_ms, token, WAITER_TTL_MS)
        )

    async def acquire(self, timeout: float | None = None) -> str:  # noqa: ASYNC109
        """Wait for a slot (first come, first served); returns the lease token. Raises
        SemaphoreTimeout after `timeout` seconds (None: wait as long as it takes)."""
        token = secrets.token_hex(12)
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        delay = _POLL_MIN
        try:
            while not await self.try_acquire(token):
                if deadline is not None and loop.time() >= deadline:
                    raise SemaphoreTimeout(f"no free slot of {self.key} within {timeout} s")
                await asyncio.sleep(delay * random.uniform(0.8, 1.2))
                delay = min(delay * 1.5, _POLL_MAX)
        except BaseException:
            await self._leave_quietly(token)
            raise
        return token

    async def renew(self, token: str) -> bool:
        """Extend the lease; False when it was lost (it expired and was taken away)."""
        return bool(await self._eval(_RENEW, [self.key], token, self.lease_ms))

    async def release(self, token: str) -> None:
        await self._eval(_LEAVE, self._keys[:3], token)

    async def _leave_quietly(self, token: str) -> None:
        try:
            await asyncio.shield(self.release(token))
        except (redis.exceptions.RedisError, asyncio.CancelledError):
            log.warning("could not leave %s (the entry expires by itself)", self.key)

    async def holders(self) -> int:
        """How many live leases there are now."""
        return await self._eval(_COUNT, [self.key])

    async def _keep_renewed(self, token: str) -> None:
        interval = self.lease_ms / 3000
        while True:
            await asyncio.sleep(interval)
            try:
                if not await self.renew(token):
                    log.warning("lease on %s lost (it expired before renewal)", self.key)
                    return
            except redis.exceptions.RedisError:
                log.warning("could not renew the lease on %s", self.key, exc_info=True)

    @asynccontextmanager
    async def hold(self, timeout: float | None = None) -> AsyncIterator[str]:  # noqa: ASYNC109
        """Hold a slot for the block, renewing the lease meanwhile."""
        token = await self.acquire(timeout)
        renewer = asyncio.create_task(self._keep_renewed(token))
        try:
            yield token
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
            await self._leave_quietly(token)


class RedisSessionLimiter:
    """`ssh.pool.SessionLimiter` across processes: one `RedisSemaphore` per key, the key
    chosen by `key_for(host, port)` (default `ssh-slots:HOST:PORT`)."""

    def __init__(
        self,
        limit: int,
        *,
        key_for: Callable[[str, int], str] | None = None,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        acquire_timeout: float | None = None,
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self.key_for = key_for or (lambda host, port: f"ssh-slots:{host.lower()}:{port}")
        self.lease_seconds = lease_seconds
        self.acquire_timeout = acquire_timeout

    def semaphore(self, host: str, port: int) -> RedisSemaphore:
        return RedisSemaphore(
            self.key_for(host, port), self.limit, lease_seconds=self.lease_seconds
        )

    @asynccontextmanager
    async def slot(self, host: str, port: int) -> AsyncIterator[None]:
        async with self.semaphore(host, port).hold(self.acquire_timeout):
            yield


def node_limiter(
    user_id: str, cluster_key: str, pve_node: str, limit: int | None = None
) -> RedisSessionLimiter:
    """The limiter of a provisioning job: every SSH session of the job counts against the
    PVE node it works on, among the jobs of the same user (`LXCM_SSH_SESSIONS_PER_NODE`
    sessions at once by default)."""
    key = slots_key(user_id, cluster_key, pve_node)
    return RedisSessionLimiter(
        limit if limit is not None else get_settings().ssh_sessions_per_node,
        key_for=lambda _host, _port: key,
    )
