"""RQ workers on the app's queues.

A work-horse is forked per job: it asks to die with its worker (PR_SET_PDEATHSIG) and
drops the database engine inherited across the fork before touching the database.
"""

from __future__ import annotations

import logging
from typing import Any

from rq import Queue, Worker

from lxc_manager.db.engine import dispose_engine
from lxc_manager.process import set_parent_death_signal
from lxc_manager.redis_client import RedisDb, sync_client

log = logging.getLogger(__name__)

QUEUES = ("provisioning", "default")


class AppWorker(Worker):
    """An RQ worker whose work-horses never outlive it and never share a DB connection."""

    def main_work_horse(self, *args: Any, **kwargs: Any) -> None:
        set_parent_death_signal()
        dispose_engine()
        super().main_work_horse(*args, **kwargs)


def queue(name: str = "default") -> Queue:
    return Queue(name, connection=sync_client(RedisDb.RQ))


def _mark_stale_jobs() -> None:
    """A worker (re)starting may follow one that died mid-job: fail its orphans now."""
    from lxc_manager.provisioning.jobs import mark_stale_jobs

    try:
        marked = mark_stale_jobs()
    except Exception:  # the worker must start even when this check cannot run
        log.warning("stale job check failed", exc_info=True)
        return
    if marked:
        log.warning("marked %d stale provisioning job(s) failed", len(marked))


def run_worker(burst: bool = False, name: str | None = None) -> bool:
    # Imported here, before any fork, so a work-horse starts its job at once.
    import lxc_manager.provisioning.jobs  # noqa: F401

    _mark_stale_jobs()
    connection = sync_client(RedisDb.RQ)
    worker = AppWorker(
        [Queue(q, connection=connection) for q in QUEUES], connection=connection, name=name
    )
    log.info("worker %s listening on %s", worker.name, ", ".join(QUEUES))
    return bool(worker.work(burst=burst, with_scheduler=False, logging_level="WARNING"))
