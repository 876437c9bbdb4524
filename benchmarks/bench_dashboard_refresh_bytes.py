"""Bytes the server sends to the browser per dashboard refresh, measured on the wire.

The real app (`lxc-manager serve` on its own port) and a simulator; headless Chromium opens
the dashboard and Playwright counts every websocket frame of the page (payload bytes,
both directions) over several periodic refreshes:

- "live": the simulator's running containers' CPU and memory move every second, so the
  visible rows change at every refresh;
- "quiet": every container stopped, nothing changes: the aim is (near) zero.

Prints figures; asserts nothing.

    .venv/bin/python benchmarks/bench_dashboard_refresh_bytes.py [--port 3937] [--containers 60] [--refreshes 6]
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, field
from typing import Any

from browser_app import DEFAULT_PORT, bench_app

REFRESH_EVENT = "refresh"  # DashboardState.refresh, sent by the page every REFRESH_MS


@dataclass
class Wire:
    frames: list[tuple[float, str, bytes]] = field(default_factory=list)  # (time, in/out, data)

    def attach(self, page: Any) -> None:
        def on_socket(ws: Any) -> None:
            ws.on("framereceived", lambda payload: self._add("in", payload))
            ws.on("framesent", lambda payload: self._add("out", payload))

        page.on("websocket", on_socket)

    def _add(self, direction: str, payload: str | bytes) -> None:
        data = payload.encode() if isinstance(payload, str) else payload
        self.frames.append((time.monotonic(), direction, data))

    def since(self, moment: float) -> list[tuple[float, str, bytes]]:
        return [f for f in self.frames if f[0] >= moment]


def measure(page: Any, wire: Wire, refreshes: int, refresh_ms: int) -> dict[str, Any]:
    start = time.monotonic()
    page.wait_for_timeout(refreshes * refresh_ms + 500)
    frames = wire.since(start)
    sent = [f for f in frames if f[1] == "out"]
    received = [f for f in frames if f[1] == "in"]
    ticks = sum(REFRESH_EVENT in f[2].decode(errors="replace") for f in sent) or 1
    pings = sum(f[2] in (b"2", b"3") for f in frames)
    return {
        "refreshes": ticks,
        "in_bytes": sum(len(f[2]) for f in received),
        "out_bytes": sum(len(f[2]) for f in sent),
        "in_frames": len(received),
        "pings": pings,
        "sample": next(
            (f[2][:400].decode(errors="replace") for f in received if f[2] not in (b"2", b"3")),
            "",
        ),
    }


def wait_for_addresses(page: Any, env: Any, timeout: float) -> int:
    running = sum(c["status"] == "running" for c in env.sim_state()["containers"])
    deadline = time.monotonic() + timeout
    shown = 0
    while time.monotonic() < deadline:
        texts = page.locator("#containers-table [data-ct]").evaluate_all(
            "rows => rows.map(r => [r.innerText.includes('running'),"
            " r.querySelector('[data-testid=ct-ip]')?.innerText || ''])"
        )
        rows_running = [ip for is_running, ip in texts if is_running]
        shown = sum(ip not in ("", "—") for ip in rows_running)
        if shown == len(rows_running) or shown >= running:
            return shown
        page.wait_for_timeout(1000)
    return shown


def report(label: str, figures: dict[str, Any]) -> None:
    n = figures["refreshes"]
    print(f"{label}: {n} refreshes")
    print(
        f"  server -> browser : {figures['in_bytes'] / n:8.0f} bytes/refresh"
        f"  ({figures['in_frames'] / n:.1f} frames/refresh)"
    )
    print(f"  browser -> server : {figures['out_bytes'] / n:8.0f} bytes/refresh")
    if figures["sample"]:
        print(f"  a frame           : {figures['sample']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--containers", type=int, default=60)
    parser.add_argument("--refreshes", type=int, default=6)
    args = parser.parse_args()
    from lxc_manager.containers.view import PAGE_SIZE
    from lxc_manager.pages.dashboard.page import REFRESH_MS

    with bench_app(port=args.port, containers=args.containers) as env:
        page = env.new_page()
        wire = Wire()
        wire.attach(page)
        started = time.monotonic()
        page.goto("/")
        page.locator("#containers-table [data-ct]").first.wait_for()
        page.wait_for_timeout(1000)
        initial = sum(len(f[2]) for f in wire.since(started) if f[1] == "in")
        shown = page.locator("#containers-table [data-ct]").count()
        print(
            f"dashboard: {shown} rows shown (page size {PAGE_SIZE}), refresh every {REFRESH_MS} ms"
        )
        print(f"first load          : {initial} bytes from the server over the websocket")
        # The listing looks up unknown addresses a few per refresh: wait until they are
        # all shown, so "live" measures moving numbers, not addresses appearing.
        learnt = wait_for_addresses(page, env, timeout=180)
        print(f"addresses shown     : {learnt} (learnt in the background)")
        live = measure(page, wire, args.refreshes, REFRESH_MS)
        report("live (running containers' numbers move)", live)

        env.stop_all_containers()
        page.wait_for_timeout(2 * REFRESH_MS)  # the change itself is shown
        quiet = measure(page, wire, args.refreshes, REFRESH_MS)
        report("quiet (nothing changes)", quiet)
        print(
            json.dumps(
                {
                    "live_bytes_per_refresh": round(live["in_bytes"] / live["refreshes"]),
                    "quiet_bytes_per_refresh": round(quiet["in_bytes"] / quiet["refreshes"]),
                }
            )
        )


if __name__ == "__main__":
    main()
