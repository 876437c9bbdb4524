"""The acceptance run of cluster SSH: a three-node cluster reached with the SSH credentials
of one endpoint; one container provisioned on each PVE node through the whole pipeline
(files, packages, scripts), and the detail page's services and logs for each. The app
connects to the member that holds the container at its `/cluster/status` address (the
simulator, like a fresh PVE 8.2+ cluster, refuses the bare-name hop between its nodes)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from prov_support import USER_A, apt, file, in_ct, make_request, run_burst_worker, script

from lxc_manager.containers import follow_log, get_services, tail_log
from lxc_manager.nodes import NodeView
from lxc_manager.provisioning import jobs
from tests.support.simulator import SimulatorInfo

PVE_NODES = ("pve1", "pve2", "pve3")
SETUP = """\
set -e
echo "set up on $(hostname)" > /root/setup-done
systemctl is-active nginx
"""


async def _first_line(user_id: str, node_id: int, pve_node: str, vmid: int, unit: str) -> str:
    lines = follow_log(user_id, node_id, pve_node, vmid, unit, lines=3)
    try:
        return await asyncio.wait_for(anext(lines), 20)
    finally:
        await lines.aclose()


async def test_one_container_on_each_node_is_provisioned_and_its_detail_works(
    simulator: SimulatorInfo, sshnode: NodeView, new_vmid: Callable[[], int]
) -> None:
    placed: dict[str, int] = {}
    job_ids: dict[str, str] = {}
    for pve_node in PVE_NODES:
        vmid = new_vmid()
        placed[pve_node] = vmid
        req = make_request(
            sshnode,
            vmid,
            pve_node=pve_node,
            files=(file("motd", "/etc/motd", f"hello from {pve_node}\n"),),
            packages=(apt("nginx"),),
            scripts=(script("10-setup.sh", SETUP),),
        )
        submitted = await jobs.submit(USER_A, req)
        assert submitted.job_id, submitted.errors
        job_ids[pve_node] = submitted.job_id
    await asyncio.to_thread(run_burst_worker, 240)

    for pve_node, vmid in placed.items():
        done = await jobs.get_job(USER_A, job_ids[pve_node])
        assert done is not None and (done.status, done.error) == ("succeeded", ""), done
        assert [s.state for s in done.steps] == ["ok"] * 8
        with simulator.client() as api:
            status = api.get(f"/nodes/{pve_node}/lxc/{vmid}/status/current")
        assert status.status_code == 200 and status.json()["data"]["status"] == "running"
        assert await in_ct(sshnode, pve_node, vmid, ["cat", "/etc/motd"]) == (
            0,
            f"hello from {pve_node}\n",
        )
        assert await in_ct(sshnode, pve_node, vmid, ["cat", "/root/setup-done"]) == (
            0,
            f"set up on prov-{vmid}\n",
        )
        assert (await in_ct(sshnode, pve_node, vmid, ["dpkg", "-s", "nginx"]))[0] == 0

        # the detail page's services and logs, for a container on every node
        services = await get_services(USER_A, sshnode.id, pve_node, vmid, refresh=True)
        assert services.available, services.reason
        nginx = next(s for s in services.services if s.unit == "nginx.service")
        assert nginx.active == "active" and 80 in nginx.ports
        logged = await tail_log(USER_A, sshnode.id, pve_node, vmid, "nginx.service", 20)
        assert logged and any("nginx" in line for line in logged), logged
        assert await _first_line(USER_A, sshnode.id, pve_node, vmid, "nginx.service")
