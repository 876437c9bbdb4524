"""`--pve-version 8.0|8.2|8.4|9.1`: the behaviour that differs between Proxmox VE releases
(simulator/lxc_manager_simulator/versions.py), and how the app's client reads each."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from lxc_manager.containers.lifecycle import short_message
from lxc_manager.proxmox import ParameterError, ProxmoxClient, ProxmoxError, RouteMissing
from lxc_manager.proxmox.auth import TokenAuth
from lxc_manager.proxmox.tls import TlsPolicy
from tests.support.simulator import SimProcess

REPO = Path(__file__).resolve().parents[3]
PRESSURE = {"pressurecpusome", "pressureiosome", "pressureiofull", "pressurememorysome"}


def _args(version: str | None) -> list[str]:
    args = [
        "--port", "0", "--ssh-port", "0", "--nodes", "1", "--containers", "6", "--vms", "0",
        "--seed", "5", "--task-seconds", "0.05", "--log-level", "WARNING",
    ]  # fmt: skip
    return args + (["--pve-version", version] if version else [])


@contextmanager
def _api(sim: SimProcess) -> Iterator[httpx.Client]:
    token = sim.ready["tokens"][0]
    with httpx.Client(
        base_url=sim.ready["api"] + "/api2/json",
        verify=False,
        timeout=10,
        headers={"Authorization": f"PVEAPIToken={token['id']}={token['secret']}"},
    ) as client:
        yield client


def _running(client: httpx.Client) -> int:
    guests = client.get("/nodes/pve1/lxc").json()["data"]
    return next(g["vmid"] for g in guests if g["status"] == "running")


def _app_client(sim: SimProcess) -> ProxmoxClient:
    token = sim.ready["tokens"][0]
    host_port = sim.ready["api"].removeprefix("https://")
    host, _, port = host_port.rpartition(":")
    return ProxmoxClient(
        host,
        int(port),
        tls=TlsPolicy(fingerprint=sim.ready["tls_sha256"]),
        auth=TokenAuth(token["id"], token["secret"]),
        max_response_bytes=1 << 20,
    )


@pytest.mark.parametrize(
    ("version", "full", "interfaces", "message", "pressure"),
    [
        (None, "9.1.4", True, True, True),
        ("9.1", "9.1.4", True, True, True),
        ("8.4", "8.4.0", True, True, False),
        ("8.2", "8.2.4", True, False, False),
        ("8.0", "8.0.4", False, False, False),
    ],
)
def test_each_release_behaves_as_itself(
    start_sim: Callable[[list[str]], SimProcess],
    version: str | None,
    full: str,
    interfaces: bool,
    message: bool,
    pressure: bool,
) -> None:
    sim = start_sim(_args(version))
    assert sim.ready["pve_version"] == full.rsplit(".", 1)[0]
    with _api(sim) as client:
        answer = client.get("/version").json()["data"]
        assert (answer["version"], answer["release"]) == (full, full.rsplit(".", 1)[0])
        assert (
            client.get("/nodes/pve1/status")
            .json()["data"]["pveversion"]
            .startswith(f"pve-manager/{full}/")
        )
        vmid = _running(client)

        found = client.get(f"/nodes/pve1/lxc/{vmid}/interfaces")
        if interfaces:
            assert found.status_code == 200 and found.json()["data"]
        else:
            path = f"/nodes/pve1/lxc/{vmid}/interfaces"
            assert found.status_code == 501
            assert found.reason_phrase == f"Method 'GET {path}' not implemented"
            assert found.json() == {"data": None}
        index = [e["subdir"] for e in client.get(f"/nodes/pve1/lxc/{vmid}").json()["data"]]
        assert ("interfaces" in index) is interfaces

        started = client.post(f"/nodes/pve1/lxc/{vmid}/status/start")
        assert started.status_code == 500
        assert started.reason_phrase == f"CT {vmid} already running"
        body = started.json()
        if message:
            assert body == {"data": None, "message": f"CT {vmid} already running\n"}
        else:
            assert body == {"data": None}

        bad = client.get("/nodes/pve1/lxc/99/status/current")
        assert bad.status_code == 400 and "vmid" in bad.json()["errors"]
        assert ("message" in bad.json()) is message

        status = client.get(f"/nodes/pve1/lxc/{vmid}/status/current").json()["data"]
        listed = next(g for g in client.get("/nodes/pve1/lxc").json()["data"] if g["vmid"] == vmid)
        for entry in (status, listed):
            assert len(PRESSURE & entry.keys()) == (len(PRESSURE) if pressure else 0)
            assert all(isinstance(entry[k], float) for k in PRESSURE & entry.keys())


@pytest.mark.parametrize("version", ["8.0", "9.1"])
async def test_the_client_reads_errors_of_old_and_new_servers(
    start_sim: Callable[[list[str]], SimProcess], version: str
) -> None:
    sim = start_sim(_args(version))
    with _api(sim) as api:
        vmid = _running(api)
    async with _app_client(sim) as client:
        with pytest.raises(ProxmoxError) as caught:
            await client.lxc_action("pve1", vmid, "start")
        assert caught.value.detail == f"CT {vmid} already running"  # body or reason phrase
        assert short_message(caught.value) == "The container is already running"
        with pytest.raises(ParameterError) as bad:
            await client.lxc_status("pve1", 99)
        assert "vmid" in bad.value.errors
        status = await client.lxc_status("pve1", vmid)
        assert status.running
        if version == "8.0":
            with pytest.raises(RouteMissing):
                await client.lxc_interfaces("pve1", vmid)
        else:
            assert any(i.name != "lo" for i in await client.lxc_interfaces("pve1", vmid))


def test_an_unknown_release_is_refused() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "lxc_manager_simulator", "--pve-version", "7.4"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert "--pve-version: invalid choice: '7.4'" in done.stderr
