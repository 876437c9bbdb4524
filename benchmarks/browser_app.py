"""What the browser benchmarks share: a Proxmox VE simulator, the real app (`lxc-manager
serve`, frontend built for the benchmark's own port) and a headless Chromium signed in as
a user with one node on the simulator. Everything started here is stopped on exit.

    with bench_app(port=3937, containers=60) as env:
        page = env.new_page()          # a fresh, signed-in browser context
        page.goto("/")
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

REPO = Path(__file__).resolve().parents[1]
DEFAULT_PORT = 3937  # not 3917 (the test suite's app)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class BenchEnv:
    serve: Any  # tests.support.app.ServeProcess
    sim: Any  # tests.support.simulator.SimProcess
    token_secret: str
    browser: Any  # playwright Browser
    storage_state: dict[str, Any]
    contexts: list[Any] = field(default_factory=list)

    @property
    def api(self) -> httpx.Client:
        headers = {"Authorization": f"PVEAPIToken=root@pam!ci={self.token_secret}"}
        return httpx.Client(
            base_url=self.sim.ready["api"] + "/api2/json",
            headers=headers,
            verify=False,
            timeout=10,
        )

    def new_page(self) -> Any:
        """A new browser context with the signed-in session (its own tab and websocket)."""
        context = self.browser.new_context(
            base_url=self.serve.base_url,
            viewport={"width": 1360, "height": 860},
            storage_state=self.storage_state,
        )
        self.contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(60_000)
        return page

    def web_pids(self) -> list[int]:
        """The web server's processes (granian and its worker), from the serve tree."""
        from tests.support.procs import descendants

        found = []
        for pid in sorted(descendants(self.serve.pid)):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            if b"granian" in cmdline:
                found.append(pid)
        return found

    def sim_state(self) -> dict[str, Any]:
        answer = httpx.get(f"{self.sim.ready['admin']}/_sim/state", timeout=10)
        answer.raise_for_status()
        state: dict[str, Any] = answer.json()["data"]
        return state

    def stop_all_containers(self, timeout: float = 60) -> None:
        """Stop every running container (then nothing on the dashboard changes any more)."""
        with self.api as api:
            for ct in self.sim_state()["containers"]:
                if ct["status"] == "running":
                    answer = api.post(f"/nodes/{ct['node']}/lxc/{ct['vmid']}/status/stop")
                    answer.raise_for_status()
        deadline = time.monotonic() + timeout
        while any(c["status"] == "running" for c in self.sim_state()["containers"]):
            if time.monotonic() > deadline:
                raise RuntimeError("containers still running")
            time.sleep(0.3)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


@contextlib.contextmanager
def bench_app(port: int = DEFAULT_PORT, containers: int = 60, nodes: int = 3) -> Iterator[BenchEnv]:
    # tests/support/app.py serves on LXCM_TEST_PORT: the benchmark's own port
    os.environ["LXCM_TEST_PORT"] = str(port)
    sys.path.insert(0, str(REPO))
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import Peer, ensure_node, sign_in
    from tests.support.app import start_app
    from tests.support.simulator import OPERATOR, ROOT_PASSWORD, simulator_args, start_simulator

    args, secrets = simulator_args()
    for option, value in (("--containers", containers), ("--nodes", nodes)):
        args[args.index(option) + 1] = str(value)
    args[args.index("--task-seconds") + 1] = "0.1"
    print(f"simulator: {nodes} nodes, {containers} containers; app on port {port}", flush=True)
    print("(the first run for a port or code change builds the frontend: minutes)", flush=True)
    with contextlib.ExitStack() as stack:
        sim = start_simulator(args)
        stack.callback(sim.stop)
        data = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lxcm-bench-")))
        serve = start_app(data / "data", f"bench-serve-{port}", LXCM_LOGIN_LIMIT_PER_CLIENT="1000")
        stack.callback(serve.stop)  # before the data directory goes
        playwright = stack.enter_context(sync_playwright())
        browser = playwright.chromium.launch(
            executable_path=_chromium(), args=CHROMIUM_ARGS, headless=True
        )
        stack.callback(browser.close)
        parts = urlsplit(sim.ready["api"])
        assert parts.hostname and parts.port
        peer = Peer(sim, parts.hostname, parts.port, ROOT_PASSWORD, secrets)
        context = browser.new_context(base_url=serve.base_url)
        page = context.new_page()
        page.set_default_timeout(60_000)
        sign_in(page, peer, username=OPERATOR[0], password=OPERATOR[1], next_path="/settings/nodes")
        ensure_node(page, peer, "bench")
        state = context.storage_state()
        context.close()
        env = BenchEnv(serve, sim, secrets["ci"], browser, dict(state))
        try:
            yield env
        finally:
            for open_context in env.contexts:
                with contextlib.suppress(Exception):
                    open_context.close()


def _chromium() -> str:
    path = os.environ.get("LXCM_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        raise RuntimeError("Chromium is not installed (apt-get install chromium)")
    return path
