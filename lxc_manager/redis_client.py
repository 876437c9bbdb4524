"""The one place that hands out Redis clients.

Logical databases are split so one concern cannot flush another: the URL's database N is
app data (sessions, caches, streams), N+1 is RQ, N+2 is Reflex's state manager.
"""

from __future__ import annotations

import functools
from enum import IntEnum
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis
import redis.asyncio as aioredis

from lxc_manager.settings import get_settings


class RedisDb(IntEnum):
    APP = 0
    RQ = 1
    STATE = 2


def base_url() -> str:
    url = get_settings().redis_url
    if url is None:
        raise RuntimeError(
            "REDIS_URL is not set: start the app with `lxc-manager serve`, which starts Redis"
        )
    return url


def url_for(db: RedisDb, url: str | None = None) -> str:
    """The URL of logical database `db`, offset from the database in `url`."""
    parts = urlsplit(url or base_url())
    if parts.scheme == "unix":
        query = dict(parse_qsl(parts.query))
        query["db"] = str(int(query.get("db", "0")) + db)
        return f"unix://{parts.netloc}{parts.path}?{urlencode(query)}"
    first = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{first + db}"))


@functools.cache
def sync_client(db: RedisDb = RedisDb.APP) -> redis.Redis:
    """A pooled synchronous client (CLI, RQ, workers)."""
    return redis.Redis.from_url(url_for(db), socket_connect_timeout=3, health_check_interval=30)


@functools.cache
def async_client(db: RedisDb = RedisDb.APP) -> aioredis.Redis:
    """A pooled asyncio client for the web process (one per process and event loop)."""
    return aioredis.Redis.from_url(url_for(db), socket_connect_timeout=3, health_check_interval=30)
