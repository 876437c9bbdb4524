"""`lxc-manager serve --role web|worker|all` and the scheduled-task claim across replicas
(real processes, a real redis-server)."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import redis

from lxc_manager import scheduled
from lxc_manager.db.migrate import upgrade_head
from lxc_manager.embedded_redis import EmbeddedRedis
from lxc_manager.redis_client import RedisDb, url_for
from tests.integration.test_worker_restart import live_workers, wait_for
from tests.support.app import OUTPUT, REPO, ServeProcess, app_env, ensure_frontend_built
from tests.support.procs import cmdline, wait_until_dead


def serve_refusal(env: dict[str, str], role: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lxc_manager.cli", "serve", "--role", role, "--no-build"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


def healthcheck(env: dict[str, str], role: str) -> subprocess.CompletedProcess[str]:
    """What a container's health check runs (deploy/compose.yaml, the Dockerfile)."""
    return subprocess.run(
        [sys.executable, "-m", "lxc_manager.cli", "healthcheck", "--role", role],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_split_roles_refuse_without_a_shared_redis_and_database(tmp_path: Path) -> None:
    sqlite = f"sqlite:///{tmp_path / 'shared.db'}"
    web = serve_refusal(app_env(tmp_path / "data", DATABASE_URL=sqlite), "web")
    assert web.returncode == 2
    assert web.stderr.strip() == (
        "lxc-manager: serve --role web needs REDIS_URL: replicas share one Redis and one "
        "database (use --role all for a single host)"
    )
    worker = serve_refusal(app_env(tmp_path / "data", REDIS_URL="redis://127.0.0.1:1/0"), "worker")
    assert worker.returncode == 2 and "needs DATABASE_URL" in worker.stderr
    both = serve_refusal(app_env(tmp_path / "data"), "web")
    assert both.returncode == 2 and "needs REDIS_URL and DATABASE_URL" in both.stderr
    assert not (tmp_path / "data" / "redis").exists()  # nothing was started


def names_in(serve: ServeProcess) -> str:
    return " ".join(cmdline(pid) for pid in serve.tree())


def test_role_worker_runs_only_rq_workers(tmp_path: Path, own_redis: EmbeddedRedis) -> None:
    data = tmp_path / "data"
    env = app_env(data, REDIS_URL=own_redis.url, DATABASE_URL=f"sqlite:///{tmp_path / 'shared.db'}")
    OUTPUT.mkdir(exist_ok=True)
    serve = ServeProcess(
        data, env, OUTPUT / "serve-role-worker.log", command=("serve", "--role", "worker")
    )
    serve.start()
    try:
        wait_for(lambda: "workers are ready (role worker)" in serve.log(), 60, serve.log())
        names = names_in(serve)
        assert names.count("lxc_manager.cli worker") == 2
        assert "granian" not in names and "redis-server" not in names
        rq = redis.Redis.from_url(url_for(RedisDb.RQ, own_redis.url))
        assert len(live_workers(rq)) == 2
        healthy = healthcheck(env, "worker")
        assert healthy.returncode == 0 and "2 RQ worker(s) running" in healthy.stdout
        web = healthcheck(env, "web")  # no web server on this host
        assert web.returncode == 1 and "does not answer" in web.stderr
        tree = serve.tree()
        assert serve.stop(signal.SIGTERM) == 0
        assert wait_until_dead(tree, timeout=2) == set()
        gone = healthcheck(env, "worker")
        assert gone.returncode == 1, gone
        assert "unhealthy: 0 of 2 RQ worker(s) of this host are running" in gone.stderr
    finally:
        serve.stop(signal.SIGKILL)


def test_role_web_runs_no_workers_and_no_redis(tmp_path: Path, own_redis: EmbeddedRedis) -> None:
    data = tmp_path / "data"
    ensure_frontend_built(str(data))
    database = f"sqlite:///{tmp_path / 'shared.db'}"
    upgrade_head(database)
    env = app_env(data, REDIS_URL=own_redis.url, DATABASE_URL=database)
    serve = ServeProcess(
        data, env, OUTPUT / "serve-role-web.log", command=("serve", "--role", "web")
    )
    serve.start()
    try:
        serve.wait_ready()
        names = names_in(serve)
        assert "granian" in names
        assert "lxc_manager.cli worker" not in names and "redis-server" not in names
        ready = httpx.get(serve.base_url + "/readyz")
        assert ready.status_code == 200, ready.text
        rq = redis.Redis.from_url(url_for(RedisDb.RQ, own_redis.url))
        assert live_workers(rq) == {}
        healthy = healthcheck(env, "web")
        assert healthy.returncode == 0 and "ready on port" in healthy.stdout, healthy
        assert healthcheck(env, "worker").returncode == 1  # a web replica runs no workers
        assert serve.stop(signal.SIGTERM) == 0
    finally:
        serve.stop(signal.SIGKILL)


def test_the_scheduled_claim_lets_one_of_two_callers_run(own_redis: EmbeddedRedis) -> None:
    url = url_for(RedisDb.APP, own_redis.url)
    runs: list[str] = []
    barrier = threading.Barrier(2)

    def replica(name: str) -> None:
        client = redis.Redis.from_url(url)  # each caller its own connection, as replicas
        barrier.wait()
        scheduled.run_once(client, "test-task", 1.0, lambda: runs.append(name))

    threads = [threading.Thread(target=replica, args=(n,)) for n in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(runs) == 1

    client = redis.Redis.from_url(url)
    assert scheduled.run_once(client, "test-task", 1.0, lambda: "again") == (False, None)
    time.sleep(1.1)  # the claim expires with its period: the next round runs once more
    assert scheduled.run_once(client, "test-task", 1.0, lambda: "again") == (True, "again")

    owner = scheduled.owner_id()
    assert scheduled.claim(client, "held", 30, owner=owner)
    assert not scheduled.release(client, "held", "someone-else")
    assert not scheduled.claim(client, "held", 30)
    assert scheduled.release(client, "held", owner)
    assert scheduled.claim(client, "held", 30)
