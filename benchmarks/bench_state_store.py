"""Bytes Reflex moves through its state store in Redis, per page navigation and per
dashboard refresh.

The real app (`lxc-manager serve`) and a simulator; headless Chromium signs in, then
navigates between the pages, and leaves the dashboard refreshing. A `MONITOR` connection
on the app's Redis sees every command on the state database: a write counts the bytes of
the value it stores, a read the size of the value it reads (looked up right after). Prints
the totals per navigation and per refresh, and which state keys were touched: the flatter
the state tree, the fewer substates each event loads and saves. Prints figures; asserts
nothing.

    .venv/bin/python benchmarks/bench_state_store.py [--port 3938] [--refreshes 3]
"""

from __future__ import annotations

import argparse
import shlex
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from browser_app import BenchEnv, bench_app

PAGES = ("/", "/settings/nodes", "/templates", "/containers/new", "/")
READS = {"GET", "MGET", "HGETALL", "HGET"}
WRITES = {"SET", "SETEX", "PSETEX", "MSET", "HSET"}


@dataclass
class Traffic:
    read: int = 0
    written: int = 0
    keys: Counter[str] = field(default_factory=Counter)


class StateMonitor:
    """MONITOR on the app's Redis; counts the state database's reads and writes."""

    def __init__(self, env: BenchEnv) -> None:
        from lxc_manager.redis_client import RedisDb
        from tests.support.app import app_redis

        self.db = int(RedisDb.STATE)
        self.lookup = app_redis(env.serve, db=self.db)
        self.source = app_redis(env.serve, db=self.db)
        self.traffic = Traffic()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def take(self) -> Traffic:
        with self._lock:
            taken, self.traffic = self.traffic, Traffic()
        return taken

    def _run(self) -> None:
        with self.source.monitor() as monitor:
            for command in monitor.listen():
                self._count(command)

    def _count(self, command: dict[str, Any]) -> None:
        if int(command.get("db", -1)) != self.db:
            return
        words = shlex.split(command.get("command", ""))
        if not words:
            return
        verb, args = words[0].upper(), words[1:]
        size = 0
        if verb in WRITES and len(args) >= 2:
            size = len(args[-1].encode())
        elif verb in READS and args:
            size = int(self.lookup.strlen(args[0]) or 0) if verb == "GET" else 0
        else:
            return
        with self._lock:
            if verb in WRITES:
                self.traffic.written += size
            else:
                self.traffic.read += size
            if args:
                self.traffic.keys[_state_name(args[0])] += 1


def _state_name(key: str) -> str:
    """`token_lxc_manager____state.dashboard_state` -> `...state.dashboard_state`."""
    return key.split("_", 1)[-1][-60:]


def _show(title: str, traffic: Traffic, count: int) -> None:
    print(
        f"{title:<28}: read {traffic.read / count / 1024:7.1f} KiB, "
        f"written {traffic.written / count / 1024:7.1f} KiB"
    )
    for name, hits in traffic.keys.most_common(12):
        print(f"    {hits / count:5.1f} x {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=3938)
    parser.add_argument("--refreshes", type=int, default=3)
    parser.add_argument("--containers", type=int, default=60)
    args = parser.parse_args()
    from lxc_manager.pages.dashboard.page import REFRESH_MS

    with bench_app(port=args.port, containers=args.containers) as env:
        page = env.new_page()
        page.goto("/")
        page.locator("#containers-table [data-ct]").first.wait_for()
        page.wait_for_timeout(2000)
        monitor = StateMonitor(env)
        page.wait_for_timeout(500)
        monitor.take()

        for path in PAGES[1:]:
            page.goto(path)
            page.wait_for_load_state("networkidle")
            page.wait_for_timeout(1500)
        navigation = monitor.take()

        page.locator("#containers-table [data-ct]").first.wait_for()
        monitor.take()
        page.wait_for_timeout(args.refreshes * REFRESH_MS)
        refreshes = monitor.take()

        print(f"state database {monitor.db}; pages {' -> '.join(PAGES)}")
        _show("per page navigation", navigation, len(PAGES) - 1)
        _show(f"per dashboard refresh ({REFRESH_MS} ms)", refreshes, args.refreshes)


if __name__ == "__main__":
    main()
