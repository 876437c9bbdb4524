"""Scheduled tasks run once per round across replicas, and another replica takes over
when the one holding the claim dies (the claim expires): two "replicas" are two real
processes ticking `scheduled.start` against one real redis-server; one is killed with -9."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis

from lxc_manager import scheduled
from lxc_manager.embedded_redis import EmbeddedRedis
from lxc_manager.settings import load_settings
from lxc_manager.supervisor import Supervisor
from tests.support.app import REPO

PERIOD = 0.6
TASK = "test-tick"

# One replica's scheduler: the same `scheduled.start` serve uses; each round it runs
# appends "<replica> <time>" to a Redis list.
REPLICA = """
import sys, threading, time
import redis
from lxc_manager import scheduled
client = redis.Redis.from_url(sys.argv[1])
name, period = sys.argv[2], float(sys.argv[3])
work = lambda: client.rpush("runs", f"{name} {time.time()}")
scheduled.start(client, sys.argv[4], period, work, threading.Event())
client.rpush("started", name)
threading.Event().wait()
"""


def runs(client: redis.Redis) -> list[tuple[str, float]]:
    rows = [row.decode().split() for row in client.lrange("runs", 0, -1)]
    return [(name, float(moment)) for name, moment in rows]


def assert_one_run_per_round(rows: list[tuple[str, float]]) -> None:
    moments = sorted(moment for _, moment in rows)
    gaps = [b - a for a, b in itertools.pairwise(moments)]
    # two replicas running the same round would be ~0 s apart; a claim lasts 0.9 period
    # (half a period of slack: a loaded machine may delay the write after a claim)
    assert all(gap >= PERIOD / 2 for gap in gaps), (rows, gaps)


def test_two_replicas_run_each_round_once_and_a_survivor_takes_over(
    own_redis: EmbeddedRedis,
) -> None:
    client = redis.Redis.from_url(own_redis.url)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    replicas = {
        name: subprocess.Popen(
            [sys.executable, "-c", REPLICA, own_redis.url, name, str(PERIOD), TASK],
            env=env,
            cwd=REPO,
        )
        for name in ("a", "b")
    }
    try:
        deadline = time.monotonic() + 30
        while client.llen("started") < 2:
            assert time.monotonic() < deadline, "the replicas did not start"
            time.sleep(0.05)
        time.sleep(PERIOD * 8)
        before = runs(client)
        # each round ran, but by one replica only
        assert 4 <= len(before) <= 9, before  # 8 periods: about 8 rounds
        assert_one_run_per_round(before)

        holder = before[-1][0]
        survivor = "b" if holder == "a" else "a"
        replicas[holder].send_signal(signal.SIGKILL)  # no release: its claim must expire
        replicas[holder].wait(timeout=5)
        killed_at = time.time()
        time.sleep(PERIOD * 4)
        after = [row for row in runs(client) if row[1] > killed_at]
        assert after and {name for name, _ in after} == {survivor}, after
        # the survivor's first round comes once the dead holder's claim has expired
        assert after[0][1] - killed_at <= PERIOD * (1 + scheduled.CLAIM_SHARE) + 0.6, after
        assert len(after) >= 2
        assert_one_run_per_round(runs(client))
    finally:
        for process in replicas.values():
            if process.poll() is None:
                process.kill()
                process.wait(timeout=5)


def test_serve_schedules_every_periodic_task(tmp_path: Path) -> None:
    """Every periodic task of a `serve` (any role) goes through the claim: the stale-job
    sweep and the console-recording purge; the purge shares its claim with the purge a
    console opening triggers."""
    from lxc_manager.console import recording
    from lxc_manager.provisioning.jobs import STALE_CHECK_INTERVAL

    supervisor = Supervisor(load_settings({}, cwd=tmp_path), role="web")
    tasks = {name: period for name, period, _work in supervisor.scheduled_tasks()}
    assert tasks == {
        "stale-jobs": STALE_CHECK_INTERVAL,
        recording.PURGE_TASK: recording.PURGE_EVERY,
    }
    assert recording.PURGE_KEY == scheduled.KEY_PREFIX + recording.PURGE_TASK
