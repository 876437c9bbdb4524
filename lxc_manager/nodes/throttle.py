"""At most `LXCM_NODE_CHECKS_PER_MINUTE` node connection tests per user (issue 12, path 9).

A connection test sends whatever the form holds (an address, a token, an SSH password) to
whatever host the form names: unbounded, it is a password prober and a port scanner run
from the app's network. Each test is counted in Redis before anything is contacted, in
one atomic step (`node-checks:{user}`, a fixed one-minute window), so parallel tests
cannot all slip through a check-then-count gap. Refused tests count too: they do not
extend the window.

    wait = await take(user_id)
    if wait is not None:
        refuse(wait_message(wait))
"""

from __future__ import annotations

import logging

import redis.exceptions

from lxc_manager import redis_client
from lxc_manager.settings import get_settings

__all__ = [
    "MSG_UNAVAILABLE",
    "WINDOW_SECONDS",
    "ThrottleUnavailable",
    "key",
    "take",
    "wait_message",
]

log = logging.getLogger(__name__)

WINDOW_SECONDS = 60
MSG_UNAVAILABLE = "Connection tests are unavailable right now; try again in a moment"

# KEYS: the counter. ARGV: window seconds. Returns {count, seconds left in the window}.
_TAKE = """
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""


class ThrottleUnavailable(Exception):
    """Redis could not count the test: refuse it (never test uncounted)."""


def key(user_id: str) -> str:
    return f"node-checks:{user_id}"


async def take(user_id: str, limit: int | None = None) -> int | None:
    """Count one connection test of the user. None: go ahead; else the seconds to wait.
    Raises ThrottleUnavailable when Redis fails."""
    allowed = limit if limit is not None else get_settings().node_checks_per_minute
    try:
        answer = await redis_client.async_client().eval(  # type: ignore[misc]
            _TAKE, 1, key(user_id), WINDOW_SECONDS
        )
    except redis.exceptions.RedisError as exc:
        log.warning("node check counter of %s: Redis failed", user_id, exc_info=True)
        raise ThrottleUnavailable() from exc
    count, ttl = int(answer[0]), int(answer[1])
    if count <= allowed:
        return None
    log.info("node checks of %s: %s this minute (limit %s)", user_id, count, allowed)
    return max(1, ttl)


def wait_message(seconds: int) -> str:
    limit = get_settings().node_checks_per_minute
    unit = "second" if seconds == 1 else "seconds"
    return (
        f"Too many connection tests (at most {limit} a minute): wait {seconds} {unit} and try again"
    )
