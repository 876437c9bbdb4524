"""The container detail service against the simulator, on containers of our own
(97000 range, created here and destroyed at the end)."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import os
from collections.abc import AsyncGenerator, Iterator

import pytest
from ct_support import USER_A, USER_B, add_node, remove_container, sim_input

from lxc_manager import redis_client
from lxc_manager.containers import (
    DetailUnavailable,
    audit_reveal,
    create_snapshot,
    delete_snapshot,
    follow_log,
    get_history,
    get_metrics,
    get_overview,
    get_services,
    list_snapshots,
    rollback_snapshot,
    tail_log,
)
from lxc_manager.nodes import NodeInput, NodeNotFound, NodeView, ssh_target_for
from lxc_manager.security import audit
from lxc_manager.ssh import LocalSessionLimiter, SshPool, SshTarget
from tests.support.simulator import SimulatorInfo

_VMIDS = itertools.count(97000 + (os.getpid() % 90) * 10)
PVE = "pve1"  # the simulator's SSH endpoint is this node's host


def _new_ct(simulator: SimulatorInfo, start: bool) -> int:
    vmid = next(_VMIDS)
    assert 97000 <= vmid <= 97999
    remove_container(simulator, PVE, vmid)
    with simulator.client() as api:
        status = simulator.create_container(
            api, PVE, vmid, start=int(start), memory=1024, cores=2, tags="web;lab"
        )
        assert status["exitstatus"] == "OK", status
    return vmid


@pytest.fixture(scope="module")
def running_ct(simulator: SimulatorInfo) -> Iterator[int]:
    vmid = _new_ct(simulator, start=True)
    yield vmid
    remove_container(simulator, PVE, vmid)


@pytest.fixture
def stopped_ct(simulator: SimulatorInfo) -> Iterator[int]:
    vmid = _new_ct(simulator, start=False)
    yield vmid
    remove_container(simulator, PVE, vmid)


def _ssh_input(simulator: SimulatorInfo, name: str) -> NodeInput:
    assert simulator.ssh_port and simulator.ssh_host_key
    data: NodeInput = dataclasses.replace(
        sim_input(simulator, name),
        ssh_port=simulator.ssh_port,
        ssh_secret=simulator.root_password,
        ssh_host_key=simulator.ssh_host_key,
    )
    return data


@pytest.fixture
async def sshlab(simulator: SimulatorInfo, ct_db: object) -> NodeView:
    """USER_A's node "lab" on the shared simulator, with SSH."""
    node: NodeView = await add_node(USER_A, _ssh_input(simulator, "lab"))
    return node


@pytest.fixture
async def pool() -> AsyncGenerator[SshPool, None]:
    async with SshPool(command_timeout=30) as shared:
        yield shared


def in_use(pool: SshPool, target: SshTarget) -> int:
    """SSH sessions the pool holds open on the node: 0 once a command's channel closed."""
    assert isinstance(pool.limiter, LocalSessionLimiter)
    return pool.limiter.in_use(target.host, target.port)


def _target(node: NodeView) -> SshTarget:
    target = ssh_target_for(USER_A, node.id)
    assert target is not None
    return target


async def test_overview_metrics_history(
    simulator: SimulatorInfo, sshlab: NodeView, running_ct: int
) -> None:
    vmid = running_ct
    overview = await get_overview(USER_A, sshlab.id, PVE, vmid)
    assert (overview.vmid, overview.status, overview.pve_node) == (vmid, "running", PVE)
    assert overview.name == f"test-{vmid}" and overview.node_name == "lab"
    assert overview.os == "debian" and overview.unprivileged
    assert (overview.cores, overview.memory_mb) == (2, 1024)
    assert overview.rootfs.startswith("local-lvm:")
    assert overview.networks == ("eth0: bridge vmbr0, ip=dhcp",)
    assert set(overview.tags) == {"web", "lab"}
    assert overview.ip is not None and overview.ip.count(".") == 3
    assert not overview.ip.startswith("127.")

    metrics = await get_metrics(USER_A, sshlab.id, PVE, vmid)
    assert metrics.status == "running"
    assert metrics.maxmem == 1024 * 1024 * 1024
    assert 0 <= metrics.mem <= metrics.maxmem and 0 <= metrics.cpu_pct <= 100 * 2

    # a container created moments ago has no RRD yet: no data, not an error
    assert await get_history(USER_A, sshlab.id, PVE, vmid, "hour") == []
    simulator.admin_call("POST", "/_sim/advance", {"seconds": 15})  # pvestatd wrote a sample
    previous_step = 0
    for timeframe in ("hour", "day", "week"):
        points = await get_history(USER_A, sshlab.id, PVE, vmid, timeframe)
        assert len(points) > 10, timeframe
        times = [p.time for p in points]
        assert times == sorted(times) and len(set(times)) == len(times)
        step = times[1] - times[0]
        assert step > previous_step, timeframe  # coarser for longer timeframes
        previous_step = step
        sampled = [p for p in points if p.mem_mb is not None]
        for point in sampled:
            assert point.cpu_pct is not None and 0 <= point.cpu_pct <= 200
            assert 0 <= point.mem_mb <= 1024
            assert point.netin_kbs is not None and point.netin_kbs >= 0
        assert sampled and sampled[-1].mem_mb > 0  # it has been running for the last point
        assert points[0].mem_mb is None  # before it existed: a gap, not a zero
    simulator.reset()  # clock offset back to 0
    with pytest.raises(ValueError, match="timeframe"):
        await get_history(USER_A, sshlab.id, PVE, vmid, "decade")


async def test_overview_of_stopped_container_has_no_ip(sshlab: NodeView, stopped_ct: int) -> None:
    overview = await get_overview(USER_A, sshlab.id, PVE, stopped_ct)
    assert (overview.status, overview.ip, overview.uptime) == ("stopped", None, 0)


async def test_snapshots_create_list_rollback_delete(sshlab: NodeView, stopped_ct: int) -> None:
    vmid = stopped_ct
    assert await list_snapshots(USER_A, sshlab.id, PVE, vmid) == []
    first = await create_snapshot(USER_A, sshlab.id, PVE, vmid, "before_upgrade", "clean state")
    assert first.ok and first.upid and first.task_log[-1] == "TASK OK", first
    second = await create_snapshot(USER_A, sshlab.id, PVE, vmid, "after_upgrade")
    assert second.ok, second

    snapshots = await list_snapshots(USER_A, sshlab.id, PVE, vmid)
    assert [s.name for s in snapshots] == ["before_upgrade", "after_upgrade"]
    assert snapshots[0].description == "clean state" and snapshots[0].parent is None
    assert snapshots[1].parent == "before_upgrade"
    assert all(s.created and s.created > 1_600_000_000 for s in snapshots)

    again = await create_snapshot(USER_A, sshlab.id, PVE, vmid, "after_upgrade")
    assert (again.ok, again.message) == (False, "A snapshot with this name exists")
    for bad_name in ("1bad", "with-dash", "current", "x" * 41):
        bad = await create_snapshot(USER_A, sshlab.id, PVE, vmid, bad_name)
        assert not bad.ok and bad.upid is None and "snapshot name" in bad.message, bad_name

    rolled = await rollback_snapshot(USER_A, sshlab.id, PVE, vmid, "before_upgrade")
    assert rolled.ok, rolled
    for name in ("after_upgrade", "before_upgrade"):
        deleted = await delete_snapshot(USER_A, sshlab.id, PVE, vmid, name)
        assert deleted.ok, (name, deleted)
    assert await list_snapshots(USER_A, sshlab.id, PVE, vmid) == []
    missing = await delete_snapshot(USER_A, sshlab.id, PVE, vmid, "nosuch")
    assert (missing.ok, missing.message) == (False, "The snapshot does not exist")

    events = [e for e in audit.recent(30, user_id=USER_A) if e.target.startswith(f"ct:lab/{vmid}@")]
    assert [(e.action, e.target, e.outcome) for e in reversed(events)] == [
        ("container.snapshot.create", f"ct:lab/{vmid}@before_upgrade", "ok"),
        ("container.snapshot.create", f"ct:lab/{vmid}@after_upgrade", "ok"),
        ("container.snapshot.create", f"ct:lab/{vmid}@after_upgrade", "failed"),
        ("container.snapshot.rollback", f"ct:lab/{vmid}@before_upgrade", "ok"),
        ("container.snapshot.delete", f"ct:lab/{vmid}@after_upgrade", "ok"),
        ("container.snapshot.delete", f"ct:lab/{vmid}@before_upgrade", "ok"),
        ("container.snapshot.delete", f"ct:lab/{vmid}@nosuch", "failed"),
    ]


async def test_services_logs_and_follow(
    simulator: SimulatorInfo, sshlab: NodeView, running_ct: int, pool: SshPool
) -> None:
    vmid, target = running_ct, _target(sshlab)
    installed = await pool.pct_exec(target, vmid, ["apt-get", "install", "-y", "nginx"])
    assert installed.ok, installed.stderr
    made = await pool.pct_exec(target, vmid, ["mkdir", "-p", "/etc/lxc-manager/credentials"])
    assert made.ok
    secret = "s3cr3t-Pa55"
    content = f"# admin login\nADMIN_USER=admin\nADMIN_PASSWORD={secret}\n\nbroken line\n"
    await pool.push_file(
        target, vmid, "/etc/lxc-manager/credentials/nginx", content.encode(), mode=0o600
    )
    await pool.push_file(
        target, vmid, "/etc/lxc-manager/credentials/grafana", b"TOKEN=abc\n", mode=0o600
    )

    overview = await get_overview(USER_A, sshlab.id, PVE, vmid)
    found = await get_services(USER_A, sshlab.id, PVE, vmid, refresh=True)
    assert found.available and found.reason == "", found
    by_unit = {s.unit: s for s in found.services}
    nginx = by_unit["nginx.service"]
    assert (nginx.kind, nginx.active, nginx.sub) == ("application", "active", "running")
    assert 80 in nginx.ports and f"http://{overview.ip}" in nginx.urls
    assert nginx.credentials == (("ADMIN_USER", "admin"), ("ADMIN_PASSWORD", secret))
    grafana = by_unit["grafana.service"]
    assert (grafana.active, grafana.credentials, grafana.ports) == (
        "inactive",
        (("TOKEN", "abc"),),
        (),
    )
    system = [s for s in found.services if s.kind == "system"]
    assert system and all(s.unit != "nginx.service" for s in system)
    assert found.services[0].kind == "application"

    # cached, values sealed in Redis
    raw = await redis_client.async_client().get(f"services:{USER_A}:{sshlab.cluster_key}:{vmid}")
    assert raw is not None and secret.encode() not in raw and b"ADMIN_PASSWORD" in raw
    assert await get_services(USER_A, sshlab.id, PVE, vmid) == found

    await asyncio.to_thread(audit_reveal, USER_A, sshlab.id, vmid, "nginx", "ADMIN_PASSWORD")
    event = audit.recent(1, user_id=USER_A)[0]
    assert (event.action, event.target) == ("container.credential.reveal", f"ct:lab/{vmid}")
    assert secret not in event.detail

    lines = await tail_log(USER_A, sshlab.id, PVE, vmid, "nginx.service", 5)
    assert 0 < len(lines) <= 5 and all("nginx" in line for line in lines)
    assert await tail_log(USER_A, sshlab.id, PVE, vmid, "nosuchunit") == []

    # follow: new lines arrive; aclose ends the remote command (the session slot is free)
    stream = follow_log(USER_A, sshlab.id, PVE, vmid, "nginx", pool=pool)
    pending = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0.5)  # journalctl -f is waiting now
    assert in_use(pool, target) == 1
    restarted = await pool.pct_exec(target, vmid, ["systemctl", "restart", "nginx"])
    assert restarted.ok
    first = await asyncio.wait_for(pending, 10)
    assert "nginx" in first
    await stream.aclose()
    assert in_use(pool, target) == 0

    # cancelling the consuming task closes it too
    async def consume() -> None:
        async for _ in follow_log(USER_A, sshlab.id, PVE, vmid, "nginx", pool=pool):
            pass

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.5)
    assert in_use(pool, target) == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert in_use(pool, target) == 0


async def test_without_ssh_services_and_logs_are_unavailable(
    simulator: SimulatorInfo, ct_db: object, running_ct: int
) -> None:
    plain = await add_node(USER_A, sim_input(simulator, "plain"))
    services = await get_services(USER_A, plain.id, PVE, running_ct)
    assert not services.available and "SSH" in services.reason and services.services == ()
    with pytest.raises(DetailUnavailable) as caught:
        await tail_log(USER_A, plain.id, PVE, running_ct, "nginx")
    assert "SSH" in caught.value.user_message
    overview = await get_overview(USER_A, plain.id, PVE, running_ct)
    if simulator.has_interfaces_route:
        assert overview.ip is not None  # from the API's /interfaces
    else:  # PVE 8.0 has no /interfaces (501) and without SSH there is no `ip -j addr`
        assert overview.ip is None and overview.status == "running"


async def test_stopped_container_services_unavailable(sshlab: NodeView, stopped_ct: int) -> None:
    services = await get_services(USER_A, sshlab.id, PVE, stopped_ct, refresh=True)
    assert (services.available, services.reason) == (False, "The container is not running")
    with pytest.raises(DetailUnavailable):
        await tail_log(USER_A, sshlab.id, PVE, stopped_ct, "nginx")


async def test_another_users_node_is_not_found(sshlab: NodeView, running_ct: int) -> None:
    vmid, node_id = running_ct, sshlab.id
    for call in (
        get_overview(USER_B, node_id, PVE, vmid),
        get_metrics(USER_B, node_id, PVE, vmid),
        get_history(USER_B, node_id, PVE, vmid),
        list_snapshots(USER_B, node_id, PVE, vmid),
        create_snapshot(USER_B, node_id, PVE, vmid, "snap1"),
        get_services(USER_B, node_id, PVE, vmid),
        tail_log(USER_B, node_id, PVE, vmid, "nginx"),
    ):
        with pytest.raises(NodeNotFound):
            await call
    with pytest.raises(NodeNotFound):
        await anext(follow_log(USER_B, node_id, PVE, vmid, "nginx"))
    with pytest.raises(NodeNotFound):
        audit_reveal(USER_B, node_id, vmid, "nginx", "KEY")


async def test_bad_input_is_refused(sshlab: NodeView) -> None:
    with pytest.raises(ValueError, match="container id"):
        await get_overview(USER_A, sshlab.id, PVE, 5)
    with pytest.raises(ValueError, match="node name"):
        await get_metrics(USER_A, sshlab.id, "../x", 100)
    with pytest.raises(ValueError, match="service name"):
        await tail_log(USER_A, sshlab.id, PVE, 100, "nginx; rm -rf /")
    with pytest.raises(ValueError, match="service name"):
        follow_log(USER_A, sshlab.id, PVE, 100, "-f")
