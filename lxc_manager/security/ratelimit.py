"""Fixed-window counters in Redis for sign-in abuse (DESIGN §3.6, §3.7)."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

from redis.asyncio import Redis

PREFIX = "login-fail:"


@dataclass(frozen=True)
class Limit:
    scope: str  # "user" or "client"
    subject: str  # e.g. "1:root@pam" or "127.0.0.1"
    max_attempts: int
    window: int

    @property
    def key(self) -> str:
        digest = hashlib.sha256(self.subject.encode()).hexdigest()[:32]
        return f"{PREFIX}{self.scope}:{digest}"


class RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"rate limited for {retry_after} s")
        self.retry_after = retry_after

    @property
    def minutes(self) -> int:
        return max(1, math.ceil(self.retry_after / 60))


async def check(redis: Redis, *limits: Limit) -> None:
    """Raise RateLimited when any limit is used up."""
    for limit in limits:
        count = await redis.get(limit.key)
        if count is not None and int(count) >= limit.max_attempts:
            ttl = await redis.ttl(limit.key)
            raise RateLimited(ttl if ttl and ttl > 0 else limit.window)


async def hit(redis: Redis, *limits: Limit) -> None:
    """Count one attempt against every limit (the window starts at the first one).

    SET NX EX opens the window with its TTL; INCR keeps the TTL (works on Redis 6.2 too).
    """
    async with redis.pipeline(transaction=True) as pipe:
        for limit in limits:
            pipe.set(limit.key, 0, ex=limit.window, nx=True)
            pipe.incr(limit.key)
        await pipe.execute()


async def reset(redis: Redis, limit: Limit) -> None:
    await redis.delete(limit.key)
