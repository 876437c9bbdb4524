"""Requests per second of the Proxmox VE simulator's HTTPS API on one core.

Starts the simulator with 1,000 containers pinned to one CPU, then drives it from this
process (pinned to another CPU when there is one) over keep-alive TLS connections with
pipelined requests, for `GET /cluster/resources` (the big, cached body) and `GET /version`
(a small request). Prints figures only; total run time stays well under 30 s.

    .venv/bin/python benchmarks/bench_simulator.py [--seconds 3] [--containers 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONNECTIONS = 4
PIPELINE = 4


def start_simulator(containers: int, cpu: int) -> tuple[subprocess.Popen[str], dict]:
    command = [
        sys.executable,
        "-m",
        "lxc_manager_simulator",
        "--port",
        "0",
        "--ssh-port",
        "0",
        "--seed",
        "1",
        "--containers",
        str(containers),
        "--vms",
        "0",
        "--log-level",
        "WARNING",
    ]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
        preexec_fn=lambda: os.sched_setaffinity(0, {cpu}),
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("SIMULATOR READY "):
        process.kill()
        raise SystemExit(f"the simulator did not start: {line!r}")
    return process, json.loads(line[len("SIMULATOR READY ") :])


def request_bytes(host: str, path: str, token: dict) -> bytes:
    return (
        f"GET /api2/json{path} HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: PVEAPIToken={token['id']}={token['secret']}\r\n\r\n"
    ).encode()


async def connection(
    host: str, port: int, request: bytes, deadline: float, counts: list[int]
) -> int:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    reader, writer = await asyncio.open_connection(host, port, ssl=context, limit=8 * 1024 * 1024)
    size = 0
    writer.write(request * PIPELINE)
    in_flight = PIPELINE
    while in_flight:
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head[:60]
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        size = len(await reader.readexactly(length))
        counts[0] += 1
        in_flight -= 1
        if time.monotonic() < deadline:
            writer.write(request)
            in_flight += 1
    writer.close()
    return size


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(
    host: str, port: int, request: bytes, seconds: float, pid: int
) -> tuple[float, int, float]:
    """-> (requests/s, body size, share of its CPU the simulator used)."""
    await asyncio.gather(
        *(connection(host, port, request, time.monotonic() + 0.5, [0]) for _ in range(CONNECTIONS))
    )  # warm-up (caches, TLS sessions)
    counts = [0]
    started, cpu_before = time.monotonic(), cpu_seconds(pid)
    sizes = await asyncio.gather(
        *(connection(host, port, request, started + seconds, counts) for _ in range(CONNECTIONS))
    )
    elapsed = time.monotonic() - started
    return counts[0] / elapsed, max(sizes), (cpu_seconds(pid) - cpu_before) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--containers", type=int, default=1000)
    args = parser.parse_args()
    cpus = sorted(os.sched_getaffinity(0))
    server_cpu = cpus[0]
    if len(cpus) > 1:
        os.sched_setaffinity(0, set(cpus[1:]))
    started = time.monotonic()
    process, ready = start_simulator(args.containers, server_cpu)
    print(
        f"simulator up with {args.containers} containers in {time.monotonic() - started:.1f} s"
        f" (pinned to CPU {server_cpu}; client on {len(cpus) - 1 or 1} other CPU(s))"
    )
    try:
        host, port = ready["api"].removeprefix("https://").rsplit(":", 1)
        token = ready["tokens"][0]
        for label, path in (
            ("GET /cluster/resources", "/cluster/resources"),
            ("GET /version", "/version"),
        ):
            rate, size, busy = asyncio.run(
                measure(
                    host, int(port), request_bytes(host, path, token), args.seconds, process.pid
                )
            )
            print(
                f"{label:<24} {rate:>8,.0f} requests/s  body {size:>8,} bytes"
                f"  {rate * size / 1e6:>6,.1f} MB/s  simulator CPU {busy:>4.0%}"
            )
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(10)


if __name__ == "__main__":
    main()
