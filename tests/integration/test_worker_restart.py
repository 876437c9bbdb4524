"""A worker killed with SIGKILL and started again works within seconds (real redis-server,
real `lxc-manager worker` processes): every start has its own name, and the dead
registration is removed at start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis
from rq import Queue, Worker

from lxc_manager.db.migrate import upgrade_head
from lxc_manager.embedded_redis import EmbeddedRedis
from lxc_manager.redis_client import RedisDb, url_for
from tests.integration.test_migrations import clean_env
from tests.support.app import REPO
from tests.support.procs import wait_until_dead


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "lxc_manager.cli", "worker", "--name-prefix", "lxcm-test"],
            env=env,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def live_workers(rq: redis.Redis) -> dict[str, int]:
    return {w.name: w.pid for w in Worker.all(connection=rq) if w.death_date is None}


def wait_for(check, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what} not within {timeout} s")


def test_a_killed_worker_restarts_and_takes_a_job_within_seconds(
    tmp_path: Path, own_redis: EmbeddedRedis
) -> None:
    data = tmp_path / "data"
    upgrade_head(f"sqlite:///{data / 'lxc-manager.db'}")
    env = clean_env(LXCM_DATA_DIR=str(data), REDIS_URL=own_redis.url)
    log = tmp_path / "worker.log"
    rq = redis.Redis.from_url(url_for(RedisDb.RQ, own_redis.url))
    first = start_worker(env, log)
    second: subprocess.Popen[bytes] | None = None
    try:
        workers = wait_for(lambda: live_workers(rq), 30, "the first worker")
        (old_name,) = workers
        assert old_name.startswith(f"lxcm-test-{first.pid}-"), old_name
        first.send_signal(signal.SIGKILL)
        first.wait()
        assert old_name in live_workers(rq)  # a SIGKILL leaves the registration behind

        restarted = time.monotonic()
        second = start_worker(env, log)
        new = wait_for(
            lambda: {n: p for n, p in live_workers(rq).items() if p == second.pid},
            10,
            "the restarted worker's registration",
        )
        (new_name,) = new
        assert new_name != old_name and new_name.startswith(f"lxcm-test-{second.pid}-")
        assert old_name not in live_workers(rq), "the dead worker was unregistered"
        assert old_name in log.read_text()  # "unregistered dead worker(s): ..."

        job = Queue("default", connection=rq).enqueue("os.getpid")
        wait_for(lambda: job.get_status(refresh=True) == "finished", 10, "the job")
        assert time.monotonic() - restarted < 15
        assert "There exists an active worker" not in log.read_text()
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        assert wait_until_dead({first.pid}, timeout=5) == set()


def test_serve_replaces_a_killed_worker_within_seconds(tmp_path: Path) -> None:
    """Under `serve`, the replacement of a SIGKILLed worker registers and runs a job at once
    (not after the dead worker's registration expires)."""
    from tests.support.app import app_redis, start_app
    from tests.support.procs import cmdline

    serve = start_app(tmp_path / "data", "serve-worker-restart-" + tmp_path.name)
    try:
        rq = app_redis(serve, db=int(RedisDb.RQ))
        before = live_workers(rq)
        assert len(before) == 2
        victim = next(pid for pid in serve.tree() if "lxc_manager.cli worker" in cmdline(pid))
        (victim_name,) = [name for name, pid in before.items() if pid == victim]
        os.kill(victim, signal.SIGKILL)
        killed = time.monotonic()
        wait_for(
            lambda: len(live_workers(rq)) == 2 and victim_name not in live_workers(rq),
            10,
            "the replacement worker",
        )
        job = Queue("default", connection=rq).enqueue("os.getpid")
        wait_for(lambda: job.get_status(refresh=True) == "finished", 10, "the job")
        assert time.monotonic() - killed < 12
        assert "There exists an active worker" not in serve.log()
    finally:
        serve.stop(signal.SIGKILL)
