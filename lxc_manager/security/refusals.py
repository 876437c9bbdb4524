"""Refused attempts are counted in Redis, not written one audit row each.

Anyone can send sign-in attempts, so one row per refusal lets them fill the audit table
(and bury what matters). Refusals are counted per (action, reason, target) in a window
that opens with the first one; a row is written for the 1st, 10th, 100th, ... of a window,
saying how many there have been so far. The exact count stays readable in Redis until
the window closes.
"""

from __future__ import annotations

import asyncio
import hashlib

from redis.asyncio import Redis

from lxc_manager.security import audit

PREFIX = "audit-refusals:"


def _key(action: str, reason: str, target: str) -> str:
    digest = hashlib.sha256(f"{action}\0{reason}\0{target}".encode()).hexdigest()[:32]
    return PREFIX + digest


def _is_power_of_ten(count: int) -> bool:
    while count >= 10 and count % 10 == 0:
        count //= 10
    return count == 1


def _summary(count: int, window: int) -> str:
    if count == 1:
        return f"first refusal of this kind here in a {window} s window"
    return f"{count} refusals of this kind here in this {window} s window"


async def record_refusal(
    redis: Redis,
    action: str,
    *,
    reason: str,
    target: str,
    window: int,
    user_id: str = "",
    detail: str = "",
) -> int:
    """Count one refusal; write an audit row when the count is 1, 10, 100, ...

    `reason` is a short fixed category (it is part of the counter); `detail` says more
    about this attempt and appears only in a row written for it. Returns the count.
    """
    key = _key(action, reason, target)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.set(key, 0, ex=window, nx=True)
        pipe.incr(key)
        _, count = await pipe.execute()
    if _is_power_of_ten(int(count)):
        text = f"{reason}: {detail}" if detail else reason
        await asyncio.to_thread(
            audit.record,
            action,
            user_id=user_id,
            target=target,
            outcome=audit.Outcome.FAILED,
            detail=f"{text} ({_summary(int(count), window)})",
        )
    return int(count)


async def refusal_count(redis: Redis, action: str, *, reason: str, target: str) -> int:
    """Refusals counted in the current window (0 when none or the window has closed)."""
    value = await redis.get(_key(action, reason, target))
    return int(value) if value is not None else 0
