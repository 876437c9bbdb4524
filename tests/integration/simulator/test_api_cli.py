"""The simulator as a command: defaults, READY line, endpoints, seed, state file, schema."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[3]
FINGERPRINT = re.compile(r"^([0-9A-F]{2}:){31}[0-9A-F]{2}$")


def _client(endpoint: dict, **kwargs) -> httpx.Client:
    token = endpoint["tokens"][0]
    return httpx.Client(
        base_url=endpoint["api"] + "/api2/json",
        verify=False,
        timeout=10,
        headers={"Authorization": f"PVEAPIToken={token['id']}={token['secret']}"},
        **kwargs,
    )


def _guests(endpoint: dict) -> list[tuple[int, str, str]]:
    with _client(endpoint) as client:
        data = client.get("/cluster/resources", params={"type": "vm"}).json()["data"]
    return sorted((r["vmid"], r["type"], r["name"]) for r in data)


def test_defaults_ready_line_login_and_clean_sigterm(start_sim) -> None:
    sim = start_sim(["--port", "0", "--ssh-port", "0", "--seed", "7"])
    try:
        ready = sim.ready
        assert ready["api"].startswith("https://127.0.0.1:")
        assert FINGERPRINT.match(ready["tls_sha256"])
        assert ready["nodes"] == ["pve1", "pve2", "pve3"]
        assert ready["cluster"] == "homelab"
        assert len(ready["endpoints"]) == 1 and ready["endpoints"][0]["api"] == ready["api"]
        assert ready["admin"].startswith("http://127.0.0.1:")
        assert re.fullmatch(r"127\.0\.0\.1:\d+", ready["ssh"])
        assert ready["ssh_host_key"].startswith("SHA256:")
        token = ready["tokens"][0]
        # privilege-separated: a token of root is not root (issue #13, item 2)
        assert token["id"] == "root@pam!simulator" and token["privsep"] == 1
        guests = _guests(ready)
        assert len([g for g in guests if g[1] == "lxc"]) == 20
        assert len([g for g in guests if g[1] == "qemu"]) == 3
        with httpx.Client(base_url=ready["api"] + "/api2/json", verify=False) as client:
            login = client.post(
                "/access/ticket", data={"username": "root@pam", "password": "proxmox"}
            )
        assert login.status_code == 200
    finally:
        started = time.monotonic()
        code = sim.stop()
        elapsed = time.monotonic() - started
    assert code == 0, "".join(sim.stderr_lines)
    assert elapsed < 2.0
    assert sim.stdout_extra == []  # stdout carries nothing but the READY line


def test_endpoints_are_independent_and_the_seed_reproduces(start_sim) -> None:
    first = start_sim(
        [
            "--port",
            "0",
            "--ssh-port",
            "0",
            "--seed",
            "11",
            "--endpoints",
            "2",
            "--containers",
            "6",
            "--vms",
            "1",
            "--nodes",
            "2",
        ]
    )
    second = start_sim(
        [
            "--port",
            "0",
            "--ssh-port",
            "0",
            "--seed",
            "11",
            "--containers",
            "6",
            "--vms",
            "1",
            "--nodes",
            "2",
        ]
    )
    try:
        one, two = first.ready["endpoints"]
        assert one["api"] != two["api"] and one["tls_sha256"] != two["tls_sha256"]
        assert one["cluster"] != two["cluster"]
        assert one["nodes"] == two["nodes"] == ["pve1", "pve2"]
        assert _guests(one) == _guests(second.ready)
        assert _guests(one) != _guests(two)
        with httpx.Client(base_url=first.ready["admin"]) as admin:
            admin.post("/_sim/faults", params={"endpoint": 1}, json={"error_rate": 1.0})
        with _client(one) as c1, _client(two) as c2:
            assert c1.get("/version").status_code == 200
            assert c2.get("/version").status_code == 500
    finally:
        assert first.stop() == 0
        assert second.stop() == 0


def test_consecutive_ports_from_an_explicit_port(start_sim) -> None:
    base = _free_port_pair()
    sim = start_sim(
        [
            "--port",
            str(base),
            "--ssh-port",
            "0",
            "--endpoints",
            "2",
            "--containers",
            "2",
            "--vms",
            "0",
        ]
    )
    try:
        ports = [int(e["api"].rsplit(":", 1)[1]) for e in sim.ready["endpoints"]]
        assert ports == [base, base + 1]
    finally:
        assert sim.stop() == 0


def _free_port_pair() -> int:
    import socket

    for _ in range(50):
        with socket.socket() as a:
            a.bind(("127.0.0.1", 0))
            port = a.getsockname()[1]
            with socket.socket() as b:
                try:
                    b.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
        return port
    raise AssertionError("no pair of free ports")


def test_state_file_persists_the_model_certificate_and_tickets(start_sim, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    args = [
        "--port",
        "0",
        "--ssh-port",
        "0",
        "--seed",
        "5",
        "--containers",
        "3",
        "--vms",
        "0",
        "--task-seconds",
        "0",
        "--state-file",
        str(state),
    ]
    sim = start_sim(args)
    try:
        with _client(sim.ready) as client:
            upid = client.post(
                "/nodes/pve1/lxc",
                data={
                    "vmid": 555,
                    "hostname": "kept",
                    "rootfs": "local-lvm:4",
                    "unprivileged": 1,
                    "ostemplate": "local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst",
                    "start": 1,
                },
            ).json()["data"]
            assert (
                client.get(f"/nodes/pve1/tasks/{upid}/status").json()["data"]["exitstatus"] == "OK"
            )
        with httpx.Client(base_url=sim.ready["api"] + "/api2/json", verify=False) as anon:
            ticket = anon.post(
                "/access/ticket", data={"username": "root@pam", "password": "proxmox"}
            ).json()["data"]["ticket"]
    finally:
        assert sim.stop() == 0
    assert state.exists() and oct(state.stat().st_mode & 0o777) == "0o600"
    again = start_sim(args)
    try:
        assert again.ready["tls_sha256"] == sim.ready["tls_sha256"]
        assert again.ready["ssh_host_key"] == sim.ready["ssh_host_key"]
        with _client(again.ready) as client:
            config = client.get("/nodes/pve1/lxc/555/config").json()["data"]
            status = client.get("/nodes/pve1/lxc/555/status/current").json()["data"]
            tasks = client.get("/nodes/pve1/tasks", params={"vmid": 555}).json()["data"]
        assert config["hostname"] == "kept" and status["status"] == "running"
        assert upid in {t["upid"] for t in tasks}
        with httpx.Client(
            base_url=again.ready["api"] + "/api2/json",
            verify=False,
            cookies={"PVEAuthCookie": ticket},
        ) as old_session:
            assert old_session.get("/version").status_code == 200
    finally:
        assert again.stop() == 0


def test_bad_arguments_exit_2_with_a_message() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "lxc_manager_simulator", "--port", "0", "--token", "garbage"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=30,
        env=os.environ.copy(),
    )
    assert result.returncode == 2
    assert "--token" in result.stderr and result.stdout == ""


def test_sigint_also_stops_cleanly(start_sim) -> None:
    sim = start_sim(["--port", "0", "--ssh-port", "0", "--containers", "1", "--vms", "0"])
    sim.process.send_signal(signal.SIGINT)
    assert sim.process.wait(3) == 0


def test_schema_mode_validates_against_the_official_schema(start_sim, official_schema_path) -> None:
    schema = official_schema_path
    sim = start_sim(
        [
            "--port",
            "0",
            "--ssh-port",
            "0",
            "--containers",
            "2",
            "--vms",
            "0",
            "--task-seconds",
            "0",
            "--schema",
            str(schema),
        ]
    )
    try:
        with _client(sim.ready) as client:
            bad = client.post(
                "/nodes/pve1/lxc",
                data={
                    "vmid": 300,
                    "ostemplate": "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
                    "tty": 9,
                    "arch": "sparc",
                    "hookscript": "not a volume",
                    "bogus": 1,
                },
            )
            assert bad.status_code == 400
            assert set(bad.json()["errors"]) == {"tty", "arch", "hookscript", "bogus"}
            good = client.post(
                "/nodes/pve1/lxc",
                data={
                    "vmid": 300,
                    "ostemplate": "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
                    "rootfs": "local-lvm:4",
                    "unprivileged": 1,
                    "tags": "web;prod",
                    "net0": "name=eth0,bridge=vmbr0,ip=dhcp,firewall=1",
                },
            )
            assert good.status_code == 200, good.text
            assert client.get("/cluster/resources", params={"type": "sdn"}).status_code == 200
    finally:
        assert sim.stop() == 0


def test_single_node_is_a_standalone_host(start_sim) -> None:
    sim = start_sim(
        ["--port", "0", "--ssh-port", "0", "--nodes", "1", "--containers", "2", "--vms", "0"]
    )
    with _client(sim.ready) as client:
        status = client.get("/cluster/status").json()["data"]
    assert [e["type"] for e in status] == ["node"]
    assert status[0]["name"] == "pve1" and status[0]["local"] == 1
    with httpx.Client(base_url=sim.ready["api"] + "/api2/json", verify=False) as anon:
        login = anon.post(
            "/access/ticket", data={"username": "root@pam", "password": "proxmox"}
        ).json()["data"]
    assert "clustername" not in login
