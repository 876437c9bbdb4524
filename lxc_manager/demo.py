"""`lxc-manager demo`: the app next to a seeded Proxmox VE simulator, ready to click around in.

The demo keeps its own data under `$LXCM_DATA_DIR/demo` (so it never touches real data),
runs the simulator as one more supervised child (its state, certificate included, persists
in that directory), pre-trusts it as a sign-in endpoint and prints the sign-in to use.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import socket
import subprocess
import sys
import threading
from typing import IO

from lxc_manager.process import Child
from lxc_manager.settings import Settings, get_settings
from lxc_manager.supervisor import StartupError, Supervised, Supervisor

log = logging.getLogger("lxc_manager.demo")

DEMO_USER = "root"
DEMO_PASSWORD = "demo"
READY_PREFIX = "SIMULATOR READY "
READY_TIMEOUT = 60.0


def _port_or_any(port: int) -> int:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return 0
    return port


def _read_ready(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line.rstrip("\n"))
    lines.put(None)


class DemoSupervisor(Supervisor):
    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.ready: dict[str, object] = {}

    def simulator_argv(self) -> list[str]:
        state = self.settings.data_dir / "simulator-state.json"
        return [
            sys.executable, "-m", "lxc_manager.simulator",
            "--port", str(_port_or_any(8006)),
            "--ssh-port", str(_port_or_any(2222)),
            "--seed", "2026", "--nodes", "3", "--containers", "20", "--vms", "3",
            "--task-seconds", "1.5", "--auth-failure-delay", "1",
            "--user", f"{DEMO_USER}@pam:{DEMO_PASSWORD}",
            "--state-file", str(state),
            "--log-level", "WARNING",
        ]  # fmt: skip

    def before_start(self) -> None:
        child = Child("simulator", self.simulator_argv(), stdout=subprocess.PIPE)
        child.start()
        assert child.popen is not None and child.popen.stdout is not None
        lines: queue.Queue[str | None] = queue.Queue()
        text = open(child.popen.stdout.fileno(), encoding="utf-8", closefd=False)  # noqa: SIM115
        threading.Thread(target=_read_ready, args=(text, lines), daemon=True).start()
        self.supervised.append(Supervised(child, restartable=False))
        while True:
            try:
                line = lines.get(timeout=READY_TIMEOUT)
            except queue.Empty:
                raise StartupError("the simulator did not start") from None
            if line is None:
                raise StartupError("the simulator exited during start-up")
            if line.startswith(READY_PREFIX):
                self.ready = json.loads(line[len(READY_PREFIX) :])
                break
        self._trust_simulator()

    def _api_host_port(self) -> tuple[str, int]:
        host, _, port = str(self.ready["api"]).removeprefix("https://").rpartition(":")
        return host, int(port)

    def _trust_simulator(self) -> None:
        from lxc_manager.signin import endpoints

        host, port = self._api_host_port()
        endpoints.trust(
            host, port, str(self.ready["tls_sha256"]), trusted_by="demo", cluster_name="demo"
        )
        log.info("simulator at %s:%s trusted for sign-in", host, port)

    def after_ready(self) -> None:
        host, port = self._api_host_port()
        banner = [
            "",
            f"  LXC Manager demo is ready: {self.settings.public_url}",
            "",
            "  Sign in with the simulated Proxmox VE cluster:",
            f"    Proxmox Host  {host}",
            f"    Port          {port}",
            f"    Username      {DEMO_USER}",
            f"    Password      {DEMO_PASSWORD}",
            "    Realm         Linux PAM",
            "",
            "  Press Ctrl-C to stop.",
            "",
        ]
        print("\n".join(banner), flush=True)


def run_demo() -> int:
    # Children read the same environment, so the demo's data dir is set there.
    os.environ["LXCM_DATA_DIR"] = str(get_settings().data_dir / "demo")
    get_settings.cache_clear()
    return DemoSupervisor(get_settings()).run()
