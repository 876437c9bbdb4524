"""The Redis semaphore on a real Redis: the limit holds under contention, slots go first
come first served, a dead holder's lease expires, leases are renewed while held, and the
SSH session limiter shares one limit between pools."""

from __future__ import annotations

import asyncio
import random
import uuid
from pathlib import Path

import pytest

from lxc_manager import redis_client
from lxc_manager.provisioning.semaphore import (
    RedisSemaphore,
    RedisSessionLimiter,
    SemaphoreTimeout,
    node_limiter,
    slots_key,
)


def _key() -> str:
    return f"test-slots:{uuid.uuid4().hex}"


async def test_concurrency_never_exceeds_the_limit(app_settings: Path) -> None:
    semaphores = [RedisSemaphore(key := _key(), 3)] + [RedisSemaphore(key, 3) for _ in range(3)]
    inside = peak = 0
    done = 0

    async def worker(index: int) -> None:
        nonlocal inside, peak, done
        async with semaphores[index % 4].hold(timeout=20):
            inside += 1
            peak = max(peak, inside)
            assert await semaphores[0].holders() <= 3
            await asyncio.sleep(random.uniform(0.005, 0.02))
            inside -= 1
        done += 1

    await asyncio.gather(*(worker(i) for i in range(40)))
    assert (peak, done, inside) == (3, 40, 0)
    assert await semaphores[0].holders() == 0


async def test_first_come_first_served(app_settings: Path) -> None:
    semaphore = RedisSemaphore(_key(), 1)
    order: list[int] = []
    queue = redis_client.async_client()
    async with semaphore.hold():
        tasks = []
        for index in range(5):
            tasks.append(asyncio.create_task(_take(semaphore, index, order)))
            # each waiter is queued before the next one comes (waited for, not slept on:
            # a loaded machine must not reorder them)
            while await queue.zcard(f"{semaphore.key}:queue") < index + 1:
                await asyncio.sleep(0.005)
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2, 3, 4]


async def _take(semaphore: RedisSemaphore, index: int, order: list[int]) -> None:
    async with semaphore.hold(timeout=10):
        order.append(index)
        await asyncio.sleep(0.01)


async def test_a_dead_holders_lease_expires(app_settings: Path) -> None:
    key = _key()
    dead = RedisSemaphore(key, 1, lease_seconds=0.4)
    assert await dead.try_acquire("dead-process")  # acquired and never renewed or released
    alive = RedisSemaphore(key, 1, lease_seconds=5)
    with pytest.raises(SemaphoreTimeout):
        await alive.acquire(timeout=0.1)
    loop = asyncio.get_running_loop()
    started = loop.time()
    token = await alive.acquire(timeout=3)
    assert 0.15 <= loop.time() - started < 1.5
    assert not await dead.renew("dead-process")
    await alive.release(token)


async def test_a_held_lease_is_renewed(app_settings: Path) -> None:
    key = _key()
    holder = RedisSemaphore(key, 1, lease_seconds=0.3)
    other = RedisSemaphore(key, 1, lease_seconds=0.3)
    async with holder.hold():
        with pytest.raises(SemaphoreTimeout):
            await other.acquire(timeout=0.8)  # well past the lease: renewed meanwhile
    token = await other.acquire(timeout=1)
    await other.release(token)


async def test_a_cancelled_waiter_leaves_the_queue(app_settings: Path) -> None:
    key = _key()
    semaphore = RedisSemaphore(key, 1)
    async with semaphore.hold():
        waiter = asyncio.create_task(semaphore.acquire())
        await asyncio.sleep(0.05)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
    token = await semaphore.acquire(timeout=0.5)  # not stuck behind the cancelled waiter
    await semaphore.release(token)


async def test_session_limiter_keys_and_limit(
    app_settings: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    limiter = node_limiter("root@pam@1", "cluster:lab:pve1,pve2", "pve2", limit=2)
    semaphore = limiter.semaphore("10.0.0.1", 22)
    assert semaphore.key == slots_key("root@pam@1", "cluster:lab:pve1,pve2", "pve2")
    assert semaphore.key == "ssh-slots:root@pam@1:cluster:lab:pve1,pve2:pve2"
    assert limiter.semaphore("another-host", 2222).key == semaphore.key
    other_user = node_limiter("alice@pve@1", "cluster:lab:pve1,pve2", "pve2", limit=2)
    assert other_user.semaphore("10.0.0.1", 22).key != semaphore.key
    assert node_limiter("u", "c", "pve1").limit == 4  # LXCM_SSH_SESSIONS_PER_NODE's default
    inside = peak = 0

    async def session() -> None:
        nonlocal inside, peak
        async with limiter.slot("10.0.0.1", 22):
            inside += 1
            peak = max(peak, inside)
            await asyncio.sleep(0.02)
            inside -= 1

    await asyncio.gather(*(session() for _ in range(8)))
    assert peak == 2
    default = RedisSessionLimiter(1)
    assert default.semaphore("PVE1.lan", 22).key == "ssh-slots:pve1.lan:22"
    with pytest.raises(ValueError):
        RedisSessionLimiter(0)
