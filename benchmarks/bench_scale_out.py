"""Dashboard load on one and on two web replicas (issue 18).

Everything real, as `tests/integration/test_scale_out.py` runs it (tests/support/cluster.py):
PostgreSQL, one redis-server (append-only), web replicas (`lxc-manager serve --role web`,
LXCM_WEB_WORKERS granian workers each) on ports of their own, and the Proxmox VE simulator.
N users are tabs of Reflex's event socket (tests/support/reflex_socket.py), each signed
in through the login page (its own session) and spread over the replicas: each loads the
dashboard (hydrate, on_load) and then runs the dashboard's auto-refresh event
(`DashboardState.refresh`, what the page's timer sends every REFRESH_MS) back to back:
send, wait for its update, send again (at most one per --min-interval second per user,
5x the page's own rate). A refresh whose update does not come within --quiet-after
seconds (nothing changed: the backend sends no delta) counts as quiet: handled (it is
counted in the events per second, its wait included), but not timed.

Printed side by side for 1 and 2 replicas: refresh events per second, p50/p99 latency
(send → update), and memory per user (RSS of all replica processes / N, after the run),
then the throughput ratio. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/bench_scale_out.py [--users 60] [--seconds 20] [--web-workers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Figures:
    replicas: int
    events: int = 0
    quiet: int = 0
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    rss: int = 0
    load_seconds: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)  # cores busy in the measured window

    @property
    def per_second(self) -> float:
        """Refreshes handled per second, quiet ones included (the server did the work)."""
        return (self.events + self.quiet) / self.seconds if self.seconds else 0.0

    @property
    def updates_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def user(tab, refresh_name: str, stop_at: float, figures: Figures, args) -> None:  # type: ignore[no-untyped-def]
    """Refresh, wait for the update, refresh again (no sooner than --min-interval after
    the last one: the simulator's figures move every second, so a refresh has news)."""
    while time.monotonic() < stop_at:
        seen = len(tab.updates)
        sent = time.monotonic()
        tab.send(refresh_name, {"_now": str(time.time())})
        await tab._writer.drain()
        try:
            await tab.until(lambda n=seen: len(tab.updates) > n, args.quiet_after, "refresh")
        except AssertionError:
            if tab.closed:
                raise
            figures.quiet += 1  # handled, but nothing changed: no update to time
        else:
            figures.latencies.append(tab.updates[seen].at - sent)
            figures.events += 1
        await asyncio.sleep(max(0.0, sent + args.min_interval - time.monotonic()))


def _ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime


GROUPS = ("replicas", "load generator", "simulator", "redis", "postgresql")


def cpu_seconds(replicas, redis_pid: int, pg_port: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """CPU seconds so far of each group of processes, and of the whole machine (`machine`:
    other work on a shared machine included)."""
    from tests.support.procs import cmdline, descendants, processes_mentioning

    hertz = os.sysconf("SC_CLK_TCK")
    mine = descendants(os.getpid())
    # pg_ctl daemonises the server: ours is the one on the cluster's port
    postmaster = {p for p in processes_mentioning("lxcm-pg-") if f"-p {pg_port} " in cmdline(p)}
    groups = {
        "replicas": {p for r in replicas for p in {r.popen.pid, *descendants(r.popen.pid)}},
        "load generator": {os.getpid()},
        "simulator": {p for p in mine if "lxc_manager_simulator" in cmdline(p)},
        "redis": {redis_pid},
        "postgresql": postmaster | {c for p in postmaster for c in descendants(p)},
    }
    seconds = {name: sum(_ticks(p) for p in pids) / hertz for name, pids in groups.items()}
    busy = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    idle = (3, 4)  # idle, iowait
    seconds["machine"] = sum(int(v) for i, v in enumerate(busy) if i not in idle) / hertz
    return seconds


async def run_phase(replicas, redis_pid, pg_port, sessions, args, figures: Figures) -> None:  # type: ignore[no-untyped-def]
    from lxc_manager.pages.dashboard.state import DashboardState
    from lxc_manager.security.sessions import COOKIE_NAME
    from tests.support.cluster import PUBLIC_URL
    from tests.support.reflex_socket import ReflexTab, event_name

    started = time.monotonic()
    tabs = []
    for index, session_id in enumerate(sessions):
        replica = replicas[index % len(replicas)]
        tab = await ReflexTab.open(
            replica.port, "/", cookie=f"{COOKIE_NAME}={session_id}", origin=PUBLIC_URL
        )
        tabs.append(tab)
    for tab in tabs:
        await tab.until(lambda t=tab: t.var(DashboardState, "loaded"), 120, "the dashboard")
    figures.load_seconds = time.monotonic() - started
    await asyncio.sleep(2)  # the first refreshes of every tab settle
    refresh = event_name(DashboardState.refresh)
    begin = time.monotonic()
    stop_at = begin + args.seconds
    before = cpu_seconds(replicas, redis_pid, pg_port)
    await asyncio.gather(*(user(t, refresh, stop_at, figures, args) for t in tabs))
    figures.seconds = time.monotonic() - begin
    after = cpu_seconds(replicas, redis_pid, pg_port)
    figures.cpu = {name: (after[name] - before[name]) / figures.seconds for name in after}
    figures.rss = sum(r.rss_bytes() for r in replicas)
    for tab in tabs:
        await tab.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=60)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--web-workers", type=int, default=1, help="granian workers per replica")
    parser.add_argument("--containers", type=int, default=60)
    parser.add_argument("--quiet-after", type=float, default=3.0)
    parser.add_argument("--min-interval", type=float, default=1.0)
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("LXCM_TEST_PORT", "3917")),
        help="the port of the public URL (the frontend build the tests use; nothing binds it)",
    )
    args = parser.parse_args()
    os.environ["LXCM_TEST_PORT"] = str(args.port)
    sys.path.insert(0, str(REPO))
    sys.path.insert(0, str(REPO / "simulator"))

    # The app's states are defined (imported) outside any event loop, as the app does.
    import lxc_manager.pages.dashboard.state
    import lxc_manager.pages.login.state  # noqa: F401
    from tests.support.cluster import add_node, running_cluster, sign_in
    from tests.support.simulator import simulator_session

    print(
        f"{os.cpu_count()} CPU cores; {args.users} users, {args.seconds:.0f} s per run, "
        f"{args.web_workers} granian worker(s) per replica, {args.containers} containers",
        flush=True,
    )
    results: list[Figures] = []
    sim_args = ["--containers", str(args.containers)]
    with (
        tempfile.TemporaryDirectory(prefix="lxcm-bench-scale-") as tmp,
        contextlib_chdir(REPO),
    ):
        sessions_gen = simulator_session(sim_args)
        simulator = next(sessions_gen)
        try:
            with running_cluster(Path(tmp)) as cluster:
                env = {"LXCM_WEB_WORKERS": str(args.web_workers)}
                env["LXCM_LOGIN_LIMIT_PER_CLIENT"] = "1000"
                env["LXCM_LOGIN_LIMIT_PER_USER"] = "1000"
                first = cluster.add("web-1", "web", **env)
                first.wait_ready()
                sessions = [asyncio.run(sign_in(first, simulator)) for _ in range(args.users)]
                add_node(cluster, simulator, sessions[0])
                print(f"{args.users} users signed in", flush=True)
                replicas = [first]
                redis_pid = cluster.redis.process.pid
                pg_port = int(cluster.database_url.rsplit(":", 1)[1].split("/")[0])
                for count in (1, 2):
                    if count == 2:
                        second = cluster.add("web-2", "web", **env)
                        second.wait_ready()
                        replicas.append(second)
                    figures = Figures(count)
                    asyncio.run(run_phase(replicas, redis_pid, pg_port, sessions, args, figures))
                    results.append(figures)
                    print(f"  {count} replica(s) done", flush=True)
        finally:
            sessions_gen.close()

    one, two = results
    rows = [
        ("refresh events per second", f"{one.per_second:10.1f}", f"{two.per_second:10.1f}"),
        (
            "  of them with an update /s",
            f"{one.updates_per_second:10.1f}",
            f"{two.updates_per_second:10.1f}",
        ),
        ("p50 latency (ms)", f"{one.percentile(0.5):10.0f}", f"{two.percentile(0.5):10.0f}"),
        ("p99 latency (ms)", f"{one.percentile(0.99):10.0f}", f"{two.percentile(0.99):10.0f}"),
        ("quiet refreshes (no update)", f"{one.quiet:10d}", f"{two.quiet:10d}"),
        ("dashboards loaded in (s)", f"{one.load_seconds:10.1f}", f"{two.load_seconds:10.1f}"),
        (
            "memory per user (MiB)",
            f"{one.rss / args.users / 2**20:10.1f}",
            f"{two.rss / args.users / 2**20:10.1f}",
        ),
        ("replica RSS total (MiB)", f"{one.rss / 2**20:10.0f}", f"{two.rss / 2**20:10.0f}"),
        *(
            (f"CPU cores busy: {name}", f"{one.cpu[name]:10.2f}", f"{two.cpu[name]:10.2f}")
            for name in GROUPS
        ),
        (
            "CPU cores busy: the rest",
            f"{one.cpu['machine'] - sum(one.cpu[n] for n in GROUPS):10.2f}",
            f"{two.cpu['machine'] - sum(two.cpu[n] for n in GROUPS):10.2f}",
        ),
    ]
    print(f"{'':30} {'1 replica':>10} {'2 replicas':>10}")
    for name, a, b in rows:
        print(f"{name:30} {a} {b}")
    ratio = two.per_second / one.per_second if one.per_second else float("nan")
    print(f"throughput 2 replicas / 1 replica: {ratio:.2f}x  (aim >= 1.7x; {os.cpu_count()} cores)")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (other work on this machine)")
    if one.latencies and two.latencies:
        print(
            f"mean latency: {statistics.mean(one.latencies) * 1000:.0f} ms vs "
            f"{statistics.mean(two.latencies) * 1000:.0f} ms"
        )


def contextlib_chdir(path: Path):  # type: ignore[no-untyped-def]
    import contextlib

    return contextlib.chdir(path)


if __name__ == "__main__":
    main()
