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


def run_worker(burst: bool = False, name: str | None = None) -> bool:
    connection = sync_client(RedisDb.RQ)
    worker = AppWorker(
        [Queue(q, connection=connection) for q in QUEUES], connection=connection, name=name
    )
    log.info("worker %s listening on %s", worker.name, ", ".join(QUEUES))
    return bool(worker.work(burst=burst, with_scheduler=False, logging_level="WARNING"))
