"""Provisioning throughput: N jobs on W real RQ workers against the simulator.

Issue 8's target: 20 jobs, 2 workers, simulator task time 1 s. Each job (a container
without template, on a node without SSH: create, start, wait until ready, done) spends two
task times in Proxmox tasks, so the ideal wall time is ceil(N / W) * 2 * task time; the
ratio of the measured wall time to it should be at most about 1.15. Prints figures;
asserts nothing.

    .venv/bin/python benchmarks/bench_provisioning.py [--jobs 20] [--workers 2] [--task-seconds 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TOKEN_ID = "root@pam!bench"
USER = "bench@pve@1"
FIRST_VMID = 5000


def start_simulator(task_seconds: float, secret: str) -> tuple[subprocess.Popen[str], dict]:
    command = [
        sys.executable, "-m", "lxc_manager_simulator", "--port", "0", "--ssh-port", "0",
        "--nodes", "2", "--containers", "5", "--vms", "1", "--seed", "8",
        "--task-seconds", str(task_seconds), "--log-level", "WARNING",
        "--token", f"{TOKEN_ID}:{secret}",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("SIMULATOR READY "):
            return process, json.loads(line.removeprefix("SIMULATOR READY "))
    raise RuntimeError("the simulator did not start")


def start_workers(count: int) -> list[subprocess.Popen[bytes]]:
    from rq import Worker

    from lxc_manager.redis_client import RedisDb, sync_client

    prefix = f"bench-{os.getpid()}-"
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "lxc_manager.cli", "worker", "--name", f"{prefix}{index}"],
            cwd=REPO,
        )
        for index in range(count)
    ]
    deadline = time.monotonic() + 60
    while (
        sum(1 for w in Worker.all(connection=sync_client(RedisDb.RQ)) if w.name.startswith(prefix))
        < count
    ):
        if time.monotonic() > deadline:
            raise RuntimeError("the workers did not register")
        time.sleep(0.1)
    return workers


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(5)


def make_request(node_id: int, pve_nodes: list[str], index: int) -> object:
    from lxc_manager.provisioning.request import CreateRequest
    from lxc_manager.templates.spec import Features

    return CreateRequest(
        node_id=node_id, pve_node=pve_nodes[index % len(pve_nodes)],
        vmid=FIRST_VMID + index, hostname=f"bench-{index}",
        os_template="local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
        storage="local-lvm", disk_gb=4, cores=1, memory_mb=512, swap_mb=0,
        bridge="vmbr0", ipv4="dhcp", gateway="", nameserver="", searchdomain="",
        ssh_public_keys="", features=Features(), tags=(), onboot=False,
        template_id=None, template_name="", scripts=(), files=(), packages=(),
    )  # fmt: skip


def print_overheads(job_ids: list[str]) -> None:
    """Where the time beyond the Proxmox tasks goes: before the first step of a run,
    between steps, and between one job's end and the next job's start on a worker."""
    from lxc_manager.provisioning import store

    events = store.events_of(job_ids)
    jobs = [store.load_job(job_id) for job_id in job_ids]
    before, between = [], []
    for items in events.values():
        claimed = next(e.at for e in items if e.kind == "attempt")
        starts = {e.step: e.at for e in items if e.kind == "start"}
        ends = {e.step: e.at for e in items if e.kind == "end"}
        before.append((starts[1] - claimed).total_seconds())
        between += [(starts[n] - ends[n - 1]).total_seconds() for n in range(2, 9)]
    finished = sorted(j.finished_at for j in jobs if j and j.finished_at)
    handover = []
    for job in jobs:
        if job is None or job.started_at is None:
            continue
        earlier = [f for f in finished if f <= job.started_at]
        if earlier and (job.started_at - job.created_at).total_seconds() > 0.5:
            handover.append((job.started_at - earlier[-1]).total_seconds())
    print(f"claim -> step 1 (mean)     : {statistics.mean(before) * 1000:.0f} ms")
    print(f"between steps (mean)       : {statistics.mean(between) * 1000:.1f} ms")
    if handover:
        print(
            f"job end -> next job start  : {statistics.mean(handover) * 1000:.0f} ms mean (RQ, fork)"
        )


async def run(args: argparse.Namespace) -> None:
    from lxc_manager.db.migrate import upgrade_head
    from lxc_manager.nodes.service import NodeInput, NodeView, create_node
    from lxc_manager.provisioning import jobs

    upgrade_head()
    secret = str(uuid.uuid4())
    simulator, ready = start_simulator(args.task_seconds, secret)
    workers: list[subprocess.Popen[bytes]] = []
    try:
        host, port = ready["api"].removeprefix("https://").rsplit(":", 1)
        node = await create_node(
            USER,
            NodeInput(name="bench", host=host, port=int(port), token_id=TOKEN_ID,
                      token_secret=secret, tls_fingerprint=ready["tls_sha256"]),
        )  # fmt: skip
        assert isinstance(node, NodeView), node
        workers = start_workers(args.workers)
        requests = [make_request(node.id, ready["nodes"], i) for i in range(args.jobs)]
        from lxc_manager.db.models import utcnow

        began = utcnow()
        started = time.perf_counter()
        submitted = []
        for req in requests:
            result = await jobs.submit(USER, req)  # type: ignore[arg-type]
            assert result.job_id, result.errors
            submitted.append(result.job_id)
        submit_time = time.perf_counter() - started
        while True:
            views = {v.id: v for v in await jobs.list_jobs(USER)}
            if all(views[j].status in ("succeeded", "failed") for j in submitted):
                break
            await asyncio.sleep(0.25)  # (seldom: the machine's cores are for the workers)
        ends = [v.finished_at for v in views.values() if v.finished_at is not None]
        wall = (max(ends) - began).total_seconds()
        failed = [v for v in views.values() if v.status != "succeeded"]
        durations = [
            (v.finished_at - v.started_at).total_seconds()
            for v in views.values()
            if v.started_at and v.finished_at
        ]
        ideal = math.ceil(args.jobs / args.workers) * 2 * args.task_seconds
        print(
            f"jobs x workers             : {args.jobs} x {args.workers}, task time {args.task_seconds:g} s"
        )
        print(f"submitting {args.jobs} jobs          : {submit_time * 1000:.0f} ms")
        print(f"succeeded / failed         : {len(views) - len(failed)} / {len(failed)}")
        for view in failed[:3]:
            print(f"  failed: {view.id} {view.error}")
        print(
            f"per job (median / max)     : {statistics.median(durations):.2f} s / {max(durations):.2f} s  (ideal {2 * args.task_seconds:g} s)"
        )
        for number in range(1, 9):
            times = [v.steps[number - 1].seconds or 0.0 for v in views.values()]
            print(
                f"  step {number} {views[submitted[0]].steps[number - 1].name:<22}: {statistics.mean(times) * 1000:7.0f} ms mean"
            )
        waits = sorted(
            (v.started_at - v.created_at).total_seconds() for v in views.values() if v.started_at
        )
        print(f"queue wait (min / max)     : {waits[0]:.2f} s / {waits[-1]:.2f} s")
        print(f"wall time                  : {wall:.2f} s  (ideal {ideal:g} s)")
        print_overheads(submitted)
        print(f"ratio to the ideal         : {wall / ideal:.3f}  (aim <= 1.15)")
    finally:
        stop_workers(workers)
        simulator.terminate()
        simulator.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--task-seconds", type=float, default=1.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lxcm-bench-") as data:
        os.environ.update(LXCM_DATA_DIR=data, LXCM_LOG_LEVEL="WARNING")
        os.environ.pop("DATABASE_URL", None)
        from lxc_manager.embedded_redis import EmbeddedRedis
        from lxc_manager.process import stop_children

        redis = EmbeddedRedis(Path(data))
        redis.start()
        os.environ["REDIS_URL"] = redis.url
        try:
            asyncio.run(run(args))
        finally:
            stop_children([redis.child], timeout=5)


if __name__ == "__main__":
    main()
