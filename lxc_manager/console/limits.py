"""At most LXCM_CONSOLE_MAX_PER_USER open consoles per user, across web processes and
replicas: a Redis sorted set per user (`console-open:{user_id}`, DESIGN §3.3: keyed by
the user) of console ids scored by when their lease runs out. A console renews its lease
at every check; one whose process died drops out when its lease expires."""

from __future__ import annotations

import secrets
import time

from redis.asyncio import Redis

__all__ = ["LEASE_SECONDS", "acquire", "key", "release", "renew"]

LEASE_SECONDS = 30
PREFIX = "console-open:"

# Drop expired leases, then add ours if there is room; all in one step.
ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""

# Renew only a lease that is still there (XX): a released console stays released.
RENEW = """
local renewed = redis.call('ZADD', KEYS[1], 'XX', 'CH', ARGV[1], ARGV[2])
if redis.call('ZSCORE', KEYS[1], ARGV[2]) then
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  return 1
end
return 0
"""


def key(user_id: str) -> str:
    return PREFIX + user_id


async def acquire(redis: Redis, user_id: str, limit: int) -> str | None:
    """A new console id holding one of the user's slots, or None when all are taken."""
    console_id = secrets.token_hex(16)
    now = time.time()
    taken = await redis.eval(  # type: ignore[misc]  # redis-py's sync/async union
        ACQUIRE,
        1,
        key(user_id),
        now,
        limit,
        now + LEASE_SECONDS,
        console_id,
        LEASE_SECONDS * 2,
    )
    return console_id if int(taken) == 1 else None


async def renew(redis: Redis, user_id: str, console_id: str) -> bool:
    """Extend the lease; False when it is gone (expired, or released elsewhere)."""
    held = await redis.eval(  # type: ignore[misc]  # redis-py's sync/async union
        RENEW, 1, key(user_id), time.time() + LEASE_SECONDS, console_id, LEASE_SECONDS * 2
    )
    return int(held) == 1


async def release(redis: Redis, user_id: str, console_id: str) -> None:
    await redis.zrem(key(user_id), console_id)
