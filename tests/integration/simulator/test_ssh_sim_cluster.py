"""Cluster SSH as on a real PVE 8.2+ cluster: every PVE node has its own sshd and host key
at the address `/cluster/status` names, and the bare-name hop between nodes is refused."""

from __future__ import annotations

from typing import Any

import asyncssh
from ssh_sim_support import pct_exec


async def _on(simulator: Any, node: str, command: str) -> asyncssh.SSHCompletedProcess:
    host, _, port = simulator.ready["ssh_nodes"][node]["ssh"].rpartition(":")
    async with asyncssh.connect(
        host,
        int(port),
        username="root",
        password=simulator.root_password,
        known_hosts=None,
        connect_timeout=10,
    ) as conn:
        key = conn.get_server_host_key()
        assert key is not None
        assert key.get_fingerprint("sha256") == simulator.ready["ssh_nodes"][node]["ssh_host_key"]
        return await conn.run(command, check=False, timeout=30)


async def test_every_node_has_its_own_listener_and_host_key(simulator: Any) -> None:
    listeners = simulator.ready["ssh_nodes"]
    assert sorted(listeners) == simulator.nodes == ["pve1", "pve2", "pve3"]
    addresses = [listeners[n]["ssh"] for n in simulator.nodes]
    assert len({a.rpartition(":")[0] for a in addresses}) == 3  # own address each...
    assert {a.rpartition(":")[2] for a in addresses} == {str(simulator.ssh_port)}  # same port
    assert len({listeners[n]["ssh_host_key"] for n in simulator.nodes}) == 3
    # the endpoint-level fields stay those of the first node
    assert listeners["pve1"]["ssh"] == f"{simulator.ssh_host}:{simulator.ssh_port}"
    assert listeners["pve1"]["ssh_host_key"] == simulator.ssh_host_key
    with simulator.client() as api:
        status = api.get("/cluster/status").json()["data"]
    ips = {e["name"]: e["ip"] for e in status if e["type"] == "node"}
    assert ips == {n: listeners[n]["ip"] for n in simulator.nodes}
    for node in simulator.nodes:
        result = await _on(simulator, node, "hostname; cat /etc/hostname")
        assert result.stdout == f"{node}\n{node}\n"


async def test_pct_on_a_node_sees_that_nodes_containers(simulator: Any) -> None:
    vmid = 9311
    with simulator.client() as api:
        if api.get(f"/nodes/pve3/lxc/{vmid}/status/current").status_code != 200:
            assert simulator.create_container(api, "pve3", vmid)["exitstatus"] == "OK"
    here = await _on(simulator, "pve3", f"pct config {vmid} | grep -c hostname")
    assert (here.exit_status, here.stdout) == (0, "1\n")
    elsewhere = await _on(simulator, "pve1", f"pct config {vmid}")
    assert elsewhere.exit_status == 255
    assert f"Configuration file 'nodes/pve1/lxc/{vmid}.conf' does not exist" in elsewhere.stderr


async def test_the_bare_name_hop_is_refused_and_pves_own_form_works(simulator: Any) -> None:
    ip = simulator.ready["ssh_nodes"]["pve2"]["ip"]
    bare = await _on(simulator, "pve1", "ssh -o BatchMode=yes -T pve2 -- hostname")
    assert (bare.exit_status, bare.stdout, bare.stderr) == (
        255,
        "",
        "Host key verification failed.\n",
    )
    by_ip = await _on(simulator, "pve1", f"ssh -o BatchMode=yes root@{ip} hostname")
    assert (by_ip.exit_status, by_ip.stderr) == (255, "Host key verification failed.\n")
    known = await _on(simulator, "pve1", "cat /etc/pve/nodes/pve2/ssh_known_hosts")
    assert known.stdout.startswith("pve2 ssh-ed25519 ")
    pve_form = (
        "ssh -e none -o BatchMode=yes -o HostKeyAlias=pve2 "
        "-o UserKnownHostsFile=/etc/pve/nodes/pve2/ssh_known_hosts "
        f"-o GlobalKnownHostsFile=none root@{ip}"
    )
    hopped = await _on(
        simulator, "pve1", f"{pve_form} -- {pct_exec(999999, 'true')}; {pve_form} hostname"
    )
    assert hopped.stdout == "pve2\n"
    assert "Configuration file 'nodes/pve2/lxc/999999.conf' does not exist" in hopped.stderr
