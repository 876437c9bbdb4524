"""Stale operations: a running operation whose heartbeat stopped is marked failed, with
provisioning's intervals (`provisioning.jobs_stale` calls this from its sweeper, so the
supervisor's loop and every worker start cover operations too)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import redis
import redis.exceptions

from lxc_manager import redis_client
from lxc_manager.db.models import utcnow
from lxc_manager.provisioning import job_rows, vmids
from lxc_manager.redis_client import RedisDb

from . import store

log = logging.getLogger(__name__)

STALE_AFTER_SECONDS = 60.0


def mark_stale_operations(
    now: datetime | None = None,
    *,
    stale_after: float = STALE_AFTER_SECONDS,
    job_ids: list[str] | None = None,
    redis_app: redis.Redis | None = None,
) -> list[str]:
    """Running operations whose heartbeat is older than `stale_after` seconds become
    failed; their progress stream gets the result and their VMID holds are released."""
    moment = now or utcnow()
    marked = store.mark_stale(moment - timedelta(seconds=stale_after), job_ids)
    if not marked:
        return []
    try:
        client = redis_app or redis_client.sync_client(RedisDb.APP)
        for job in marked:
            log.warning(
                "operation %s marked failed: no heartbeat since %s", job.id, job.heartbeat_at
            )
            job_rows.stale_progress(client, job, job.title)
            for number in store.result_of(job).get("holds", []):
                if isinstance(number, int):
                    vmids.release_sync(client, job.user_id, job.cluster_key, number, job.id)
    except (redis.exceptions.RedisError, RuntimeError):
        log.warning("stale operations marked, but their progress was not written", exc_info=True)
    return [job.id for job in marked]
