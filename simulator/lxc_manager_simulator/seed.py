"""Builds believable, reproducible clusters from the command-line configuration."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field

from . import backups, ha
from .model import (
    GIB,
    MIN_VMID,
    AclEntry,
    ApiToken,
    Cluster,
    Faults,
    PveNode,
    Simulation,
    Storage,
    Template,
    User,
    Vm,
    Vnet,
    host_world,
)
from .versions import NEWEST, VERSIONS

CLUSTER_NAMES = ["homelab", "lab", "office", "prod", "staging", "edge", "dc1", "dc2"]
ROLES_OF_HOSTS = [
    "web",
    "db",
    "cache",
    "proxy",
    "mail",
    "dns",
    "git",
    "ci",
    "monitor",
    "grafana",
    "vault",
    "backup",
    "files",
    "media",
    "wiki",
    "chat",
    "auth",
    "logs",
    "queue",
    "search",
    "api",
    "worker",
    "build",
    "vpn",
    "home",
]
VM_NAMES = ["win-desktop", "truenas", "opnsense", "k3s-master", "docker-host", "pbs"]
TEMPLATES = [
    ("debian-12-standard_12.7-1_amd64.tar.zst", 126_859_816),
    ("ubuntu-24.04-standard_24.04-2_amd64.tar.zst", 141_549_235),
    ("alpine-3.20-default_20240908_amd64.tar.xz", 3_092_436),
]
OSTYPE_OF_TEMPLATE = {"debian": "debian", "ubuntu": "ubuntu", "alpine": "alpine"}


@dataclass
class TokenSpec:
    userid: str
    tokenid: str
    secret: str
    privsep: bool
    role: str = "PVEAuditor"  # privsep token's ROLE[@PATH] (default /), several joined by "+"


@dataclass
class SimConfig:
    nodes: int = 3
    containers: int = 20
    vms: int = 3
    seed: int = 0
    endpoints: int = 1
    task_seconds: float = 2.0
    users: dict[str, str] = field(default_factory=lambda: {"root@pam": "proxmox"})
    tokens: list[TokenSpec] = field(default_factory=list)
    totp: dict[str, str] = field(default_factory=dict)
    recovery: dict[str, list[str]] = field(default_factory=dict)
    # user -> second factors only announced in the challenge: "webauthn", "u2f", "yubico"
    other_factors: dict[str, list[str]] = field(default_factory=dict)
    auditors: list[str] = field(default_factory=list)
    faults: Faults = field(default_factory=Faults)
    pve_version: str = NEWEST.release  # a key of versions.VERSIONS


def recovery_keys_for(secret: str, count: int = 4) -> list[str]:
    """The recovery keys a `--totp` secret implies: deterministic, so tests can use them."""
    keys = []
    for i in range(count):
        digest = hashlib.sha256(f"{secret}:recovery:{i}".encode()).hexdigest()
        keys.append("-".join(digest[j : j + 4] for j in range(0, 16, 4)))
    return keys


def build_simulation(config: SimConfig) -> Simulation:
    return Simulation([build_cluster(config, index) for index in range(config.endpoints)])


def build_cluster(config: SimConfig, index: int) -> Cluster:
    rng = random.Random(f"{config.seed}:{index}")
    name = CLUSTER_NAMES[index % len(CLUSTER_NAMES)]
    if index >= len(CLUSTER_NAMES):
        name = f"{name}{index // len(CLUSTER_NAMES) + 1}"
    cluster = Cluster(
        index=index,
        name=name,
        seed=config.seed,
        task_seconds=config.task_seconds,
        default_faults=config.faults,
    )
    cluster.pve = VERSIONS[config.pve_version]
    _add_nodes(cluster, config.nodes, rng)
    _add_storage(cluster, rng)
    _add_access(cluster, config)
    cluster.vnets = {"vnet1": Vnet("vnet1", zone="lab", alias="Lab network")}
    _add_guests(cluster, config, rng)
    ha.seed(cluster)
    backups.seed(cluster, random.Random(f"{config.seed}:{index}:backups"))
    cluster.generation = 0
    return cluster


def subnet_of(cluster: Cluster) -> str:
    return f"10.{10 + cluster.index % 200}"


def _add_nodes(cluster: Cluster, count: int, rng: random.Random) -> None:
    now = cluster.clock.now()
    for i in range(1, max(1, count) + 1):
        name = f"pve{i}"
        cluster.nodes[name] = PveNode(
            name=name,
            nodeid=i,
            ip=f"{subnet_of(cluster)}.0.{10 + i}",
            world=host_world(name),
            maxcpu=rng.choice([4, 8, 12, 16]),
            maxmem=rng.choice([16, 32, 64]) * GIB,
            rootfs_total=rng.choice([94, 100, 196]) * GIB,
            booted_at=now - rng.randrange(3 * 86400, 60 * 86400),
        )


def _add_storage(cluster: Cluster, rng: random.Random) -> None:
    cluster.storages = [
        Storage("local", "dir", ("vztmpl", "iso", "backup"), 100 * GIB),
        Storage("local-lvm", "lvmthin", ("rootdir", "images"), 800 * GIB),
        # a NAS share every node mounts: backups, and disks that may move between nodes
        Storage("nas", "nfs", ("backup", "rootdir", "images"), 512 * GIB, shared=True),
    ]
    ctime = int(cluster.clock.now()) - 90 * 86400
    cluster.templates = [
        Template(f"local:vztmpl/{name}", size, ctime + rng.randrange(0, 30 * 86400))
        for name, size in TEMPLATES
    ]


def _add_access(cluster: Cluster, config: SimConfig) -> None:
    users = {"root@pam": "proxmox", **config.users}
    for userid, password in users.items():
        cluster.users[userid] = User(userid=userid, password=password)
        role = "PVEAuditor" if userid in config.auditors else "Administrator"
        cluster.acl.append(AclEntry(path="/", ugid=userid, role=role))
    for userid, secret in config.totp.items():
        user = cluster.users[userid]
        user.totp_secret = secret
        user.recovery_keys = recovery_keys_for(secret)
    for userid, keys in config.recovery.items():
        cluster.users[userid].recovery_keys += keys
    for userid, factors in config.other_factors.items():
        cluster.users[userid].other_factors = tuple(factors)
    for spec in config.tokens:
        token = ApiToken(spec.userid, spec.tokenid, spec.secret, spec.privsep)
        cluster.tokens[token.full_id] = token
        if spec.privsep:
            for item in spec.role.split("+"):
                role, _, path = item.partition("@")
                cluster.acl.append(AclEntry(path=path or "/", ugid=token.full_id, role=role))


def _add_guests(cluster: Cluster, config: SimConfig, rng: random.Random) -> None:
    kinds = ["ct"] * config.containers + ["vm"] * config.vms
    rng.shuffle(kinds)
    node_names = list(cluster.nodes)
    counters: dict[str, int] = {}
    for offset, kind in enumerate(kinds):
        vmid = MIN_VMID + offset
        node = (
            node_names[offset % len(node_names)]
            if offset < len(node_names)
            else rng.choice(node_names)
        )
        if kind == "vm":
            _add_vm(cluster, vmid, node, rng)
        else:
            _add_seeded_container(cluster, vmid, node, offset, counters, rng)


def _add_vm(cluster: Cluster, vmid: int, node: str, rng: random.Random) -> None:
    name = VM_NAMES[len(cluster.vms) % len(VM_NAMES)]
    running = rng.random() < 0.6
    now = cluster.clock.now()
    cluster.vms[vmid] = Vm(
        vmid=vmid,
        node=node,
        name=name,
        status="running" if running else "stopped",
        cores=rng.choice([2, 4]),
        memory_mib=rng.choice([2048, 4096, 8192]),
        disk_gib=rng.choice([32, 64]),
        started_at=now - rng.randrange(600, 20 * 86400) if running else 0.0,
    )


def _add_seeded_container(
    cluster: Cluster,
    vmid: int,
    node: str,
    offset: int,
    counters: dict[str, int],
    rng: random.Random,
) -> None:
    role = ROLES_OF_HOSTS[(offset * 7 + rng.randrange(3)) % len(ROLES_OF_HOSTS)]
    counters[role] = counters.get(role, 0) + 1
    hostname = f"{role}-{counters[role]:02d}"
    template = rng.choices(cluster.templates, weights=[5, 3, 2])[0]
    config = container_config(cluster, vmid, hostname, template.volid, offset, rng)
    running = rng.random() < 0.7
    ct = cluster.add_container(
        vmid=vmid,
        node=node,
        config=config,
        ostemplate=template.volid,
        status="running" if running else "stopped",
    )
    if running:
        ct.started_at = cluster.clock.now() - rng.randrange(300, 30 * 86400)


def mac_address(rng: random.Random) -> str:
    return "BC:24:11:" + ":".join(f"{rng.randrange(256):02X}" for _ in range(3))


def container_config(
    cluster: Cluster, vmid: int, hostname: str, ostemplate: str, offset: int, rng: random.Random
) -> dict[str, object]:
    subnet = subnet_of(cluster)
    if rng.random() < 0.5:
        ip = "ip=dhcp"
    else:
        ip = f"gw={subnet}.0.1,ip={subnet}.{1 + offset // 250}.{offset % 250 + 2}/16"
    base = ostemplate.rsplit("/", 1)[-1].split("-", 1)[0]
    memory = rng.choice([512, 1024, 2048, 4096])
    return {
        "arch": "amd64",
        "cores": rng.choice([1, 2, 2, 4]),
        "features": "nesting=1",
        "hostname": hostname,
        "memory": memory,
        "net0": f"name=eth0,bridge=vmbr0,firewall=1,hwaddr={mac_address(rng)},{ip},type=veth",
        "onboot": rng.choice([0, 1]),
        "ostype": OSTYPE_OF_TEMPLATE.get(base, "debian"),
        "rootfs": f"local-lvm:vm-{vmid}-disk-0,size={rng.choice([4, 8, 8, 16, 32])}G",
        "swap": 512,
        "unprivileged": 1,
    }
