"""Helpers of the provisioning integration tests (fixtures are in conftest.py)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from lxc_manager.nodes import NodeInput, NodeView, client_for, ssh_target_on
from lxc_manager.provisioning import progress
from lxc_manager.provisioning.request import CreateRequest
from lxc_manager.ssh import SshPool
from lxc_manager.templates.spec import Features, FileSpec, PackageSpec, ScriptSpec
from tests.support.nodes import add_node as add_node
from tests.support.nodes import node_input
from tests.support.simulator import SimulatorInfo
from tests.support.worker import run_burst_worker as run_burst_worker
from tests.support.worker import worker_command as worker_command

REPO = Path(__file__).resolve().parents[3]
USER_A = "root@pam@1"
USER_B = "alice@pve@1"
DEBIAN = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"


def sim_input(simulator: SimulatorInfo, name: str, *, ssh: bool) -> NodeInput:
    return node_input(simulator, name, ssh=ssh)


def make_request(node: NodeView, vmid: int, **changes: Any) -> CreateRequest:
    req = CreateRequest(
        node_id=node.id,
        pve_node="pve1",
        vmid=vmid,
        hostname=f"prov-{vmid}",
        os_template=DEBIAN,
        storage="local-lvm",
        disk_gb=4,
        cores=1,
        memory_mb=512,
        swap_mb=256,
        bridge="vmbr0",
        ipv4="dhcp",
        gateway="",
        nameserver="",
        searchdomain="",
        ssh_public_keys="",
        features=Features(),
        tags=("prov-test",),
        onboot=False,
        template_id=None,
        template_name="",
        scripts=(),
        files=(),
        packages=(),
    )
    return dataclasses.replace(req, **changes)


def script(name: str, content: str, enabled: bool = True) -> ScriptSpec:
    return ScriptSpec(name=name, content=content, enabled=enabled)


def apt(name: str) -> PackageSpec:
    return PackageSpec(manager="apt", name=name)


def pip(name: str) -> PackageSpec:
    return PackageSpec(manager="pip", name=name)


def file(
    name: str, path: str, content: str, policy: str = "replace", mode: str = "0644"
) -> FileSpec:
    return FileSpec(name=name, target_path=path, content=content, policy=policy, mode=mode)  # type: ignore[arg-type]


async def stream_of(job_id: str) -> list[progress.ProgressEntry]:
    return await progress.read(job_id, count=5000)


async def in_ct(node: NodeView, pve_node: str, vmid: int, argv: list[str]) -> tuple[int, str]:
    """Run a command in a container of the cluster over SSH to its PVE node (the member
    itself, with the node's credentials)."""
    async with client_for(USER_A, node.id) as client:
        target = await ssh_target_on(USER_A, node.id, pve_node, client)
    assert target is not None
    async with SshPool() as pool:
        result = await pool.pct_exec(target, vmid, argv, timeout=20)
    return result.exit_status, result.stdout
