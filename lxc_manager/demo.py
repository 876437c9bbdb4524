"""`lxc-manager demo`: the app next to a seeded Proxmox VE simulator, ready to click around in.

The demo keeps its own data under `$LXCM_DATA_DIR/demo` (so it never touches real data),
runs the simulator as one more supervised child (its state, certificate included, persists
in that directory), pre-trusts it as a sign-in endpoint, gives the demo user the simulator as a ready node
(API token and SSH) and prints the sign-in to use.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import queue
import shutil
import socket
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import IO

from lxc_manager.process import Child
from lxc_manager.settings import Settings, get_settings
from lxc_manager.supervisor import StartupError, Supervised, Supervisor

log = logging.getLogger("lxc_manager.demo")

DEMO_USER = "root"
DEMO_PASSWORD = "demo"
DEMO_TOKEN_ID = "root@pam!demo"
# The demo's token is privilege-separated, with what a home-lab admin grants a container
# dashboard on `/` (manage guests, allocate disk space, use bridges and vnets, read the
# rest): like a real installation, root-only options (keyctl, fuse, any feature of a
# privileged container) are refused to it and applied with `pct set` over SSH instead.
DEMO_TOKEN_ROLES = "PVEVMAdmin+PVEDatastoreUser+PVESDNUser+PVEAuditor"
DEMO_NODE_NAME = "demo-cluster"
READY_PREFIX = "SIMULATOR READY "
READY_TIMEOUT = 60.0
# A first start with real containers builds the rootfs cache (debootstrap: minutes).
REAL_READY_TIMEOUT = 900.0
CONTAINER_CHOICES = ("auto", "real", "simulated")


def demo_containers() -> tuple[str, str]:
    """(`real` | `simulated`, why) from LXCM_DEMO_CONTAINERS (default auto: real where this
    machine can run LXC as root)."""
    from lxc_manager_simulator.real.backend import lxc_unavailable_reason

    choice = os.environ.get("LXCM_DEMO_CONTAINERS", "auto").strip().lower() or "auto"
    if choice not in CONTAINER_CHOICES:
        raise StartupError(
            f"LXCM_DEMO_CONTAINERS must be one of {', '.join(CONTAINER_CHOICES)} (got {choice!r})"
        )
    if choice == "simulated":
        return "simulated", "LXCM_DEMO_CONTAINERS=simulated"
    reason = lxc_unavailable_reason()
    if choice == "real":
        if reason:
            raise StartupError(f"LXCM_DEMO_CONTAINERS=real, but {reason}")
        return "real", "LXCM_DEMO_CONTAINERS=real"
    if reason:
        return "simulated", f"auto: {reason}"
    return "real", "auto: this machine can run LXC containers"


DEMO_CATALOG = Path(__file__).parent / "demo_catalog"


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
        self.containers, self.containers_why = "simulated", ""

    def demo_token_secret(self) -> str:
        """The demo's API token secret: made once, kept (0600) next to the demo's data."""
        path = self.settings.data_dir / "demo-token"
        if not path.exists():
            self.settings.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(str(uuid.uuid4()))
            path.chmod(0o600)
        return path.read_text().strip()

    def simulator_argv(self) -> list[str]:
        state = self.settings.data_dir / "simulator-state.json"
        return [
            sys.executable, "-m", "lxc_manager_simulator",
            "--port", str(_port_or_any(8006)),
            "--ssh-port", str(_port_or_any(2222)),
            "--seed", "2026", "--nodes", "3", "--containers", "20", "--vms", "3",
            "--task-seconds", "1.5", "--auth-failure-delay", "1",
            "--user", f"{DEMO_USER}@pam:{DEMO_PASSWORD}",
            "--token", f"{DEMO_TOKEN_ID}:{self.demo_token_secret()}:privsep={DEMO_TOKEN_ROLES}",
            "--state-file", str(state),
            "--log-level", "WARNING",
            "--containers-backend", self.containers,
        ]  # fmt: skip

    def before_start(self) -> None:
        self.containers, self.containers_why = demo_containers()
        print(f"Demo containers: {self.containers} ({self.containers_why})", flush=True)
        wait = REAL_READY_TIMEOUT if self.containers == "real" else READY_TIMEOUT
        child = Child("simulator", self.simulator_argv(), stdout=subprocess.PIPE)
        child.start()
        assert child.popen is not None and child.popen.stdout is not None
        lines: queue.Queue[str | None] = queue.Queue()
        text = open(child.popen.stdout.fileno(), encoding="utf-8", closefd=False)  # noqa: SIM115
        threading.Thread(target=_read_ready, args=(text, lines), daemon=True).start()
        self.supervised.append(Supervised(child, restartable=False))
        while True:
            try:
                line = lines.get(timeout=wait)
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
        endpoint = endpoints.trust(host, port, str(self.ready["tls_sha256"]), trusted_by="demo")
        log.info("simulator at %s:%s trusted for sign-in", host, port)
        user_id = f"{DEMO_USER}@pam@{endpoint.id}"
        asyncio.run(self._give_demo_user_a_node(user_id, host, port))
        self._sync_templates(user_id)

    def _sync_templates(self, user_id: str) -> None:
        from lxc_manager.security.actor import Actor
        from lxc_manager.templates import service

        # The demo installs its own catalog, as an administrator would.
        report = service.sync_catalog_sync(Actor(user_id, is_admin=True))
        log.info("%s", report.summary())
        for error in report.errors:
            log.warning("catalog: %s", error)

    async def _give_demo_user_a_node(self, user_id: str, host: str, port: int) -> None:
        """The demo user finds the simulator ready as a node (API token and SSH)."""
        from lxc_manager.nodes import service

        ssh_port = int(str(self.ready["ssh"]).rpartition(":")[2])
        data = service.NodeInput(
            name=DEMO_NODE_NAME,
            host=host,
            port=port,
            token_id=DEMO_TOKEN_ID,
            token_secret=self.demo_token_secret(),
            ssh_user="root",
            ssh_port=ssh_port,
            ssh_secret=DEMO_PASSWORD,
            ssh_secret_kind="password",
            tls_fingerprint=str(self.ready["tls_sha256"]),
            ssh_host_key=str(self.ready["ssh_host_key"]),
        )
        existing = next(
            (n for n in await service.list_nodes(user_id) if n.name == DEMO_NODE_NAME), None
        )
        if existing is None:
            # The demo's own start-up, before Redis runs: not a user's connection test.
            outcome = await service.create_node(user_id, data, throttled=False)
        elif (existing.port, existing.ssh_port, existing.tls_fingerprint) != (
            port,
            ssh_port,
            data.tls_fingerprint,
        ):
            outcome = await service.update_node(user_id, existing.id, data)
        else:
            return
        if isinstance(outcome, service.CheckResult):
            problems = outcome.error or "; ".join(outcome.field_errors.values())
            log.warning("could not set up the demo node: %s", problems)

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
            f"  Containers: {self.containers} ({self.containers_why})",
            "",
            "  Press Ctrl-C to stop.",
            "",
        ]
        print("\n".join(banner), flush=True)


def build_demo_catalog(target: Path) -> Path:
    """The shipped catalog plus templates made for the simulator's shell (the shipped ones
    are real-world bash for real Debian/Ubuntu containers), copied afresh into `target`."""
    from lxc_manager.templates.catalog import default_catalog_dir

    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(default_catalog_dir(), target)
    for template in DEMO_CATALOG.iterdir():
        if template.is_dir():
            shutil.copytree(template, target / template.name)
    return target


def run_demo() -> int:
    # Children read the same environment, so the demo's data dir is set there.
    demo_dir = get_settings().data_dir / "demo"
    os.environ["LXCM_DATA_DIR"] = str(demo_dir)
    if not os.environ.get("LXCM_TEMPLATES_DIR"):
        os.environ["LXCM_TEMPLATES_DIR"] = str(build_demo_catalog(demo_dir / "catalog"))
    get_settings.cache_clear()
    return DemoSupervisor(get_settings()).run()
