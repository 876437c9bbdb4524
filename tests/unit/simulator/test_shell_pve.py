"""`pct` and `ssh NODE` on a PVE host, against a small fake of the cluster model."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from shell_helpers import container, run

from lxc_manager_simulator.shell.base import PeerHost, PveCommandError, Session
from lxc_manager_simulator.shell.commands import pve
from lxc_manager_simulator.shell.world import ContainerWorld, HostWorld


@dataclass
class FakeContainer:
    vmid: int
    node: str
    status: str
    world: ContainerWorld
    config: dict[str, object] = field(default_factory=dict)
    lock: str | None = None
    real: bool = False  # a simulated world, not a real LXC container

    @property
    def name(self) -> str:
        return str(self.config.get("hostname", f"CT{self.vmid}"))


@dataclass
class FakeCluster:
    hosts: dict[str, HostWorld]
    online: dict[str, bool]
    containers: list[FakeContainer]


class FakeAccess:
    real = None  # no real-container backend

    def __init__(self, cluster: FakeCluster, node: str) -> None:
        self.cluster = cluster
        self.node_name = node

    def containers(self) -> list[Any]:
        return [c for c in self.cluster.containers if c.node == self.node_name]

    def find_container(self, vmid: int) -> Any | None:
        return next((c for c in self.containers() if c.vmid == vmid), None)

    def peer(self, host: str) -> PeerHost | None:
        if host not in self.cluster.hosts:
            return None
        return PeerHost(
            host,
            self.cluster.online[host],
            self.cluster.hosts[host],
            FakeAccess(self.cluster, host),
        )

    def start(self, container: Any) -> None:
        if container.status == "running":
            raise PveCommandError(f"CT {container.vmid} already running")
        container.status = "running"
        container.world.on_start()

    def stop(self, container: Any) -> None:
        if container.status != "running":
            raise PveCommandError(f"CT {container.vmid} not running")
        container.status = "stopped"
        container.world.on_stop()

    def update_config(self, container: Any, changes: dict[str, object]) -> None:
        container.config.update(changes)


@pytest.fixture
def cluster() -> FakeCluster:
    hosts = {"pve1": HostWorld("pve1"), "pve2": HostWorld("pve2"), "pve3": HostWorld("pve3")}
    running = container(hostname="web-01")
    stopped = container(hostname="db-01", running=False)
    remote = container(hostname="far-01")
    return FakeCluster(
        hosts,
        {"pve1": True, "pve2": True, "pve3": False},
        [
            FakeContainer(100, "pve1", "running", running, {"hostname": "web-01", "memory": 512}),
            FakeContainer(101, "pve1", "stopped", stopped, {"hostname": "db-01"}, lock="backup"),
            FakeContainer(105, "pve2", "running", remote, {"hostname": "far-01"}),
        ],
    )


async def on_host(cluster: FakeCluster, script: str, *, stdin: bytes = b"", node: str = "pve1"):
    session = Session(sleep_scale=0, pve=FakeAccess(cluster, node))
    return await run(script, cluster.hosts[node], stdin=stdin, session=session)


async def test_pct_list_and_status(cluster: FakeCluster) -> None:
    result = await on_host(cluster, "pct list; pct status 100; pct status 101")
    assert result.out == (
        "VMID       Status     Lock         Name                \n"
        "100        running                 web-01              \n"
        "101        stopped    backup       db-01               \n"
        "status: running\nstatus: stopped\n"
    )


async def test_pct_exec_passes_status_streams_and_stdin(cluster: FakeCluster) -> None:
    result = await on_host(
        cluster, "pct exec 100 -- bash -c 'cat; echo err >&2; exit 7'", stdin=b"input\n"
    )
    assert (result.status, result.out, result.err) == (7, "input\n", "err\n")


async def test_pct_exec_keeps_an_argument_intact(cluster: FakeCluster) -> None:
    result = await on_host(cluster, "pct exec 100 -- printf '%s\\n' 'a \"b\"; $(c) `d`'")
    assert result.out == 'a "b"; $(c) `d`\n'


async def test_pct_exec_errors(cluster: FakeCluster) -> None:
    stopped = await on_host(cluster, "pct exec 101 -- true")
    assert (stopped.status, stopped.err) == (255, "container '101' not running!\n")
    unknown = await on_host(cluster, "pct exec 999 -- true")
    assert (unknown.status, unknown.err) == (
        255,
        "Configuration file 'nodes/pve1/lxc/999.conf' does not exist\n",
    )
    elsewhere = await on_host(cluster, "pct exec 105 -- true")
    assert elsewhere.err == "Configuration file 'nodes/pve1/lxc/105.conf' does not exist\n"
    dashed = await on_host(cluster, "pct exec 100 ls -la")
    assert (dashed.status, dashed.err) == (
        255,
        "Unknown option: la\n400 unable to parse option\n"
        "pct exec <vmid> [<extra-args>] [OPTIONS]\n",
    )
    plain = await on_host(cluster, "pct exec 100 hostname")
    assert (plain.status, plain.out) == (0, "web-01\n")
    missing = await on_host(cluster, "pct exec 100 -- nosuch")
    assert missing.status == 127
    assert 'Failed to exec "nosuch"' in missing.err
    bad = await on_host(cluster, "pct exec abc -- true; pct frob; echo $?")
    assert "vmid: type check ('integer') failed - got 'abc'" in bad.err
    assert "ERROR: unknown command 'pct frob'" in bad.err


async def test_pct_push_and_pull(cluster: FakeCluster) -> None:
    world = cluster.containers[0].world
    await run("useradd app", world)
    result = await on_host(
        cluster,
        "printf 'payload' > /tmp/up && pct push 100 /tmp/up /etc/app.conf --perms 0600 "
        "--user app && rm -f /tmp/up && ls /tmp && pct pull 100 /etc/hostname /root/h && "
        "cat /root/h",
    )
    assert result.status == 0, result.err
    assert result.out == "web-01\n"
    inode = world.vfs.lookup("/etc/app.conf")
    assert bytes(inode.data) == b"payload"
    assert inode.mode == 0o600
    account = world.account("app")
    assert account is not None
    # --user without --group keeps the new file's group (pct.pm create_file)
    assert (inode.uid, inode.gid) == (account.uid, 0)
    errors = await on_host(
        cluster,
        "pct push 100 /nope /x; echo $?; pct push 101 /etc/hostname /x; echo $?; "
        "echo x > /tmp/f; pct push 100 /tmp/f /no/dir/x; echo $?; "
        "pct push 100 /tmp/f /y --user ghost; echo $?",
    )
    assert errors.out == "0\n255\n0\n0\n"  # the worker's errors are only printed
    assert errors.err.splitlines() == [
        "failed to open /nope for reading",
        "can only push files to a running CT",
        "failed to create file: /no/dir/x: No such file or directory",
        "failed to get uid for: ghost",
    ]


async def test_pct_start_stop_config(cluster: FakeCluster) -> None:
    result = await on_host(
        cluster,
        "pct start 101 && pct status 101 && pct start 101; echo $?; "
        "pct stop 101 && pct status 101; pct config 100",
    )
    assert result.out == ("status: running\n255\nstatus: stopped\nhostname: web-01\nmemory: 512\n")
    assert result.err == "CT 101 already running\n"


async def test_pct_set(cluster: FakeCluster) -> None:
    result = await on_host(
        cluster,
        "pct set 101 --features nesting=1,keyctl=yes,fuse=0 --onboot 1 && "
        "pct config 101 | grep -E '^(features|onboot)'",
    )
    assert (result.status, result.out) == (0, "features: nesting=1,keyctl=1,fuse=0\nonboot: 1\n")
    bad = await on_host(
        cluster,
        "pct set 101 --features bogus=1; pct set 101 --cores 2; pct set 101; pct set 999 --onboot 1",
    )
    lines = bad.err.splitlines()
    assert "features.bogus: property is not defined in schema" in lines
    assert "Unknown option: cores" in lines and "400 no options specified" in lines
    assert lines[-1] == "Configuration file 'nodes/pve1/lxc/999.conf' does not exist"
    assert cluster.containers[1].config["features"] == "nesting=1,keyctl=1,fuse=0"


PVE_SSH_PVE2 = (
    "ssh -o BatchMode=yes -o HostKeyAlias=pve2 "
    "-o UserKnownHostsFile=/etc/pve/nodes/pve2/ssh_known_hosts -o GlobalKnownHostsFile=none"
)


async def test_ssh_to_peers(cluster: FakeCluster) -> None:
    pve.install_node_host_keys(
        cluster.hosts, {name: f"ssh-ed25519 KEYOF{name}" for name in cluster.hosts}
    )
    result = await on_host(
        cluster,
        f"{PVE_SSH_PVE2} pve2 -- pct list | tail -n 1; {PVE_SSH_PVE2} root@pve2 hostname; "
        f"{PVE_SSH_PVE2} -oBatchMode=yes pve2 'pct exec 105 -- hostname'",
    )
    assert result.out == ("105        running                 far-01              \npve2\nfar-01\n")
    # a fresh PVE 8.2+ cluster: no merged known_hosts, so the bare name finds no key
    bare = await on_host(cluster, "ssh -o BatchMode=yes pve2 -- pct list; ssh root@pve2 true")
    assert (bare.status, bare.out) == (255, "")
    assert bare.err == "Host key verification failed.\n" * 2
    wrong_alias = await on_host(
        cluster,
        "ssh -o HostKeyAlias=pve3 -o UserKnownHostsFile=/etc/pve/nodes/pve3/ssh_known_hosts "
        "pve2 true",
    )
    assert (wrong_alias.status, wrong_alias.err) == (255, "Host key verification failed.\n")
    offline = await on_host(cluster, "ssh pve3 -- true")
    assert (offline.status, offline.err) == (
        255,
        "ssh: connect to host pve3 port 22: No route to host\n",
    )
    unknown = await on_host(cluster, "ssh pve9 true")
    assert (unknown.status, unknown.err) == (
        255,
        "ssh: Could not resolve hostname pve9: Name or service not known\n",
    )
    stdin = await on_host(cluster, f"{PVE_SSH_PVE2} pve2", stdin=b"hostname\n")
    assert stdin.out == "pve2\n"


async def test_pct_without_cluster_access_fails(host: HostWorld) -> None:
    result = await run("pct list", host)
    assert result.status == 255
    assert "Connection refused" in result.err
