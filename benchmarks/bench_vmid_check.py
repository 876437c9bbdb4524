"""The VMID check the wizard runs as the user types: latency at 100 concurrent checks.

Issue 8's target: p99 of the Redis check below 5 ms at 100 concurrent checks. The cache is
filled once from the simulator (as when the wizard opens); every check is then answered
from Redis in one round trip. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/bench_vmid_check.py [--concurrency 100] [--rounds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
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


def start_simulator(secret: str) -> tuple[subprocess.Popen[str], dict]:
    command = [
        sys.executable, "-m", "lxc_manager_simulator", "--port", "0", "--ssh-port", "0",
        "--nodes", "3", "--containers", "300", "--vms", "20", "--seed", "5",
        "--log-level", "WARNING", "--token", f"{TOKEN_ID}:{secret}",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("SIMULATOR READY "):
            return process, json.loads(line.removeprefix("SIMULATOR READY "))
    raise RuntimeError("the simulator did not start")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def run(args: argparse.Namespace) -> None:
    from lxc_manager.db.migrate import upgrade_head
    from lxc_manager.nodes.service import NodeInput, NodeView, create_node
    from lxc_manager.provisioning import vmids

    upgrade_head()
    secret = str(uuid.uuid4())
    simulator, ready = start_simulator(secret)
    try:
        host, port = ready["api"].removeprefix("https://").rsplit(":", 1)
        node = await create_node(
            USER,
            NodeInput(name="bench", host=host, port=int(port), token_id=TOKEN_ID,
                      token_secret=secret, tls_fingerprint=ready["tls_sha256"]),
        )  # fmt: skip
        assert isinstance(node, NodeView), node
        started = time.perf_counter()
        await vmids.refresh_cache(USER, node.id)
        refresh = time.perf_counter() - started

        async def one(text: str) -> tuple[float, str]:
            began = time.perf_counter()
            check = await vmids.check_vmid(USER, node.id, text)
            return time.perf_counter() - began, check.status

        await asyncio.gather(*(one("100") for _ in range(10)))  # connections warm
        latencies: list[float] = []
        statuses: dict[str, int] = {}
        rounds_wall: list[float] = []
        for _ in range(args.rounds):
            texts = [str(random.randint(100, 1200)) for _ in range(args.concurrency)]
            began = time.perf_counter()
            results = await asyncio.gather(*(one(text) for text in texts))
            rounds_wall.append(time.perf_counter() - began)
            for latency, status in results:
                latencies.append(latency)
                statuses[status] = statuses.get(status, 0) + 1
        print(f"cache fill from /cluster/resources : {refresh * 1000:.0f} ms (320 guests)")
        print(
            f"checks                             : {len(latencies)} in {args.rounds} rounds of {args.concurrency} concurrent"
        )
        print(f"answers                            : {statuses}")
        print(
            f"latency p50 / p99 / max            : {statistics.median(latencies) * 1000:.2f} / {percentile(latencies, 0.99) * 1000:.2f} / {max(latencies) * 1000:.2f} ms  (aim p99 < 5 ms)"
        )
        print(
            f"one round of {args.concurrency} (median)          : {statistics.median(rounds_wall) * 1000:.2f} ms"
        )
    finally:
        simulator.terminate()
        simulator.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=20)
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
