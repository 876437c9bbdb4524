"""`lxc-manager healthcheck`: is this host's `serve` healthy? For container health checks
(the Dockerfile, deploy/compose.yaml). Exit 0 and one line when healthy, else 1 and why.

- web (and all): the web server answers `/readyz` (the database and Redis answer too).
- worker: LXCM_WORKERS RQ workers of this host are registered in the shared Redis and
  their processes are alive.
"""

from __future__ import annotations

import httpx
import redis

from lxc_manager.redis_client import RedisDb, url_for
from lxc_manager.settings import Settings

TIMEOUT = 3.0


def check_web(settings: Settings) -> str:
    """'' when the web server is ready, else why not."""
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "[::]") else settings.host
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    try:
        response = httpx.get(f"http://{host}:{settings.port}/readyz", timeout=TIMEOUT)
    except httpx.HTTPError as exc:
        return f"the web server does not answer on port {settings.port} ({type(exc).__name__})"
    if response.status_code != 200:
        try:
            failed = ", ".join(str(name) for name in response.json().get("failed", []))
        except (ValueError, AttributeError):  # not the app's JSON answer
            failed = ""
        return f"the web server is not ready ({failed or response.status_code})"
    return ""


def check_worker(settings: Settings) -> str:
    """'' when this host's RQ workers are registered and alive, else why not."""
    from lxc_manager.worker import live_local_workers

    if settings.redis_url is None:
        return "REDIS_URL is not set (a worker host uses a shared Redis)"
    client = redis.Redis.from_url(
        url_for(RedisDb.RQ, settings.redis_url), socket_connect_timeout=TIMEOUT
    )
    try:
        live = live_local_workers(client)
    except redis.RedisError as exc:
        return f"cannot reach REDIS_URL ({type(exc).__name__})"
    finally:
        client.close()
    if len(live) < settings.workers:
        return f"{len(live)} of {settings.workers} RQ worker(s) of this host are running"
    return ""


def healthcheck(settings: Settings, role: str) -> tuple[bool, str]:
    """(healthy, one line for the operator)."""
    if role == "worker":
        problem = check_worker(settings)
        return (not problem, problem or f"ok: {settings.workers} RQ worker(s) running")
    problem = check_web(settings)
    return (not problem, problem or f"ok: ready on port {settings.port}")
