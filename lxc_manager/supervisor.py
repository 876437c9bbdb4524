"""`lxc-manager serve`: start the children in order, watch them, stop them cleanly.

Order: migrate → frontend build (only when its key changed) → Redis (embedded, unless
REDIS_URL) → RQ workers → web server. Each is waited for before the next. A crashed
worker or web server is restarted with backoff; a dead embedded Redis stops everything.
SIGINT/SIGTERM stop all children within the shutdown timeout (default 8 s).
"""

from __future__ import annotations

import logging
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import httpx
import redis

from lxc_manager import frontend
from lxc_manager.db.migrate import upgrade_head
from lxc_manager.embedded_redis import EmbeddedRedis
from lxc_manager.process import Child, stop_children
from lxc_manager.redis_client import RedisDb, url_for
from lxc_manager.security.crypto import load_keyring
from lxc_manager.settings import Settings

log = logging.getLogger("lxc_manager.serve")

READY_TIMEOUT = 90.0
MAX_BACKOFF = 30.0


class StartupError(RuntimeError):
    """A child did not come up; the message is for the operator."""


@dataclass
class Supervised:
    child: Child
    restartable: bool
    next_restart: float = 0.0
    backoff: float = 1.0
    started_at: float = field(default_factory=time.monotonic)


ROLES = ("all", "web", "worker")


class Supervisor:
    """`role`: `all` (Redis unless REDIS_URL, workers, web), `web` (web server only) or
    `worker` (RQ workers only); the split roles need a shared REDIS_URL and DATABASE_URL."""

    def __init__(self, settings: Settings, role: str = "all") -> None:
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        self.settings = settings
        self.role = role
        self.stop_requested = threading.Event()
        self.redis: EmbeddedRedis | None = None
        self.supervised: list[Supervised] = []
        self.child_env: dict[str, str] = dict(os.environ)

    # ---- start-up -----------------------------------------------------------------
    def prepare(self, build: bool = True) -> Path:
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        load_keyring(
            self.settings
        )  # creates the key file on first start; fails early if unreadable
        log.info("migrating the database")
        upgrade_head()
        if build:
            return frontend.ensure_built(self.settings)
        return frontend.build_dir(frontend.build_key(self.settings))

    def start_redis(self) -> str:
        if self.role != "all" and self.settings.redis_url is None:
            raise StartupError(f"--role {self.role} needs REDIS_URL (a shared Redis)")
        if self.settings.redis_url is not None:
            url = self.settings.redis_url
            try:
                redis.Redis.from_url(url_for(RedisDb.APP, url), socket_connect_timeout=3).ping()
            except redis.RedisError as exc:
                raise StartupError(f"cannot reach REDIS_URL: {type(exc).__name__}") from None
            return url
        self.redis = EmbeddedRedis(self.settings.data_dir)
        log.info("starting embedded redis on 127.0.0.1:%s", self.redis.port)
        self.redis.start()
        return self.redis.url

    def publish_disabled_endpoints(self) -> None:
        """Sessions of disabled sign-in endpoints end even if Redis was restored from an
        older copy: the database says which endpoints are disabled."""
        from lxc_manager.signin.endpoints import publish_disabled_sync

        client = redis.Redis.from_url(url_for(RedisDb.APP, self.child_env["REDIS_URL"]))
        try:
            publish_disabled_sync(client)
        finally:
            client.close()

    def _python_child(
        self, name: str, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
    ) -> Child:
        return Child(name, [sys.executable, "-m", *args], env=env or self.child_env, cwd=cwd)

    def start_workers(self) -> None:
        for index in range(1, self.settings.workers + 1):
            name = f"worker-{index}"
            child = self._python_child(
                name,
                "lxc_manager.cli",
                "worker",
                "--name-prefix",
                f"{self._worker_prefix()}{index}",
            )
            child.start()
            self.supervised.append(Supervised(child, restartable=True))
        if self.settings.workers:
            self._wait_for(
                lambda: self._registered_workers() >= self.settings.workers, "RQ workers"
            )
            log.info("%d RQ worker(s) ready", self.settings.workers)

    def _registered_workers(self) -> int:
        from rq import Worker

        connection = redis.Redis.from_url(url_for(RedisDb.RQ, self.child_env["REDIS_URL"]))
        prefix = self._worker_prefix()
        return sum(
            1
            for worker in Worker.all(connection=connection)
            if worker.name.startswith(prefix) and worker.death_date is None
        )

    @staticmethod
    def _worker_prefix() -> str:
        """Names of this `serve`'s workers start with it: `lxcm-<host>-<serve pid>-w`; each
        start appends its own pid and a random part (worker.unique_worker_name)."""
        host = re.sub(r"[^A-Za-z0-9_.-]+", "-", os.uname().nodename)
        return f"lxcm-{host}-{os.getpid()}-w"

    def web_child(self, web_dir: Path) -> Child:
        env = dict(self.child_env)
        env.update(
            __REFLEX_SKIP_COMPILE="true",
            __REFLEX_MOUNT_FRONTEND_COMPILED_APP="true",
            REFLEX_ENV_MODE="prod",
            REFLEX_WEB_WORKDIR=str(web_dir),
            REFLEX_TELEMETRY_ENABLED="false",
            REFLEX_CHECK_LATEST_VERSION="false",
        )
        argv = [
            "granian",
            "--interface", "asgi",
            "--factory",
            "--host", self.settings.host,
            "--port", str(self.settings.port),
            "--workers", str(self.settings.web_workers),
            "--log-level", "warning",
        ]  # fmt: skip
        return self._python_child(
            "web", *argv, "lxc_manager.web:create_app", cwd=frontend.project_dir(), env=env
        )

    def start_web(self, web_dir: Path) -> None:
        child = self.web_child(web_dir)
        child.start()
        self.supervised.append(Supervised(child, restartable=True))
        self._wait_for(self._web_ready, "web server", child=child)

    def _web_ready(self) -> bool:
        host = "127.0.0.1" if self.settings.host in ("0.0.0.0", "::") else self.settings.host
        try:
            return (
                httpx.get(f"http://{host}:{self.settings.port}/healthz", timeout=1).status_code
                == 200
            )
        except httpx.HTTPError:
            return False

    def _wait_for(self, check: Callable[[], bool], what: str, child: Child | None = None) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.stop_requested.is_set():
                raise StartupError("interrupted during start-up")
            if child is not None and not child.alive():
                raise StartupError(f"{what} exited during start-up (see the lines above)")
            try:
                if check():
                    return
            except (redis.RedisError, OSError):
                pass
            time.sleep(0.2)
        raise StartupError(f"{what} not ready after {READY_TIMEOUT:.0f} s")

    # ---- running ------------------------------------------------------------------
    def install_signal_handlers(self) -> None:
        def request_stop(signum: int, _frame: FrameType | None) -> None:
            if not self.stop_requested.is_set():
                log.info("received %s: stopping", signal.Signals(signum).name)
            self.stop_requested.set()

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)

    def start_stale_job_watch(self) -> threading.Thread:
        """Mark provisioning jobs and operations whose worker died as failed (DESIGN §4b), every
        STALE_CHECK_INTERVAL seconds, in a thread so a slow database never delays the
        restart of a crashed child. Every replica ticks; one per round runs the sweep
        (`scheduled.claim` in Redis)."""
        from lxc_manager import scheduled
        from lxc_manager.operations.stale import mark_stale_operations
        from lxc_manager.provisioning.jobs import STALE_CHECK_INTERVAL, mark_stale_jobs

        client = redis.Redis.from_url(
            url_for(RedisDb.APP, self.child_env["REDIS_URL"]), socket_connect_timeout=3
        )
        owner = scheduled.owner_id()

        def loop() -> None:
            while not self.stop_requested.wait(STALE_CHECK_INTERVAL):
                try:
                    # A little shorter than the tick, so the holder's next round can claim it.
                    if not scheduled.claim(
                        client, "stale-jobs", STALE_CHECK_INTERVAL * 0.9, owner=owner
                    ):
                        continue
                    marked = mark_stale_jobs(redis_app=client)
                    marked += mark_stale_operations(redis_app=client)
                except Exception:  # logged; the next round tries again
                    log.warning("stale job check failed", exc_info=True)
                    continue
                if marked:
                    log.warning("marked %d stale job(s) failed", len(marked))

        thread = threading.Thread(target=loop, name="stale-jobs", daemon=True)
        thread.start()
        return thread

    def watch(self) -> int:
        while not self.stop_requested.wait(0.5):
            if self.redis is not None and not self.redis.child.alive():
                log.error("embedded redis exited unexpectedly: stopping")
                return 1
            for entry in self.supervised:
                if not entry.child.alive():
                    if not entry.restartable:
                        log.error("%s exited unexpectedly: stopping", entry.child.name)
                        return 1
                    self._handle_exit(entry)
        return 0

    def _handle_exit(self, entry: Supervised) -> None:
        now = time.monotonic()
        if entry.next_restart == 0.0:
            code = entry.child.popen.returncode if entry.child.popen else None
            if now - entry.started_at > 60:
                entry.backoff = 1.0
            entry.next_restart = now + entry.backoff
            log.warning(
                "%s exited (code %s): restarting in %.0f s", entry.child.name, code, entry.backoff
            )
            entry.backoff = min(entry.backoff * 2, MAX_BACKOFF)
            return
        if now >= entry.next_restart:
            entry.child.kill_group()  # reap leftovers of the old process group
            entry.child.start()
            entry.started_at = now
            entry.next_restart = 0.0

    def before_start(self) -> None:
        """Hook for subclasses: runs after migrations and the build, before Redis starts."""

    def after_ready(self) -> None:
        """Hook for subclasses: runs once every child is ready."""

    def shutdown(self) -> None:
        timeout = self.settings.shutdown_timeout
        started = time.monotonic()
        stop_children([e.child for e in self.supervised], timeout=timeout * 0.7)
        if self.redis is not None:
            stop_children(
                [self.redis.child], timeout=max(1.0, timeout - (time.monotonic() - started))
            )
        log.info("stopped in %.1f s", time.monotonic() - started)

    def run(self, build: bool = True) -> int:
        self.install_signal_handlers()
        web = self.role in ("all", "web")
        try:
            web_dir = self.prepare(build=build and web)
            if web and not frontend.is_built(web_dir.name):
                raise StartupError(
                    "the frontend is not built: run `lxc-manager build` (make run does)"
                )
            self.before_start()
            self.child_env["REDIS_URL"] = self.start_redis()
            self.publish_disabled_endpoints()
            if self.role in ("all", "worker"):
                self.start_workers()
            if web:
                self.start_web(web_dir)
            self.start_stale_job_watch()
            if web:
                log.info("LXC Manager is ready at %s", self.settings.public_url)
            else:
                log.info("LXC Manager workers are ready (role worker)")
            self.after_ready()
            return self.watch()
        except StartupError as exc:
            log.error("start-up failed: %s", exc)
            return 1
        finally:
            self.shutdown()
