"""Scheduled work that runs once across replicas, not once per replica.

Every `serve` (whatever its role) ticks its scheduled tasks (`Supervisor.scheduled_tasks`:
the stale-job sweep and the console-recording purge) in a thread per task (`start`).
Before a round it claims the task in Redis with `SET key owner NX PX` (a little shorter
than the period, `CLAIM_SHARE`): the one replica whose claim succeeds runs the round, the
others skip it. The claim is not released after the round, so it covers the period; if its
holder dies (even `kill -9`), the claim expires and another replica takes a later round.
Work started elsewhere (a console opening purges recordings) takes the same claim.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable
from typing import TypeVar

import redis

log = logging.getLogger(__name__)

KEY_PREFIX = "lxcm:scheduled:"
# A round's claim lasts this share of the period, so the holder's next tick can claim again.
CLAIM_SHARE = 0.9
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


def tick(
    client: redis.Redis, task: str, period: float, work: Callable[[], object], owner: str
) -> bool:
    """One round of a scheduled task: claim it for `CLAIM_SHARE` of `period` and run `work`
    when the claim is ours; True when this caller ran it."""
    if not claim(client, task, period * CLAIM_SHARE, owner=owner):
        return False
    work()
    return True


def start(
    client: redis.Redis,
    task: str,
    period: float,
    work: Callable[[], object],
    stop: threading.Event,
    owner: str | None = None,
) -> threading.Thread:
    """Tick `task` every `period` seconds in a daemon thread until `stop` is set; one
    caller across all replicas runs each round. A failing round is logged, the next one
    tries again (a slow database never delays the caller)."""
    holder = owner or owner_id()

    def loop() -> None:
        while not stop.wait(period):
            try:
                tick(client, task, period, work, holder)
            except Exception:  # logged; the next round tries again
                log.warning("scheduled task %s failed", task, exc_info=True)

    thread = threading.Thread(target=loop, name=f"scheduled-{task}", daemon=True)
    thread.start()
    return thread
