"""The Proxmox VE simulator as a real subprocess, shared by every integration test.

`simulator` (session scope) starts `python -m lxc_manager_simulator` on free ports with
known users, tokens and a TOTP user, waits for its `SIMULATOR READY {...}` line and
returns a `SimulatorInfo`. Tests that change faults or the clock use `reset_faults`
(or call `simulator.reset()` themselves).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

READY_PREFIX = "SIMULATOR READY "
START_TIMEOUT = 30.0
REPO = Path(__file__).resolve().parents[2]
SCHEMA_PATH = REPO.parent / "shared" / "reference" / "pve-api-schema.json"

ROOT_PASSWORD = "root-" + uuid.uuid4().hex[:12]
AUDITOR = ("auditor@pve", "auditor-pass")
TFA_USER = ("tfa@pve", "tfa-pass")
OPERATOR = (
    "operator@pve",
    "operator-pass",
)  # a plain user the dashboard's browser tests sign in as
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
FIXED_RECOVERY_KEY = "fixed-recovery-key-1"
# the roles on / of the tests' main token: the simulator's default token has the same
# (simulator/lxc_manager_simulator/auth.py HOMELAB_TOKEN_ROLES)
HOMELAB_ROLES = "PVEVMAdmin+PVEDatastoreUser+PVESDNUser+PVEAuditor"
HWKEY_USER = ("hwkey@pve", "hwkey-pass")  # WebAuthn + Yubico only: nothing a form can take
RECOVERY_USER = ("keys@pve", "keys-pass")  # recovery keys only, no authenticator app
RECOVERY_ONLY_KEYS = ("only-recovery-key-1", "only-recovery-key-2")


@dataclass
class SimProcess:
    process: subprocess.Popen[str]
    ready: dict[str, Any]
    stderr_lines: list[str]
    stdout_extra: list[str]

    def stop(self, timeout: float = 5.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self.process.returncode


def start_simulator(
    args: list[str], timeout: float = START_TIMEOUT, *, entry: Sequence[str] = ()
) -> SimProcess:
    """Start the simulator, wait for its READY line; fail with its stderr if it never comes.
    `entry` replaces the default `python -m lxc_manager_simulator` (e.g. the app's own
    `lxc-manager simulator` command)."""
    command = [*(entry or (sys.executable, "-m", "lxc_manager_simulator")), *args]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    stderr_lines: list[str] = []
    stdout_extra: list[str] = []
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_pump, args=(process.stdout, lines), daemon=True).start()
    threading.Thread(target=_collect, args=(process.stderr, stderr_lines), daemon=True).start()
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        try:
            line = lines.get(timeout=max(0.01, remaining))
        except queue.Empty:
            line = None
        if line is not None and line.startswith(READY_PREFIX):
            ready = json.loads(line[len(READY_PREFIX) :])
            threading.Thread(target=_drain, args=(lines, stdout_extra), daemon=True).start()
            return SimProcess(process, ready, stderr_lines, stdout_extra)
        if line is not None:
            stdout_extra.append(line)
            continue
        if remaining <= 0 or process.poll() is not None:
            process.kill()
            process.wait(5)
            time.sleep(0.1)
            pytest.fail(
                f"simulator did not become ready ({' '.join(command)})\n"
                f"exit code: {process.returncode}\nstderr:\n" + "".join(stderr_lines)
            )


def _pump(stream: Any, lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line.rstrip("\n"))
    lines.put(None)


def _collect(stream: Any, sink: list[str]) -> None:
    for line in stream:
        sink.append(line)


def _drain(lines: queue.Queue[str | None], sink: list[str]) -> None:
    while (line := lines.get()) is not None:
        sink.append(line)


@dataclass
class SimulatorInfo:
    api: str
    ssh_host: str | None
    ssh_port: int | None
    tls_sha256: str
    ssh_host_key: str | None
    nodes: list[str]
    endpoints: list[dict[str, Any]]
    admin: str
    cluster: str
    root_password: str
    token_id: str  # root@pam!ci, privsep with HOMELAB_ROLES on / (what a real admin grants)
    token_secret: str
    root_token_id: str  # root@pam!root, no privilege separation (still not root@pam itself)
    root_token_secret: str
    privsep_token_id: str  # root@pam!ro, privsep with PVEAuditor on /
    privsep_token_secret: str
    vmadmin_token_id: str  # root@pam!vmadmin, privsep with PVEVMAdmin on /
    vmadmin_token_secret: str
    auditor_token_id: str  # auditor@pve!vm, privsep PVEVMAdmin: intersection = auditor's
    auditor_token_secret: str
    auditor_user: str
    auditor_password: str
    tfa_user: str
    tfa_password: str
    totp_secret: str
    recovery_keys: list[str]  # derived from the TOTP secret + the fixed one
    ready: dict[str, Any] = field(repr=False)
    process: SimProcess = field(repr=False)

    @property
    def base(self) -> str:
        return f"{self.api}/api2/json"

    @property
    def pve_version(self) -> str:
        """The Proxmox VE release it plays (`--pve-version`)."""
        return str(self.ready.get("pve_version", PVE_NEWEST))

    @property
    def has_interfaces_route(self) -> bool:
        """`/nodes/{node}/lxc/{vmid}/interfaces` exists since PVE 8.1."""
        return self.pve_version != PVE_OLDEST

    def admin_call(
        self, method: str, path: str, json_body: dict[str, Any] | None = None, endpoint: int = 0
    ) -> Any:
        """Call the admin API (`/_sim/...`) on the plain-HTTP admin port; returns `data`."""
        response = httpx.request(
            method, f"{self.admin}{path}", json=json_body, params={"endpoint": endpoint}, timeout=10
        )
        response.raise_for_status()
        return response.json()["data"]

    def reset(self, endpoint: int = 0) -> Any:
        return self.admin_call("POST", "/_sim/reset", endpoint=endpoint)

    def token_header(self, token_id: str | None = None, secret: str | None = None) -> str:
        return f"PVEAPIToken={token_id or self.token_id}={secret or self.token_secret}"

    def client(
        self, token_id: str | None = None, secret: str | None = None, **kwargs: Any
    ) -> httpx.Client:
        """A plain httpx client on /api2/json authenticated with an API token."""
        headers = {"Authorization": self.token_header(token_id, secret)}
        return httpx.Client(
            base_url=self.base,
            verify=False,
            headers=headers,
            timeout=kwargs.pop("timeout", 10),
            **kwargs,
        )

    def anonymous(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(
            base_url=self.base, verify=False, timeout=kwargs.pop("timeout", 10), **kwargs
        )

    def login(self, username: str = "root@pam", password: str | None = None) -> dict[str, Any]:
        """POST /access/ticket; returns the `data` of a successful answer."""
        with self.anonymous() as client:
            response = client.post(
                "/access/ticket",
                data={"username": username, "password": password or self.root_password},
            )
        assert response.status_code == 200, response.text
        return response.json()["data"]

    def ticket_client(
        self, username: str = "root@pam", password: str | None = None
    ) -> httpx.Client:
        """A client authenticated by ticket cookie + CSRF header, as the PVE GUI does it."""
        data = self.login(username, password)
        return httpx.Client(
            base_url=self.base,
            verify=False,
            timeout=10,
            cookies={"PVEAuthCookie": data["ticket"]},
            headers={"CSRFPreventionToken": data["CSRFPreventionToken"]},
        )

    @staticmethod
    def wait_task(client: httpx.Client, upid: str, timeout: float = 10.0) -> dict[str, Any]:
        """Poll the task status until it is stopped; returns the final status."""
        node = upid.split(":")[1]
        deadline = time.monotonic() + timeout
        while True:
            response = client.get(f"/nodes/{node}/tasks/{upid}/status")
            assert response.status_code == 200, response.text
            status = response.json()["data"]
            if status["status"] == "stopped":
                return status
            assert time.monotonic() < deadline, f"task {upid} still running"
            time.sleep(0.05)

    def destroy_container(
        self, vmid: int, client: httpx.Client | None = None, **params: Any
    ) -> None:
        """Stop (when running) and destroy the container wherever it is, if it exists, with
        `client` (the test token's by default); `params` go with the delete."""
        state = self.admin_call("GET", "/_sim/state")
        found = next((c for c in state["containers"] if c["vmid"] == vmid), None)
        if found is None:
            return
        node = found["node"]
        with contextlib.ExitStack() as stack:
            api = client or stack.enter_context(self.client())
            if found["status"] == "running":
                response = api.post(f"/nodes/{node}/lxc/{vmid}/status/stop")
                if response.status_code == 200:
                    self.wait_task(api, response.json()["data"])
            response = api.delete(f"/nodes/{node}/lxc/{vmid}", params=params)
            if response.status_code == 200:
                self.wait_task(api, response.json()["data"])

    def create_container(
        self, client: httpx.Client, node: str, vmid: int, **params: Any
    ) -> dict[str, Any]:
        """Create a container and wait for its task; returns the task's final status."""
        body = {
            "vmid": vmid,
            "ostemplate": "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
            "rootfs": "local-lvm:4",
            "hostname": f"test-{vmid}",
            "unprivileged": 1,
            "net0": "name=eth0,bridge=vmbr0,ip=dhcp",
            **params,
        }
        response = client.post(f"/nodes/{node}/lxc", data=body)
        assert response.status_code == 200, response.text
        return self.wait_task(client, response.json()["data"])


# The oldest and the newest release the simulator plays (`--pve-version`): the containers and
# provisioning integration tests run on both.
PVE_OLDEST, PVE_NEWEST = "8.0", "9.1"


def parametrize_pve_versions(metafunc: pytest.Metafunc, *, oldest_too: bool = True) -> None:
    """From a folder's `pytest_generate_tests`: its tests that use the shared `simulator`
    run once per release (the simulator of each release is started once per session)."""
    if "simulator" not in metafunc.fixturenames or not oldest_too:
        return
    metafunc.parametrize(
        "simulator",
        [PVE_NEWEST, PVE_OLDEST],
        indirect=True,
        scope="session",
        ids=lambda version: f"pve{version}",
    )


def simulator_args() -> tuple[list[str], dict[str, str]]:
    secrets = {name: str(uuid.uuid4()) for name in ("ci", "root", "ro", "vmadmin", "auditor")}
    args = [
        "--port",
        "0",
        "--ssh-port",
        "0",
        "--seed",
        "42",
        "--nodes",
        "3",
        "--containers",
        "12",
        "--vms",
        "2",
        "--auth-failure-delay",
        "0.1",
        "--task-seconds",
        "0.2",
        "--log-level",
        "WARNING",
        "--user",
        f"root@pam:{ROOT_PASSWORD}",
        "--user",
        f"{AUDITOR[0]}:{AUDITOR[1]}",
        "--auditor",
        AUDITOR[0],
        "--user",
        f"{OPERATOR[0]}:{OPERATOR[1]}",
        "--user",
        f"{TFA_USER[0]}:{TFA_USER[1]}",
        "--totp",
        f"{TFA_USER[0]}:{TOTP_SECRET}",
        "--recovery",
        f"{TFA_USER[0]}:{FIXED_RECOVERY_KEY}",
        "--user",
        f"{HWKEY_USER[0]}:{HWKEY_USER[1]}",
        "--webauthn",
        HWKEY_USER[0],
        "--yubico",
        HWKEY_USER[0],
        "--user",
        f"{RECOVERY_USER[0]}:{RECOVERY_USER[1]}",
        *(a for key in RECOVERY_ONLY_KEYS for a in ("--recovery", f"{RECOVERY_USER[0]}:{key}")),
        "--token",
        f"root@pam!ci:{secrets['ci']}:privsep={HOMELAB_ROLES}",
        "--token",
        f"root@pam!root:{secrets['root']}",
        "--token",
        f"root@pam!ro:{secrets['ro']}:privsep",
        "--token",
        f"root@pam!vmadmin:{secrets['vmadmin']}:privsep=PVEVMAdmin",
        "--token",
        f"{AUDITOR[0]}!vm:{secrets['auditor']}:privsep=PVEVMAdmin",
    ]
    return args, secrets


def split_host_port(text: str | None) -> tuple[str | None, int | None]:
    if not text:
        return None, None
    host, _, port = text.rpartition(":")
    return host, int(port)


def simulator_session(extra_args: list[str] | None = None) -> Iterator[SimulatorInfo]:
    """Start the test simulator (`simulator_args()` plus `extra_args`), yield its
    `SimulatorInfo`, stop it and check it exited cleanly."""
    args, secrets = simulator_args()
    sim = start_simulator([*args, *(extra_args or [])])
    ready = sim.ready
    ssh_host, ssh_port = split_host_port(ready.get("ssh"))
    info = SimulatorInfo(
        api=ready["api"],
        ssh_host=ssh_host,
        ssh_port=ssh_port,
        tls_sha256=ready["tls_sha256"],
        ssh_host_key=ready.get("ssh_host_key"),
        nodes=ready["nodes"],
        endpoints=ready["endpoints"],
        admin=ready["admin"],
        cluster=ready["cluster"],
        root_password=ROOT_PASSWORD,
        token_id="root@pam!ci",
        token_secret=secrets["ci"],
        root_token_id="root@pam!root",
        root_token_secret=secrets["root"],
        privsep_token_id="root@pam!ro",
        privsep_token_secret=secrets["ro"],
        vmadmin_token_id="root@pam!vmadmin",
        vmadmin_token_secret=secrets["vmadmin"],
        auditor_token_id=f"{AUDITOR[0]}!vm",
        auditor_token_secret=secrets["auditor"],
        auditor_user=AUDITOR[0],
        auditor_password=AUDITOR[1],
        tfa_user=TFA_USER[0],
        tfa_password=TFA_USER[1],
        totp_secret=TOTP_SECRET,
        recovery_keys=ready["tfa"][TFA_USER[0]]["recovery_keys"],
        ready=ready,
        process=sim,
    )
    try:
        yield info
    finally:
        code = sim.stop()
        stderr = "".join(sim.stderr_lines)
        assert code == 0, f"simulator exit code {code}\n{stderr}"
