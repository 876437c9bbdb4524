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
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from browser_app import BenchEnv, bench_app

PAGES = ("/", "/settings/nodes", "/templates", "/containers/new", "/")
READS = {"GET", "MGET", "HGETALL", "HGET"}
WRITES = {"SET", "SETEX", "PSETEX", "MSET", "HSET"}
# A MONITOR line: `<time> [<db> <client>] "ARG" "ARG" ...`, each argument quoted and
# escaped by Redis (sdscatrepr: \\ \" \n \r \t \a \b \xHH); commands run by a Lua
# script (Reflex saves state with EVAL) appear on their own with the client `lua`.
MONITOR_LINE = re.compile(rb"[\d.]+ \[(\d+) [^\]]*\] ?(.*)", re.S)
MONITOR_ARG = re.compile(rb'"((?:[^"\\]|\\.)*)"', re.S)
MONITOR_ESCAPE = re.compile(rb"\\(x[0-9a-fA-F]{2}|.)", re.S)
UNESCAPED = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"a": b"\a", b"b": b"\b"}


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
        # the raw line: redis-py's parsed `command` drops the quoting of the arguments
        with self.source.monitor() as monitor:
            while True:
                self._count(monitor.connection.read_response())

    def _count(self, line: Any) -> None:
        if isinstance(line, str):
            line = line.encode()
        head = MONITOR_LINE.match(line or b"")
        if head is None or int(head[1]) != self.db:
            return
        words = [_unescape(word) for word in MONITOR_ARG.findall(head[2])]
        if not words:
            return
        verb, args = words[0].decode(errors="replace").upper(), words[1:]
        if verb in WRITES and len(args) >= 2:
            # SET key value [EX s|PX ms|NX ...]; SETEX/PSETEX key ttl value;
            # MSET key value ...; HSET key field value ...
            if verb in ("SETEX", "PSETEX"):
                keys, values = args[:1], args[2:3]
            elif verb == "MSET":
                keys, values = args[0::2], args[1::2]
            elif verb == "HSET":
                keys, values = args[:1], args[2::2]
            else:
                keys, values = args[:1], args[1:2]
            size = sum(len(value) for value in values)
        elif verb in READS and args:
            keys = args if verb == "MGET" else args[:1]
            if verb in ("GET", "MGET"):
                size = sum(int(self.lookup.strlen(key) or 0) for key in keys)
            else:
                size = 0
        else:
            return
        with self._lock:
            if verb in WRITES:
                self.traffic.written += size
            else:
                self.traffic.read += size
            for key in keys:
                self.traffic.keys[_state_name(key.decode(errors="replace"))] += 1


def _unescape(word: bytes) -> bytes:
    """One argument of a MONITOR line back to its bytes."""

    def one(match: re.Match[bytes]) -> bytes:
        code = match[1]
        if len(code) == 3 and code[:1] in (b"x", b"X"):
            return bytes([int(code[1:], 16)])
        return UNESCAPED.get(code, code)

    return MONITOR_ESCAPE.sub(one, word)


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
