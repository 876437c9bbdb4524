"""Server-Sent Events of a job's progress stream (creations and operations alike).

`follow_response` is the whole endpoint body after the job was found to be the user's:
the `retry:` hint, the stream's entries replayed after `after` then live (their ids resume
it), a keep-alive comment every `keepalive` seconds of quiet, the key checked again at
least that often, quiet or not (a revoked or expired key ends the stream with an `error`
event), and an `end`
event with the finished job. The following is `provisioning.follow.follow_job`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, Final

import redis
from starlette.responses import StreamingResponse

from lxc_manager.api.framework import ApiCall, ApiError, Param, authenticate, invalid
from lxc_manager.provisioning.follow import (
    IDLE_SECONDS,
    Ended,
    Idle,
    Lookup,
    follow_job,
    valid_after,
)
from lxc_manager.redis_client import RedisDb, async_client

__all__ = [
    "AFTER_PARAM",
    "KEEPALIVE_SECONDS",
    "MAX_STREAMS_PER_USER",
    "RETRY_MS",
    "after_of",
    "follow_response",
    "sse",
]

log = logging.getLogger(__name__)

# The `after` query parameter of every event-stream endpoint.
AFTER_PARAM: Final = Param(
    "after",
    "query",
    {"type": "string", "maxLength": 41, "default": ""},
    "Resume after this event id (as the Last-Event-ID header does)",
)

MAX_STREAMS_PER_USER: Final = 10  # open at once, all of the user's keys together
RETRY_MS: Final = 3000  # how soon an EventSource reconnects after a dropped stream
KEEPALIVE_SECONDS: Final = IDLE_SECONDS  # quiet before a keep-alive (and a check of the key)


def sse(event: str, data: Any, event_id: str = "") -> str:
    """One event of a text/event-stream (the data is one line of JSON)."""
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def after_of(call: ApiCall) -> str:
    """Where to resume: the `after` query parameter, else the `Last-Event-ID` header
    ("0-0": from the start); 422 naming the one that is not an event id."""
    header = call.request.headers.get("last-event-id")
    after = valid_after(call.params["after"] or header)
    if after is None:
        raise invalid("after" if call.params["after"] else "Last-Event-ID", "Not an event id")
    return after


def _streams_key(user_id: str) -> str:
    return f"api-streams:{user_id}"


async def _open_stream(user_id: str, keepalive: float) -> str:
    """A slot among the user's open streams (each holds a Redis connection while it
    waits), or ApiError 429 past MAX_STREAMS_PER_USER. A slot is refreshed at every check
    of the key and left at the end; one whose process died is forgotten after a while."""
    client = async_client(RedisDb.APP)
    key, token, now = _streams_key(user_id), secrets.token_hex(8), time.time()
    await client.zremrangebyscore(key, "-inf", now - (3 * keepalive + 30))
    if await client.zcard(key) >= MAX_STREAMS_PER_USER:
        raise ApiError(
            429,
            "rate_limited",
            f"Too many open event streams (at most {MAX_STREAMS_PER_USER}): close one first",
            headers={"Retry-After": str(int(keepalive))},
        )
    await client.zadd(key, {token: now})
    await client.expire(key, int(3 * keepalive + 60))
    return token


async def _touch_stream(user_id: str, token: str, keepalive: float) -> None:
    client = async_client(RedisDb.APP)
    await client.zadd(_streams_key(user_id), {token: time.time()})
    await client.expire(_streams_key(user_id), int(3 * keepalive + 60))


async def _events(
    call: ApiCall,
    job_id: str,
    after: str,
    lookup: Lookup,
    end: Callable[[Any], dict[str, Any]],
    keepalive: float,
    token: str,
) -> AsyncIterator[str]:
    try:
        yield f"retry: {RETRY_MS}\n\n"
        follow = follow_job(call.user_id, job_id, after, idle_seconds=keepalive, lookup=lookup)
        checked = time.monotonic()
        async for item in follow:
            # The key is checked again at least every `keepalive` seconds, quiet or not: a
            # job that logs more often must not keep a revoked or expired key's stream alive.
            if isinstance(item, Idle) or time.monotonic() - checked >= keepalive:
                checked = time.monotonic()
                try:
                    await authenticate(call.request)
                except ApiError as error:
                    error_data = {"error": {"code": error.code, "message": error.message}}
                    yield sse("error", error_data)
                    return
                await _touch_stream(call.user_id, token, keepalive)
            if isinstance(item, Idle):
                yield ": keep-alive\n\n"
            elif isinstance(item, Ended):
                yield sse("end", end(item.job))
                return
            else:
                data = {"id": item.id, "kind": item.kind, "at": item.at, **item.fields}
                yield sse(item.kind, data, item.id)
    finally:  # the stream's slot is given back however it ends
        try:
            await asyncio.shield(async_client(RedisDb.APP).zrem(_streams_key(call.user_id), token))
        except (redis.exceptions.RedisError, asyncio.CancelledError):
            log.warning("api: an event stream's slot was not left (it expires by itself)")


async def follow_response(
    call: ApiCall,
    job_id: str,
    after: str,
    *,
    lookup: Lookup,
    end: Callable[[Any], dict[str, Any]],
    keepalive: float = KEEPALIVE_SECONDS,
) -> StreamingResponse:
    """The event stream of the user's job `job_id` (the caller has found it theirs);
    `end(view_or_None)` is the `end` event's data. 429 when the user has too many open."""
    token = await _open_stream(call.user_id, keepalive)
    return StreamingResponse(
        _events(call, job_id, after, lookup, end, keepalive, token),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
