"""Dashboard data across many endpoints: the time until every container is listed.

Issue 6's target: 20 endpoints x 250 containers with 100 ms simulated latency per request;
the dashboard data should be ready within about 2x one request's latency (all endpoints are
queried concurrently, one request each). Rounds run back to back, as `list_containers`
runs for the dashboard (shared clients: connections kept between refreshes; a few
background address look-ups per listing). Prints figures; asserts nothing.

    .venv/bin/python benchmarks/bench_dashboard_listing.py [--endpoints 20] [--containers 250] [--latency-ms 100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
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


def start_simulator(
    endpoints: int, containers: int, secret: str
) -> tuple[subprocess.Popen[str], dict]:
    command = [
        sys.executable, "-m", "lxc_manager_simulator", "--port", "0", "--ssh-port", "0",
        "--endpoints", str(endpoints), "--nodes", "2", "--containers", str(containers), "--vms", "2",
        "--seed", "3", "--log-level", "WARNING", "--token", f"{TOKEN_ID}:{secret}",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("SIMULATOR READY "):
            return process, json.loads(line.removeprefix("SIMULATOR READY "))
    raise RuntimeError("the simulator did not start")


def set_latency(ready: dict, endpoints: int, latency_ms: int) -> None:
    import httpx

    for index in range(endpoints):
        answer = httpx.post(
            f"{ready['admin']}/_sim/faults",
            params={"endpoint": index},
            json={"latency_ms": latency_ms},
            timeout=10,
        )
        answer.raise_for_status()


async def run(args: argparse.Namespace) -> None:
    from lxc_manager.containers import list_containers
    from lxc_manager.db.migrate import upgrade_head
    from lxc_manager.nodes.service import NodeInput, NodeView, create_node

    upgrade_head()
    secret = str(uuid.uuid4())
    process, ready = start_simulator(args.endpoints, args.containers, secret)
    try:
        inputs = []
        for index, endpoint in enumerate(ready["endpoints"]):
            host, port = endpoint["api"].removeprefix("https://").rsplit(":", 1)
            inputs.append(NodeInput(name=f"ep-{index:02d}", host=host, port=int(port), token_id=TOKEN_ID,
                                    token_secret=secret, tls_fingerprint=endpoint["tls_sha256"]))  # fmt: skip
        for data in inputs:  # sequential: the first node becomes the default, as in real use
            created = await create_node(USER, data)
            assert isinstance(created, NodeView), created
        set_latency(ready, args.endpoints, args.latency_ms)
        timings = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            listing = await list_containers(USER, timeout=10)
            timings.append(time.perf_counter() - started)
            assert len(listing.containers) == args.endpoints * args.containers, listing.problems
        median = statistics.median(timings)
        latency = args.latency_ms / 1000
        print(
            f"endpoints x containers     : {args.endpoints} x {args.containers} = {len(listing.containers)} rows"
        )
        print(f"simulated latency/request  : {args.latency_ms} ms")
        print(
            f"listing time (median of {args.rounds}) : {median * 1000:.0f} ms  (min {min(timings) * 1000:.0f}, max {max(timings) * 1000:.0f})"
        )
        if latency:
            print(f"ratio to one request       : {median / latency:.2f}x  (aim <= 2x)")
    finally:
        from lxc_manager.proxmox import shared

        await asyncio.sleep(1)  # the last listing's background address look-ups end
        await shared.close_all()  # the listing keeps its connections for the next refresh
        process.terminate()
        process.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=20)
    parser.add_argument("--containers", type=int, default=250)
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lxcm-bench-") as data:
        # 20 endpoints are added within a minute: above the per-user connection-test limit.
        os.environ.update(
            LXCM_DATA_DIR=data, LXCM_LOG_LEVEL="WARNING", LXCM_NODE_CHECKS_PER_MINUTE="1000"
        )
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
