"""Credentials files read from a container during services discovery are bounded (issue 12
path 10): a file over LXCM_MAX_CREDENTIAL_FILE_BYTES is skipped, and only the first
LXCM_MAX_CREDENTIAL_FILES (by name) are read. Against the simulator, over real SSH."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable

import pytest
from ct_support import USER_A, add_node, sim_input

from lxc_manager.containers import get_services
from lxc_manager.nodes import NodeView, ssh_target_for
from lxc_manager.settings import get_settings
from lxc_manager.ssh import SshPool
from tests.support.simulator import SimulatorInfo

CREDENTIALS = "/etc/lxc-manager/credentials"
PVE = "pve1"  # the simulator's SSH endpoint is this node's host


@pytest.fixture
async def sshlab(simulator: SimulatorInfo, ct_db: object) -> NodeView:
    assert simulator.ssh_port and simulator.ssh_host_key
    data = dataclasses.replace(
        sim_input(simulator, "lab"),
        ssh_port=simulator.ssh_port,
        ssh_secret=simulator.root_password,
        ssh_host_key=simulator.ssh_host_key,
    )
    return await add_node(USER_A, data)


async def test_oversized_and_surplus_credentials_files_are_not_read(
    sshlab: NodeView, own_ct: Callable[..., int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LXCM_MAX_CREDENTIAL_FILES", "3")
    get_settings.cache_clear()
    assert get_settings().max_credential_file_bytes == 64 * 1024  # the default
    vmid = await asyncio.to_thread(own_ct, node=PVE, start=True)
    target = ssh_target_for(USER_A, sshlab.id)
    assert target is not None
    padding = "".join(f"# {'x' * 70}\n" for _ in range(1000))  # about 72 KiB
    files = {
        "alpha": b"ALPHA_TOKEN=a1\n",
        "big": f"BIG_TOKEN=b1\n{padding}".encode(),  # over 64 KiB
        "charlie": b"CHARLIE_TOKEN=c1\n",
        "zulu": b"ZULU_TOKEN=z1\n",  # the 4th by name: over the count
    }
    async with SshPool(command_timeout=30) as pool:
        assert (await pool.pct_exec(target, vmid, ["mkdir", "-p", CREDENTIALS])).ok
        for name, content in files.items():
            await pool.push_file(target, vmid, f"{CREDENTIALS}/{name}", content, mode=0o600)

        found = await get_services(USER_A, sshlab.id, PVE, vmid, refresh=True, pool=pool)

    assert found.available, found
    keys = {key for service in found.services for key, _ in service.credentials}
    assert keys == {"ALPHA_TOKEN", "CHARLIE_TOKEN"}


async def test_files_up_to_the_cap_are_read(
    sshlab: NodeView, own_ct: Callable[..., int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control: the same big file is read once the cap allows it."""
    monkeypatch.setenv("LXCM_MAX_CREDENTIAL_FILE_BYTES", str(128 * 1024))
    get_settings.cache_clear()
    vmid = await asyncio.to_thread(own_ct, node=PVE, start=True)
    target = ssh_target_for(USER_A, sshlab.id)
    assert target is not None
    padding = "".join(f"# {'x' * 70}\n" for _ in range(1000))
    async with SshPool(command_timeout=30) as pool:
        assert (await pool.pct_exec(target, vmid, ["mkdir", "-p", CREDENTIALS])).ok
        await pool.push_file(
            target, vmid, f"{CREDENTIALS}/big", f"BIG_TOKEN=b1\n{padding}".encode(), mode=0o600
        )
        found = await get_services(USER_A, sshlab.id, PVE, vmid, refresh=True, pool=pool)
    assert {k for s in found.services for k, _ in s.credentials} == {"BIG_TOKEN"}
