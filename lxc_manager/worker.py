"""RQ workers on the app's queues.

A work-horse is forked per job: it asks to die with its worker (PR_SET_PDEATHSIG) and
drops the database engine inherited across the fork before touching the database.

Every worker start has a name of its own (`lxcm-<host>-<pid>-<random>`, or a given prefix
instead of `lxcm-<host>`): RQ refuses a name that a killed worker still holds until its
key expires. At start a worker also unregisters the dead: workers of this host whose
process is gone, and any worker whose heartbeat is older than its TTL. The jobs a dead
worker held are failed by the stale-job rules (`provisioning.jobs_stale`,
`operations.stale`).
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import socket
from datetime import UTC, datetime, timedelta
from typing import Any

from redis import Redis
from rq import Queue, Worker
from rq.worker import BaseWorker
from rq.worker_registration import clean_worker_registry

from lxc_manager.db.engine import dispose_engine
from lxc_manager.process import set_parent_death_signal
from lxc_manager.redis_client import RedisDb, sync_client

log = logging.getLogger(__name__)

QUEUES = ("provisioning", "default")
# Seconds a worker's registration lives without a heartbeat (RQ's default is 420); RQ
# heartbeats every WORKER_TTL - 15 s while idle, so a dead worker's entry is gone within
# about two minutes even on another host.
WORKER_TTL = 60


class AppWorker(Worker):
    """An RQ worker whose work-horses never outlive it and never share a DB connection."""

    def main_work_horse(self, *args: Any, **kwargs: Any) -> None:
        set_parent_death_signal()
        dispose_engine()
        super().main_work_horse(*args, **kwargs)


def unique_worker_name(prefix: str | None = None) -> str:
    """`<prefix>-<pid>-<random>`; the prefix defaults to `lxcm-<host>`."""
    if prefix is None:
        prefix = "lxcm-" + re.sub(r"[^A-Za-z0-9_.-]+", "-", socket.gethostname())
    return f"{prefix}-{os.getpid()}-{secrets.token_hex(3)}"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_dead(worker: BaseWorker, host: str, moment: datetime) -> bool:
    if worker.pid == os.getpid() and worker.hostname == host:
        return False  # this very process (not registered yet, but be safe)
    if worker.hostname == host and worker.pid and not _process_alive(worker.pid):
        return True
    heartbeat = worker.last_heartbeat
    if heartbeat is None:
        return False
    if heartbeat.tzinfo is None:
        heartbeat = heartbeat.replace(tzinfo=UTC)
    return moment - heartbeat > timedelta(seconds=worker.worker_ttl + 60)


def live_local_workers(connection: Redis) -> list[str]:
    """Names of the registered workers running on this host (their process is alive)."""
    host = socket.gethostname()
    return sorted(
        worker.name
        for worker in Worker.all(connection=connection)
        if worker.death_date is None
        and worker.hostname == host
        and worker.pid
        and _process_alive(worker.pid)
    )


def _provisioning_job_of(worker: BaseWorker) -> str | None:
    """The provisioning job (or operation) id the worker was running (from its RQ job's
    arguments: both run through a `run_job(job_id)`)."""
    try:
        job = worker.get_current_job()
    except Exception:  # a half-written or expired job: nothing to fail
        return None
    if job is None or not (job.func_name or "").endswith(".run_job") or not job.args:
        return None
    job_id = job.args[0]
    return job_id if isinstance(job_id, str) else None


def clean_dead_workers(
    connection: Redis, queue_names: tuple[str, ...] = QUEUES, orphans: list[str] | None = None
) -> list[str]:
    """Unregister workers that are dead (see the module notes); return their names. The
    provisioning jobs they were running are appended to `orphans`."""
    host = socket.gethostname()
    moment = datetime.now(UTC)
    removed: list[str] = []
    for worker in Worker.all(connection=connection):
        if worker.death_date is None and _is_dead(worker, host, moment):
            if orphans is not None and (job_id := _provisioning_job_of(worker)):
                orphans.append(job_id)
            worker.register_death()  # type: ignore[no-untyped-call]
            removed.append(worker.name)
    for name in queue_names:
        clean_worker_registry(Queue(name, connection=connection))
    return removed


def queue(name: str = "default") -> Queue:
    return Queue(name, connection=sync_client(RedisDb.RQ))


def _mark_stale_jobs(orphans: list[str] | None = None) -> None:
    """A worker (re)starting may follow one that died mid-job: fail its orphans now
    (`orphans`: jobs whose worker is known dead, failed whatever their heartbeat)."""
    from lxc_manager.operations.stale import mark_stale_operations
    from lxc_manager.provisioning.jobs import mark_stale_jobs

    try:
        marked = []
        if orphans:  # provisioning jobs and operations share the job function's shape
            marked += mark_stale_jobs(stale_after=-1.0, job_ids=orphans)
            marked += mark_stale_operations(stale_after=-1.0, job_ids=orphans)
        marked += mark_stale_jobs() + mark_stale_operations()
    except Exception:  # the worker must start even when this check cannot run
        log.warning("stale job check failed", exc_info=True)
        return
    if marked:
        log.warning("marked %d stale job(s) failed", len(marked))


def run_worker(
    burst: bool = False, name: str | None = None, name_prefix: str | None = None
) -> bool:
    """Run a worker: `name` as given, else a unique name (`unique_worker_name`)."""
    # Imported here, before any fork, so a work-horse starts its job at once.
    import lxc_manager.operations.jobs
    import lxc_manager.provisioning.jobs  # noqa: F401
    from lxc_manager.operations.registry import load_handlers

    load_handlers()

    connection = sync_client(RedisDb.RQ)
    orphans: list[str] = []
    try:
        removed = clean_dead_workers(connection, orphans=orphans)
    except Exception:  # the worker must start even when this clean-up cannot run
        log.warning("dead worker clean-up failed", exc_info=True)
    else:
        if removed:
            log.warning("unregistered dead worker(s): %s", ", ".join(removed))
    _mark_stale_jobs(orphans)
    worker = AppWorker(
        [Queue(q, connection=connection) for q in QUEUES],
        connection=connection,
        name=name or unique_worker_name(name_prefix),
        worker_ttl=WORKER_TTL,
    )
    log.info("worker %s listening on %s", worker.name, ", ".join(QUEUES))
    return bool(worker.work(burst=burst, with_scheduler=False, logging_level="WARNING"))
