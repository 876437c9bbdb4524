"""Node secrets at rest: only ciphertext in the database, bound to row and field, and
re-encrypted by key rotation (service and `lxc-manager rotate-key`), while the app keeps
connecting to the simulator with what it decrypts."""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from node_support import USER_A, add_node, sim_input

from lxc_manager.nodes import NodeSecretError, NodeView, client_for, probe_nodes, rotate_keys
from lxc_manager.nodes import service as node_service
from lxc_manager.nodes.secrets import unseal
from lxc_manager.security import audit
from lxc_manager.security.crypto import new_key_entry
from lxc_manager.settings import get_settings
from lxc_manager.ssh import SshPool
from tests.conftest import reset_app_caches
from tests.support.app import REPO
from tests.support.simulator import SimulatorInfo

pytestmark = pytest.mark.usefixtures("nodes_db")


def stored(node_id: int) -> dict[str, Any]:
    engine = sa.create_engine(get_settings().database_url)
    try:
        with engine.connect() as connection:
            result = connection.exec_driver_sql(
                "SELECT token_secret, ssh_secret FROM proxmox_node WHERE id = ?", (node_id,)
            )
            return dict(result.mappings().one())
    finally:
        engine.dispose()


def store(node_id: int, **values: str | None) -> None:
    engine = sa.create_engine(get_settings().database_url)
    try:
        with engine.begin() as connection:
            for column, value in values.items():
                connection.exec_driver_sql(
                    f"UPDATE proxmox_node SET {column} = ? WHERE id = ?", (value, node_id)
                )
    finally:
        engine.dispose()


async def connects(node: NodeView) -> bool:
    async with client_for(USER_A, node.id) as pve:
        await pve.version()
    target = node_service.ssh_target_for(USER_A, node.id)
    if target is not None:
        async with SshPool() as pool:
            assert (await pool.run(target, ["pct", "list"])).ok
    return True


def use_keyring(monkeypatch: pytest.MonkeyPatch, *entries: str) -> None:
    monkeypatch.setenv("LXCM_SECRET_KEY", ",".join(entries))
    reset_app_caches()


async def test_only_ciphertext_reaches_the_disk(simulator: SimulatorInfo, nodes_db: Path) -> None:
    node = await add_node(USER_A, sim_input(simulator, ssh=True))
    raw = stored(node.id)
    assert raw["token_secret"].startswith("v1:") and raw["ssh_secret"].startswith("v1:")
    assert unseal(node.id, "token_secret", raw["token_secret"]) == simulator.token_secret
    assert unseal(node.id, "ssh_secret", raw["ssh_secret"]) == simulator.root_password
    files = [p for p in nodes_db.iterdir() if p.name.startswith("lxc-manager.db")]
    assert files
    for path in files:  # the database, its WAL and shared memory
        content = path.read_bytes()
        assert simulator.token_secret.encode() not in content, path
        assert simulator.root_password.encode() not in content, path
    assert await connects(node)


async def test_a_tampered_ciphertext_does_not_decrypt(simulator: SimulatorInfo) -> None:
    node = await add_node(USER_A, sim_input(simulator))
    token = stored(node.id)["token_secret"]
    prefix, payload = token.rsplit(":", 1)
    raw = bytearray(base64.b64decode(payload))
    raw[-1] ^= 1
    store(node.id, token_secret=f"{prefix}:{base64.b64encode(bytes(raw)).decode()}")

    with pytest.raises(NodeSecretError):
        client_for(USER_A, node.id)
    probe = (await probe_nodes(USER_A, timeout=2))[node.id]
    assert not probe.reachable and probe.error == NodeSecretError.user_message
    kept = sim_input(simulator, token_secret=None)
    result = await node_service.update_node(USER_A, node.id, kept)
    assert not isinstance(result, NodeView)
    assert result.field_errors == {"token_secret": node_service.MSG_STORED_TOKEN_UNREADABLE}
    fixed = await node_service.update_node(USER_A, node.id, sim_input(simulator))
    assert isinstance(fixed, NodeView) and await connects(fixed)  # a new secret repairs it


async def test_a_ciphertext_copied_to_another_row_or_field_does_not_decrypt(
    simulator: SimulatorInfo,
) -> None:
    first = await add_node(USER_A, sim_input(simulator, "first", ssh=True))
    second = await add_node(USER_A, sim_input(simulator, "second", ssh=True))
    store(second.id, token_secret=stored(first.id)["token_secret"])
    with pytest.raises(NodeSecretError):
        client_for(USER_A, second.id)
    store(first.id, ssh_secret=stored(first.id)["token_secret"])
    with pytest.raises(NodeSecretError):
        node_service.ssh_target_for(USER_A, first.id)
    client_for(USER_A, first.id)  # its own token secret still decrypts


async def test_rotation_re_encrypts_everything_with_the_new_key(
    simulator: SimulatorInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = new_key_entry("old"), new_key_entry("new")
    use_keyring(monkeypatch, old)
    nodes = [
        await add_node(USER_A, sim_input(simulator, "with-ssh", ssh=True)),
        await add_node(USER_A, sim_input(simulator, "api-only")),
    ]
    before = {n.id: stored(n.id) for n in nodes}

    use_keyring(monkeypatch, new, old)
    assert rotate_keys() == 3
    for node in nodes:
        values = [v for v in stored(node.id).values() if v is not None]
        assert values and all(v.startswith("v1:new:") for v in values)
        assert all(v not in before[node.id].values() for v in values)
    assert rotate_keys() == 0
    assert [await connects(n) for n in nodes] == [True, True]

    use_keyring(monkeypatch, new)  # the old key is dropped
    assert [await connects(n) for n in nodes] == [True, True]

    use_keyring(monkeypatch, old)  # only the old key: nothing decrypts, nothing changes
    with pytest.raises(NodeSecretError):
        client_for(USER_A, nodes[0].id)
    snapshot = {n.id: stored(n.id) for n in nodes}
    with pytest.raises(NodeSecretError):
        rotate_keys()
    assert {n.id: stored(n.id) for n in nodes} == snapshot


def run_cli(data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LXCM_", "DATABASE_URL", "REDIS_URL"))
    }
    return subprocess.run(
        [sys.executable, "-m", "lxc_manager.cli", "rotate-key"],
        env={**clean, "LXCM_DATA_DIR": str(data_dir), **env},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_cli_rotate_key_with_the_key_file_and_with_the_variable(
    simulator: SimulatorInfo, nodes_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    node = await add_node(USER_A, sim_input(simulator, ssh=True))
    key_file = nodes_db / "secret.key"
    original = key_file.read_text().strip()
    key_file.write_text(f"{new_key_entry('filenew')},{original}\n")

    result = await asyncio.to_thread(run_cli, nodes_db)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "re-encrypted 2 secrets with key filenew"
    assert all(v.startswith("v1:filenew:") for v in stored(node.id).values())
    key_file.write_text(key_file.read_text().split(",")[0] + "\n")  # drop the old key
    assert await connects(node)

    keyring = f"{new_key_entry('envnew')},{key_file.read_text().strip()}"
    result = await asyncio.to_thread(run_cli, nodes_db, LXCM_SECRET_KEY=keyring)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "re-encrypted 2 secrets with key envnew"
    use_keyring(monkeypatch, keyring.split(",")[0])
    assert await connects(node)
    assert [e.detail for e in audit.recent() if e.action == "secrets.rotate"] == [
        "2 re-encrypted",
        "2 re-encrypted",
    ]

    result = await asyncio.to_thread(run_cli, nodes_db, LXCM_SECRET_KEY=new_key_entry("unrelated"))
    assert result.returncode == 1 and "Nothing was changed" in result.stderr
    assert simulator.token_secret not in result.stderr + result.stdout
