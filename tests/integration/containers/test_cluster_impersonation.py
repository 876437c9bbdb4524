"""Issue 12, path 2: a server that claims another user's cluster reads and plants nothing.

A cluster key is built from what a remote server answers (cluster name, PVE node names),
and anyone can run a server claiming any of them. Here the attacker (USER_B) adds a node
pointing at a second simulator started with the victim's `--seed` and node count: it
reports the victim's cluster name and node names, so both nodes get the same cluster key.
With caches and locks keyed by that key alone, the attacker read the victim's cached
services with their credentials, saw the victim's guest names in the VMID check, and
planted fake services and VMIDs the victim then saw, or blocked the victim's actions.
Everything here is real: Redis, SQLite, both simulators over HTTPS and SSH.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from ct_support import SIM_TOKEN_ID, USER_A, USER_B, add_node, host_port, sim_container, sim_input

from lxc_manager.containers import get_overview, get_services, known, list_containers, run_action
from lxc_manager.nodes import NodeInput, NodeView, ssh_target_for
from lxc_manager.provisioning import vmids
from lxc_manager.provisioning.semaphore import SemaphoreTimeout, node_limiter
from lxc_manager.ssh import SshPool, SshTarget
from tests.support.simulator import SimProcess, SimulatorInfo

PVE = "pve1"
CREDENTIALS = "/etc/lxc-manager/credentials"
FAKE_ONLY_VMID = 96000 + (os.getpid() % 90) * 10  # a guest only the fake server has
FAKE_TASK_SECONDS = 1.5  # the attacker's actions take this long (holding their lock)


@dataclasses.dataclass
class FakeServer:
    """The attacker's simulator: same seed and node count as the shared one."""

    process: SimProcess
    token_secret: str
    root_password: str

    @property
    def ready(self) -> dict[str, Any]:
        return self.process.ready

    def api(self) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.ready['api']}/api2/json",
            verify=False,
            timeout=10,
            headers={"Authorization": f"PVEAPIToken={SIM_TOKEN_ID}={self.token_secret}"},
        )

    def node_input(self, name: str) -> NodeInput:
        host, port = host_port(self.ready["api"])
        return NodeInput(
            name=name,
            host=host,
            port=port,
            token_id=SIM_TOKEN_ID,
            token_secret=self.token_secret,
            tls_fingerprint=self.ready["tls_sha256"],
            ssh_port=int(self.ready["ssh"].rpartition(":")[2]),
            ssh_secret=self.root_password,
            ssh_host_key=self.ready["ssh_host_key"],
        )


@pytest.fixture
def fake_server(start_sim: Callable[[list[str]], SimProcess]) -> Iterator[FakeServer]:
    token_secret, root_password = str(uuid.uuid4()), "pw-" + uuid.uuid4().hex[:8]
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
        "0",
        "--task-seconds",
        str(FAKE_TASK_SECONDS),
        "--log-level",
        "WARNING",
        "--user",
        f"root@pam:{root_password}",
        "--token",
        f"{SIM_TOKEN_ID}:{token_secret}",
    ]  # fmt: skip  (the shared simulator's seed and node count: tests/support/simulator.py)
    yield FakeServer(start_sim(args), token_secret, root_password)


def _victim_input(simulator: SimulatorInfo) -> NodeInput:
    assert simulator.ssh_port and simulator.ssh_host_key
    return sim_input(
        simulator,
        "lab",
        ssh_port=simulator.ssh_port,
        ssh_secret=simulator.root_password,
        ssh_host_key=simulator.ssh_host_key,
    )


def _create(
    simulator: SimulatorInfo, api: httpx.Client, vmid: int, hostname: str, start: bool
) -> None:
    """A container on the server `api` talks to (the simulator only lends `wait_task`)."""
    status = simulator.create_container(api, PVE, vmid, hostname=hostname, start=int(start))
    assert status["exitstatus"] == "OK", status
    current = api.get(f"/nodes/{PVE}/lxc/{vmid}/status/current").json()["data"]
    if start and current["status"] != "running":
        started = api.post(f"/nodes/{PVE}/lxc/{vmid}/status/start")
        simulator.wait_task(api, started.json()["data"])


def _target(user_id: str, node: NodeView) -> SshTarget:
    target = ssh_target_for(user_id, node.id)
    assert target is not None
    return target


async def _write_credentials(target: SshTarget, vmid: int, content: str) -> None:
    async with SshPool(command_timeout=30) as pool:
        made = await pool.pct_exec(target, vmid, ["mkdir", "-p", CREDENTIALS])
        assert made.ok, made.stderr
        await pool.push_file(target, vmid, f"{CREDENTIALS}/app", content.encode(), mode=0o600)


def _values(services: Any) -> set[str]:
    return {value for service in services.services for _key, value in service.credentials}


async def test_a_server_claiming_the_victims_cluster_reads_and_plants_nothing(
    simulator: SimulatorInfo,
    ct_db: object,
    own_ct: Callable[..., int],
    fake_server: FakeServer,
) -> None:
    victim = await add_node(USER_A, _victim_input(simulator))
    attacker = await add_node(USER_B, fake_server.node_input("mine"))
    # the attack's premise: the fake server passes for the victim's cluster
    assert attacker.cluster_name == victim.cluster_name and attacker.pve_nodes == victim.pve_nodes
    assert attacker.cluster_key == victim.cluster_key
    cluster = victim.cluster_key

    shared = await asyncio.to_thread(
        own_ct, node=PVE, start=True
    )  # the victim's real container ...
    secret_ct = await asyncio.to_thread(
        own_ct, node=PVE, start=True
    )  # ... and one only the victim has
    assert sim_container(simulator, FAKE_ONLY_VMID) is None
    with simulator.client() as api:
        renamed = api.put(f"/nodes/{PVE}/lxc/{secret_ct}/config", data={"hostname": "payroll-db"})
        assert renamed.status_code == 200, renamed.text
    with fake_server.api() as fake_api:  # ... the fake server's twins and its own guest
        _create(simulator, fake_api, shared, "twin", start=True)
        _create(simulator, fake_api, FAKE_ONLY_VMID, "planted-guest", start=False)

    victim_secret, planted = f"victim-{uuid.uuid4().hex}", f"planted-{uuid.uuid4().hex}"
    await _write_credentials(_target(USER_A, victim), shared, f"APP_PASSWORD={victim_secret}\n")
    await _write_credentials(_target(USER_B, attacker), shared, f"APP_PASSWORD={planted}\n")

    # The victim looks at their container: services and credentials are cached.
    mine = await get_services(USER_A, victim.id, PVE, shared, refresh=True)
    assert mine.available and victim_secret in _values(mine), mine

    # 1. The attacker asks for "the same" container: they get their own server's answer,
    #    never the victim's cached credentials.
    theirs = await get_services(USER_B, attacker.id, PVE, shared)
    assert victim_secret not in repr(theirs), "the victim's cached credentials leaked"
    assert planted in _values(theirs)

    # 2. The attacker's read (refreshed, so cached) is never served to the victim.
    await get_services(USER_B, attacker.id, PVE, shared, refresh=True)
    again = await get_services(USER_A, victim.id, PVE, shared)
    assert victim_secret in _values(again) and planted not in repr(again)

    # 3. VMIDs: the victim's check caches the victim's guests (names included) ...
    taken = await vmids.check_vmid(USER_A, victim.id, str(secret_ct))
    assert taken.message == f"VMID {secret_ct} is taken (container payroll-db on {PVE})"
    #    ... which the attacker's check never reads: it asks the attacker's own server.
    probe = await vmids.check_vmid(USER_B, attacker.id, str(secret_ct))
    assert probe == vmids.VmidCheck("free", f"VMID {secret_ct} is free")
    #    The attacker's refresh (the wizard opening) plants nothing in the victim's cache.
    await vmids.refresh_cache(USER_B, attacker.id)
    assert await vmids.check_vmid(USER_A, victim.id, str(FAKE_ONLY_VMID)) == vmids.VmidCheck(
        "free", f"VMID {FAKE_ONLY_VMID} is free"
    )
    assert (await vmids.check_vmid(USER_A, victim.id, str(secret_ct))).status == "taken"
    #    A hold the attacker's submit takes is theirs alone.
    assert await vmids.reserve(USER_B, cluster, FAKE_ONLY_VMID + 1, "attacker-job", 30)
    try:
        free = await vmids.check_vmid(USER_A, victim.id, str(FAKE_ONLY_VMID + 1))
        assert free == vmids.VmidCheck("free", f"VMID {FAKE_ONLY_VMID + 1} is free")
    finally:
        await vmids.release(USER_B, cluster, FAKE_ONLY_VMID + 1, "attacker-job")

    # 4. Addresses and last-known containers stay the victim's.
    overview = await get_overview(USER_A, victim.id, PVE, secret_ct)
    assert overview.ip is not None
    recalled = await known.recall(USER_B, [cluster])
    assert secret_ct not in recalled.ips.get(cluster, {})
    listing = await list_containers(USER_B, learn_ips=False)
    assert {row.name for row in listing.containers}.isdisjoint({"payroll-db"})
    assert all(row.node_id == attacker.id for row in listing.containers)

    # 5. Locks: a slow action of the attacker on "the same" container does not make the
    #    victim's action busy.
    slow = asyncio.create_task(run_action(USER_B, attacker.id, PVE, shared, "stop"))
    await asyncio.sleep(FAKE_TASK_SECONDS / 3)
    assert not slow.done()
    stopped = await run_action(USER_A, victim.id, PVE, shared, "stop")
    assert stopped.ok, stopped
    assert (await slow).ok

    # 6. SSH slots of provisioning: the attacker's jobs holding every slot of "the same"
    #    PVE node never starve the victim's.
    theirs_limiter = node_limiter(USER_B, cluster, PVE, limit=1)
    mine_limiter = node_limiter(USER_A, cluster, PVE, limit=1)
    async with theirs_limiter.semaphore("any", 22).hold():
        with pytest.raises(SemaphoreTimeout):  # the attacker's own slots are full ...
            await theirs_limiter.semaphore("any", 22).acquire(timeout=0.3)
        semaphore = mine_limiter.semaphore("any", 22)
        token = await semaphore.acquire(timeout=2)  # ... the victim's are not
        await semaphore.release(token)
