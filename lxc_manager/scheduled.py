"""Scheduled work that runs once across replicas, not once per replica.

Every `serve` (whatever its role) ticks its scheduled tasks (today: the stale-job sweep);
before a round it claims the task in Redis with `SET key owner NX PX period`: the one
replica whose claim succeeds runs the round, the others skip it. The claim is not released
after the round, so it covers the whole period; if its holder dies, the claim expires with
the period and another replica takes the next round.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Callable
from typing import TypeVar

import redis

KEY_PREFIX = "lxcm:scheduled:"
T = TypeVar("T")

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


def owner_id() -> str:
    """Who holds a claim: host, pid and a random part (read by operators in Redis)."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


def claim(client: redis.Redis, task: str, period: float, owner: str | None = None) -> bool:
    """True when this caller may run `task` for the next `period` seconds (and the claim
    is now held by `owner`); False when another caller holds it."""
    milliseconds = max(1, int(period * 1000))
    return bool(client.set(KEY_PREFIX + task, owner or owner_id(), nx=True, px=milliseconds))


def release(client: redis.Redis, task: str, owner: str) -> bool:
    """Give up `owner`'s claim early (a no-op when someone else holds it now)."""
    return bool(client.eval(_RELEASE, 1, KEY_PREFIX + task, owner))


def run_once(
    client: redis.Redis, task: str, period: float, work: Callable[[], T]
) -> tuple[bool, T | None]:
    """Run `work` when this caller wins the claim on `task` for `period` seconds:
    (True, its result), else (False, None)."""
    if not claim(client, task, period):
        return False, None
    return True, work()
