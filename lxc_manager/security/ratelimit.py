"""Fixed-window counters in Redis for sign-in abuse (DESIGN §3.6, §3.7).

An attempt is counted BEFORE anything is sent to Proxmox, and the check and the count are
one atomic step over every limit that applies (a Lua script), so any number of concurrent
attempts gets at most `max_attempts` of them through per window: a check followed by a
separate count would let them all pass the check before the first one counts.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

from redis.asyncio import Redis

PREFIX = "login-fail:"

# KEYS: one counter per limit; ARGV: max_1, window_1, max_2, window_2, ...
# Returns 0 when every counter had room (all are then counted), else the seconds left on
# the first full one (nothing is counted then: a refused attempt costs no further room).
CONSUME_SCRIPT = """
for i, key in ipairs(KEYS) do
  local used = tonumber(redis.call('GET', key) or '0')
  if used >= tonumber(ARGV[2 * i - 1]) then
    local ttl = redis.call('TTL', key)
    if ttl <= 0 then ttl = tonumber(ARGV[2 * i]) end
    return ttl
  end
end
for i, key in ipairs(KEYS) do
  if redis.call('INCR', key) == 1 then
    redis.call('EXPIRE', key, tonumber(ARGV[2 * i]))
  end
end
return 0
"""


@dataclass(frozen=True)
class Limit:
    scope: str  # "user" or "client"
    subject: str  # e.g. "pve1:8006:root@pam" or "127.0.0.1"
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


async def consume(redis: Redis, *limits: Limit) -> None:
    """Count one attempt against every limit at once, or raise RateLimited and count none."""
    if not limits:
        return
    args: list[int] = []
    for limit in limits:
        args += [limit.max_attempts, limit.window]
    retry_after = int(
        await redis.eval(CONSUME_SCRIPT, len(limits), *[limit.key for limit in limits], *args)  # type: ignore[misc]  # redis-py's sync/async union
    )
    if retry_after:
        raise RateLimited(retry_after)


async def reset(redis: Redis, limit: Limit) -> None:
    await redis.delete(limit.key)
