"""Browser console: keystroke-to-echo latency through the app, and web memory per console.

The real backend (granian + the Reflex app + the console routes, as `serve` runs it), a
simulator over HTTPS and SSH, and an embedded Redis. For each path (Proxmox's termproxy,
when the simulator offers it, and SSH `pct enter`) one console types single characters
and times each until its echo arrives (issue 16's aim: p99 under 30 ms). Then N consoles
are opened and the web process's RSS is read before and after. Prints figures; asserts
nothing.

    .venv/bin/python benchmarks/bench_console.py [--keys 200] [--consoles 8]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "integration" / "console"))


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def echo_latencies(lab, node, keys: int) -> tuple[str, list[float], str]:  # type: ignore[no-untyped-def]
    session = await lab.session()
    ws = await lab.open(node, lab.running, session)
    await ws.until(lambda g: any(s["state"] in ("connected", "closed") for s in g.statuses))
    status = ws.got.statuses[-1]
    if status["state"] != "connected":
        return "", [], status["message"]
    await ws.until(lambda g: g.output.endswith(b"# "), timeout=10)  # the prompt
    samples = []
    for index in range(keys):
        key = "abcdefghij"[index % 10]
        seen = len(ws.got.output)
        started = time.perf_counter()
        await ws.type(key)
        await ws.until(lambda g, seen=seen, key=key: key.encode() in g.output[seen:], timeout=5)
        samples.append((time.perf_counter() - started) * 1000)
        if index % 50 == 49:  # keep the line short
            await ws.type("\x15")
            await ws.until(lambda g: False, timeout=0.05)
    await ws.type("\x15exit\r")
    await ws.wait_closed(timeout=10)
    return status["path"], samples, status["message"]


def rss_kib(pid: int) -> int:
    import psutil

    process = psutil.Process(pid)
    return int(
        sum(p.memory_info().rss for p in [process, *process.children(recursive=True)]) / 1024
    )


async def memory_per_console(lab, consoles: int) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    session = await lab.session()
    warm = await lab.open(lab.full, lab.running, session)
    await warm.until(lambda g: g.output.endswith(b"# "), timeout=10)
    await warm.close()
    await asyncio.sleep(1)
    before = rss_kib(lab.backend.process.pid)
    opened = []
    for _ in range(consoles):
        ws = await lab.open(lab.full, lab.running, await lab.session())
        await ws.until(lambda g: g.output.endswith(b"# "), timeout=10)
        opened.append(ws)
    await asyncio.sleep(2)
    after = rss_kib(lab.backend.process.pid)
    for ws in opened:
        await ws.close()
    return before, after, len(opened)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=200)
    parser.add_argument("--consoles", type=int, default=8)
    args = parser.parse_args()

    from console_support import Lab, _nodes, _running_container

    from lxc_manager.db.migrate import upgrade_head
    from lxc_manager.embedded_redis import EmbeddedRedis
    from lxc_manager.process import stop_children
    from tests.conftest import reset_app_caches
    from tests.support.backend import running_backend
    from tests.support.simulator import start_simulator

    with tempfile.TemporaryDirectory(prefix="bench-console-") as data:
        tmp = Path(data)
        redis = EmbeddedRedis(tmp / "redis")
        redis.start()
        secrets = {"ci": str(uuid.uuid4()), "ro": str(uuid.uuid4())}
        password = "pw-" + uuid.uuid4().hex[:10]
        sim = start_simulator(
            [
                "--port", "0", "--ssh-port", "0", "--nodes", "1", "--containers", "4",
                "--vms", "0", "--seed", "11", "--auth-failure-delay", "0",
                "--task-seconds", "0.2", "--log-level", "WARNING",
                "--user", f"root@pam:{password}",
                "--token", f"root@pam!ci:{secrets['ci']}",
                "--token", f"root@pam!ro:{secrets['ro']}:privsep",
            ]
        )  # fmt: skip
        try:
            os.environ.update(LXCM_DATA_DIR=str(tmp / "data"), REDIS_URL=redis.url)
            reset_app_caches()
            upgrade_head()
            full, no_console, other = asyncio.run(_nodes(sim.ready, secrets, password))
            reset_app_caches()
            with running_backend(
                tmp,
                redis.url,
                LXCM_CONSOLE_MAX_PER_USER=str(args.consoles + 4),
                LXCM_LOG_LEVEL="WARNING",
            ) as backend:
                lab = Lab(
                    sim, backend, tmp / "data", full, no_console, other,
                    _running_container(sim.ready, secrets["ci"]), secrets,
                )  # fmt: skip

                async def run() -> None:
                    for label, node in (
                        ("token with VM.Console", full),
                        ("token without", no_console),
                    ):
                        path, samples, message = await echo_latencies(lab, node, args.keys)
                        if not samples:
                            print(f"{label}: no console ({message})")
                            continue
                        print(
                            f"{label:22}: path {path:9} {len(samples)} keys  "
                            f"p50 {statistics.median(samples):6.2f} ms  "
                            f"p99 {percentile(samples, 0.99):6.2f} ms  "
                            f"max {max(samples):6.2f} ms"
                        )
                        print(f"{'':24}({message})")
                    before, after, count = await memory_per_console(lab, args.consoles)
                    print(f"web RSS with 0 consoles : {before / 1024:7.1f} MiB")
                    print(f"web RSS with {count} consoles: {after / 1024:7.1f} MiB")
                    print(f"per open console        : {(after - before) / count:7.0f} KiB")

                asyncio.run(run())
        finally:
            sim.stop()
            stop_children([redis.child], timeout=5)


if __name__ == "__main__":
    main()
