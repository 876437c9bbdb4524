"""Stale detection: a running job whose heartbeat stopped is marked failed (and retryable).

Its progress stream gets the result and its VMID hold is released; `jobs` re-exports
`mark_stale_jobs` and the two intervals.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import redis
import redis.exceptions

from lxc_manager import redis_client
from lxc_manager.db.models import utcnow
from lxc_manager.redis_client import RedisDb

from . import job_rows, store, vmids
from .pipeline_run import step_name

# Logged under the name these messages have always had.
log = logging.getLogger("lxc_manager.provisioning.jobs")

STALE_AFTER_SECONDS = 60.0
STALE_CHECK_INTERVAL = 15.0


def _mark_stale(job_ids: list[str] | None, stale_after: float = STALE_AFTER_SECONDS) -> list[str]:
    return mark_stale_jobs(stale_after=stale_after, job_ids=job_ids)


def mark_stale_jobs(
    now: datetime | None = None,
    *,
    stale_after: float = STALE_AFTER_SECONDS,
    job_ids: list[str] | None = None,
    redis_app: redis.Redis | None = None,
) -> list[str]:
    """Running jobs whose heartbeat is older than `stale_after` seconds become failed and
    retryable ("the worker stopped while running step N"); returns their ids. Their progress
    stream gets the result and their VMID hold is released (with `redis_app`, or the app's
    client; a Redis failure there is logged, the rows are marked anyway)."""
    moment = now or utcnow()
    marked = store.mark_stale(moment - timedelta(seconds=stale_after), job_ids)
    if not marked:
        return []
    try:
        client = redis_app or redis_client.sync_client(RedisDb.APP)
        for job in marked:
            log.warning("job %s marked failed: no heartbeat since %s", job.id, job.heartbeat_at)
            job_rows.stale_progress(client, job, step_name(job.step))
            vmids.release_sync(client, job.user_id, job.cluster_key, job.vmid, job.id)
    except (redis.exceptions.RedisError, RuntimeError):
        log.warning("stale jobs marked, but their progress could not be written", exc_info=True)
    return [job.id for job in marked]
