"""Running a real `lxc-manager worker` from a test, and a fresh job state for it."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator

from rq import Queue

from lxc_manager import redis_client
from lxc_manager.db.migrate import upgrade_head
from lxc_manager.provisioning import vmids
from lxc_manager.redis_client import RedisDb
from tests.support.app import REPO
from tests.support.node_checks import forget_node_checks


def worker_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "lxc_manager.cli", "worker", *args]


def run_burst_worker(timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """An RQ worker in burst mode (a real `lxc-manager worker`): it runs what is queued and
    exits."""
    done = subprocess.run(
        worker_command("--burst"),
        env={**os.environ, "LXCM_LOG_LEVEL": "WARNING"},
        cwd=REPO,
        timeout=timeout,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def start_quiet_worker() -> subprocess.Popen[bytes]:
    """A real `lxc-manager worker` (not burst) in the background, its output dropped; the
    test kills it."""
    return subprocess.Popen(
        worker_command(),
        env={**os.environ, "LXCM_LOG_LEVEL": "WARNING"},
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@contextlib.contextmanager
def fresh_jobs(queue_name: str) -> Iterator[None]:
    """The test's database migrated, no VMID or node-check state of earlier tests, and the
    RQ queue `queue_name` empty before and after."""
    upgrade_head()
    vmids.forget_nodes()  # node ids start again at 1 in every test's database
    forget_node_checks()
    queue = Queue(queue_name, connection=redis_client.sync_client(RedisDb.RQ))
    queue.empty()
    yield
    queue.empty()
