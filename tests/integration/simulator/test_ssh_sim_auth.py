"""Who may log in to the simulator's SSH endpoint, and the host key it presents."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncssh
import pytest
from ssh_sim_support import connect, run


async def test_root_password_login_lands_on_the_first_node(simulator: Any) -> None:
    result = await run(simulator, "hostname; whoami; pwd")
    assert result.stdout == f"{simulator.nodes[0]}\nroot\n/root\n"


async def test_wrong_password_is_refused(simulator: Any) -> None:
    with pytest.raises(asyncssh.PermissionDenied):
        async with connect(simulator, password="wrong-password"):
            pass


async def test_other_users_are_refused(simulator: Any) -> None:
    with pytest.raises(asyncssh.PermissionDenied):
        async with connect(simulator, username="admin"):
            pass


async def test_host_key_fingerprint_is_the_ready_lines(simulator: Any) -> None:
    async with connect(simulator) as conn:
        key = conn.get_server_host_key()
    assert key is not None
    assert key.get_fingerprint("sha256") == simulator.ssh_host_key
    assert simulator.ssh_host_key.startswith("SHA256:")


async def test_pinned_host_key_is_accepted(simulator: Any) -> None:
    async with connect(simulator) as conn:
        key = conn.get_server_host_key()
    assert key is not None
    known = asyncssh.import_known_hosts(
        f"[{simulator.ssh_host}]:{simulator.ssh_port} {key.export_public_key().decode()}"
    )
    async with connect(simulator, known_hosts=known) as pinned:
        result = await pinned.run("echo pinned", check=False)
    assert result.stdout == "pinned\n"


async def test_offline_first_node_drops_connections(reset_faults: Any) -> None:
    simulator = reset_faults
    simulator.admin_call("POST", "/_sim/faults", {"node": simulator.nodes[0], "online": False})
    with pytest.raises((asyncssh.Error, OSError)):
        async with connect(simulator) as conn:
            await conn.run("true", check=False)


async def test_authorized_key_login(start_sim: Any, tmp_path: Path) -> None:
    client_key = asyncssh.generate_private_key("ssh-ed25519")
    other_key = asyncssh.generate_private_key("ssh-ed25519")
    authorized = tmp_path / "authorized_keys"
    authorized.write_text(client_key.export_public_key().decode())
    sim = start_sim(
        [
            "--port",
            "0",
            "--ssh-port",
            "0",
            "--nodes",
            "1",
            "--containers",
            "0",
            "--vms",
            "0",
            "--seed",
            "5",
            "--log-level",
            "WARNING",
            "--ssh-authorized-key",
            str(authorized),
        ]
    )
    host, _, port = sim.ready["ssh"].rpartition(":")
    options = {"username": "root", "known_hosts": None, "password": None}
    async with asyncssh.connect(host, int(port), client_keys=[client_key], **options) as conn:
        result = await conn.run("hostname", check=False)
    assert result.stdout == "pve1\n"
    with pytest.raises(asyncssh.PermissionDenied):
        async with asyncssh.connect(host, int(port), client_keys=[other_key], **options):
            pass
    async with asyncssh.connect(
        host, int(port), client_keys=None, password="proxmox", username="root", known_hosts=None
    ) as conn:
        assert (await conn.run("echo pw", check=False)).stdout == "pw\n"
