"""Memory of the web process with many open dashboard tabs.

The real app (`lxc-manager serve` on its own port) and a simulator; headless Chromium
opens the dashboard in N separate browser contexts (each its own websocket and Reflex
state, all signed in as one user) and leaves them refreshing. Prints the RSS of the web
server's processes (granian and its worker, read from /proc) before and after, per tab,
and the growth of Reflex's state in Redis. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/bench_dashboard_tabs_memory.py [--port 3937] [--tabs 50] [--containers 100]
"""

from __future__ import annotations

import argparse

from browser_app import DEFAULT_PORT, BenchEnv, bench_app, rss_kib


def web_rss(env: BenchEnv) -> dict[int, int]:
    return {pid: rss_kib(pid) for pid in env.web_pids()}


def state_redis_bytes(env: BenchEnv) -> int:
    from lxc_manager.redis_client import RedisDb
    from tests.support.app import app_redis

    client = app_redis(env.serve, db=int(RedisDb.STATE))
    used = client.info("memory")["used_memory"]
    return int(used)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--tabs", type=int, default=50)
    parser.add_argument("--containers", type=int, default=100)
    parser.add_argument("--settle-seconds", type=float, default=12.0)
    args = parser.parse_args()
    from lxc_manager.pages.dashboard.page import REFRESH_MS

    with bench_app(port=args.port, containers=args.containers) as env:
        warm = env.new_page()  # one tab first: imports, compiled pages, caches are warm
        warm.goto("/")
        warm.locator("#containers-table [data-ct]").first.wait_for()
        warm.wait_for_timeout(int(args.settle_seconds * 1000))
        before, redis_before = web_rss(env), state_redis_bytes(env)

        pages = []
        for index in range(args.tabs):
            page = env.new_page()
            page.goto("/")
            page.locator("#containers-table [data-ct]").first.wait_for()
            pages.append(page)
            if (index + 1) % 10 == 0:
                print(f"  {index + 1} tabs open", flush=True)
        # a few refreshes of every tab (each sends its event every REFRESH_MS)
        pages[-1].wait_for_timeout(max(int(args.settle_seconds * 1000), 2 * REFRESH_MS))
        after, redis_after = web_rss(env), state_redis_bytes(env)

        total_before, total_after = sum(before.values()), sum(after.values())
        print(f"web processes (granian + worker): {sorted(after)}")
        for pid in sorted(after):
            print(
                f"  pid {pid}: {before.get(pid, 0) / 1024:7.1f} MiB -> {after[pid] / 1024:7.1f} MiB"
            )
        print(f"RSS with 1 tab            : {total_before / 1024:7.1f} MiB")
        print(f"RSS with {args.tabs + 1} tabs           : {total_after / 1024:7.1f} MiB")
        print(f"per additional tab        : {(total_after - total_before) / args.tabs:7.0f} KiB")
        print(
            f"Reflex state in Redis     : {(redis_after - redis_before) / args.tabs / 1024:7.1f} KiB per tab"
        )


if __name__ == "__main__":
    main()
