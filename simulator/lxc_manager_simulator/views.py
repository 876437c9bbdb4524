"""How model objects look in API answers (field names and 0/1 booleans as in PVE 8)."""

from __future__ import annotations

from typing import Any

from . import ha
from .model import (
    GIB,
    Cluster,
    Container,
    GuestStats,
    PveNode,
    Storage,
    Vm,
    Vnet,
    noise,
)
from .versions import PRESSURE_FIELDS


def _stats_fields(stats: GuestStats) -> dict[str, Any]:
    return {
        "cpu": stats.cpu,
        "mem": stats.mem,
        "disk": stats.disk,
        "uptime": stats.uptime,
        "netin": stats.netin,
        "netout": stats.netout,
        "diskread": stats.diskread,
        "diskwrite": stats.diskwrite,
    }


def _optional_fields(ct: Container) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if ct.lock:
        extra["lock"] = ct.lock
    if ct.config.get("tags"):
        extra["tags"] = str(ct.config["tags"])
    return extra


def container_summary(cluster: Cluster, ct: Container, now: float) -> dict[str, Any]:
    """An entry of `GET /nodes/{node}/lxc` (also the base of status/current)."""
    stats = ct.stats(now)
    entry: dict[str, Any] = {
        "vmid": ct.vmid,
        "name": ct.name,
        "status": ct.status,
        "type": "lxc",
        "cpus": ct.cpus,
        "maxmem": ct.maxmem,
        "maxswap": ct.maxswap,
        "maxdisk": ct.maxdisk,
        "swap": 0,
        **_stats_fields(stats),
        **_optional_fields(ct),
    }
    if ct.status == "running":
        entry["pid"] = 10_000 + ct.vmid % 50_000 * 7
        if cluster.pve.has_pressure_fields:
            entry.update(_pressure_fields(ct.vmid, now))
    if ct.config.get("template"):
        entry["template"] = 1
    return entry


def _pressure_fields(vmid: int, now: float) -> dict[str, float]:
    """PSI averages of a running container (PVE 9+: pve-container src/PVE/LXC.pm `vmstatus`)."""
    second = int(now)
    return {
        name: round(2.0 * noise(vmid, second, 10 + i), 2) for i, name in enumerate(PRESSURE_FIELDS)
    }


def container_status(cluster: Cluster, ct: Container, now: float) -> dict[str, Any]:
    entry = container_summary(cluster, ct, now)
    entry["ha"] = ha.service_status(cluster, ct.vmid)
    return entry


def vm_summary(vm: Vm, now: float) -> dict[str, Any]:
    stats = vm.stats(now)
    entry: dict[str, Any] = {
        "vmid": vm.vmid,
        "name": vm.name,
        "status": vm.status,
        "cpus": vm.cores,
        "maxmem": vm.memory_mib * 1024 * 1024,
        "maxdisk": vm.disk_gib * GIB,
        **_stats_fields(stats),
    }
    if vm.status == "running":
        entry["pid"] = 20_000 + vm.vmid % 40_000 * 3
        entry["qmpstatus"] = "running"
    return entry


def guest_resource(cluster: Cluster, guest: Container | Vm, now: float) -> dict[str, Any]:
    kind = "lxc" if isinstance(guest, Container) else "qemu"
    status, stats = _reported_state(cluster, guest, now)
    if isinstance(guest, Container):
        maxcpu, maxmem, maxdisk, name = guest.cpus, guest.maxmem, guest.maxdisk, guest.name
        extra = _optional_fields(guest)
        hastate = ha.hastate(cluster, guest.vmid)
        if hastate is not None:  # pve-manager PVE/API2/Cluster.pm (resources)
            extra["hastate"] = hastate
    else:
        maxcpu, maxmem = guest.cores, guest.memory_mib * 1024 * 1024
        maxdisk, name, extra = guest.disk_gib * GIB, guest.name, {}
    return {
        "id": f"{kind}/{guest.vmid}",
        "type": kind,
        "vmid": guest.vmid,
        "name": name,
        "node": guest.node,
        "status": status,
        "maxcpu": maxcpu,
        "maxmem": maxmem,
        "maxdisk": maxdisk,
        # pve-cluster's vmlist/vmstatus: a CT template is listed with template=1
        # (pve-container src/PVE/LXC.pm `vmstatus`, read by pve-manager's /cluster/resources)
        "template": 1 if isinstance(guest, Container) and guest.config.get("template") else 0,
        **_stats_fields(stats),
        **extra,
    }


STATUS_CACHE_SECONDS = 300


def _reported_state(cluster: Cluster, guest: Container | Vm, now: float) -> tuple[str, GuestStats]:
    """What `/cluster/resources` says about a guest. Its numbers come from the RRD status
    cache (pve-manager PVE/API2Tools.pm extract_vm_stats), where pmxcfs drops an entry 5
    minutes after its node's last update (pve-cluster src/pmxcfs/status.c
    rrd_entry_is_old): a guest of an offline node keeps its last status that long."""
    node = cluster.nodes[guest.node]
    if node.online:
        return guest.status, guest.stats(now)
    seen = node.last_seen.get(guest.vmid)
    if seen and node.offline_since is not None and now - node.offline_since <= STATUS_CACHE_SECONDS:
        return seen
    return "unknown", guest.stats(now)


def node_usage(cluster: Cluster, node: PveNode, now: float) -> dict[str, Any]:
    guests: list[Container | Vm] = [*cluster.containers_on(node.name), *cluster.vms_on(node.name)]
    running = [g for g in guests if g.status == "running"]
    stats = [g.stats(now) for g in running]
    cpu_used = sum(
        s.cpu * (g.cpus if isinstance(g, Container) else g.cores)
        for s, g in zip(stats, running, strict=True)
    )
    base = noise(node.nodeid, int(now), 7)
    cpu = min(1.0, 0.01 + 0.02 * base + cpu_used / max(1, node.maxcpu))
    mem = min(node.maxmem, int(2.2 * GIB + sum(s.mem for s in stats)))
    disk = int(node.rootfs_total * (0.12 + 0.05 * noise(node.nodeid, 0, 8)))
    return {"cpu": round(cpu, 6), "mem": mem, "disk": disk, "uptime": int(now - node.booted_at)}


def node_entry(cluster: Cluster, node: PveNode, now: float) -> dict[str, Any]:
    """An entry of `GET /nodes`."""
    base: dict[str, Any] = {"id": f"node/{node.name}", "node": node.name, "type": "node"}
    if not node.online:
        return {**base, "status": "offline"}
    usage = node_usage(cluster, node, now)
    return {
        **base,
        "status": "online",
        "level": "",
        "maxcpu": node.maxcpu,
        "maxmem": node.maxmem,
        "maxdisk": node.rootfs_total,
        "ssl_fingerprint": cluster.tls_sha256,
        **usage,
    }


NODE_STATS = ("uptime", "cpu", "mem", "disk", "maxcpu", "maxmem", "maxdisk", "level")


def node_resource(
    cluster: Cluster, node: PveNode, now: float, stats: bool = True
) -> dict[str, Any]:
    entry = node_entry(cluster, node, now)
    if node.online:
        entry["cgroup-mode"] = 2
        entry.pop("ssl_fingerprint", None)
    if not stats:
        entry = {k: v for k, v in entry.items() if k not in NODE_STATS}
    return entry


def storage_usage(cluster: Cluster, storage: Storage, node: str) -> int:
    archives = sum(
        b.size
        for b in cluster.backups
        if b.storage == storage.storage and (not b.node or b.node == node)
    )
    if storage.storage == "local":
        return sum(t.size for t in cluster.templates) + 9 * GIB + archives
    if storage.shared:
        prefix = f"{storage.storage}:"
        disks = sum(
            ct.maxdisk
            for ct in cluster.containers.values()
            if str(ct.config.get("rootfs", "")).startswith(prefix)
        )
        return min(storage.total, archives + int(disks * 0.45))
    disks = sum(ct.maxdisk for ct in cluster.containers_on(node))
    disks += sum(vm.disk_gib * GIB for vm in cluster.vms_on(node))
    return min(storage.total, int(disks * 0.45))


def storage_entry(cluster: Cluster, storage: Storage, node: str) -> dict[str, Any]:
    used = storage_usage(cluster, storage, node)
    return {
        "storage": storage.storage,
        "type": storage.type,
        "content": ",".join(storage.content),
        "active": 1,
        "enabled": 1,
        "shared": int(storage.shared),
        "total": storage.total,
        "used": used,
        "avail": storage.total - used,
        "used_fraction": round(used / storage.total, 6),
    }


def storage_resource(cluster: Cluster, storage: Storage, node: PveNode) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": f"storage/{node.name}/{storage.storage}",
        "type": "storage",
        "node": node.name,
        "storage": storage.storage,
        "plugintype": storage.type,
        "content": ",".join(storage.content),
        "shared": int(storage.shared),
        "status": "available" if node.online else "unknown",
    }
    if node.online:
        entry["disk"] = storage_usage(cluster, storage, node.name)
        entry["maxdisk"] = storage.total
    return entry


def sdn_resource(node: PveNode) -> dict[str, Any]:
    return {
        "id": f"sdn/{node.name}/localnetwork",
        "type": "sdn",
        "sdn": "localnetwork",
        "node": node.name,
        "status": "ok" if node.online else "unknown",
    }


def vnet_interface(vnet: Vnet) -> dict[str, Any]:
    """A vnet in a node's network list (pve-network src/PVE/Network/SDN.pm `get_local_vnets`:
    `active` is the string '1' there)."""
    entry: dict[str, Any] = {
        "iface": vnet.vnet,
        "type": "vnet",
        "active": "1",
        "ipam": 0,
        "vlanaware": int(vnet.vlanaware),
    }
    if vnet.alias:
        entry["comments"] = vnet.alias
    return entry


def network_interfaces(cluster: Cluster, node: PveNode) -> list[dict[str, Any]]:
    subnet = node.ip.rsplit(".", 2)[0]
    return [
        {
            "iface": "eno1",
            "type": "eth",
            "method": "manual",
            "method6": "manual",
            "families": ["inet"],
            "active": 1,
            "exists": 1,
            "priority": 3,
        },
        {
            "iface": "vmbr0",
            "type": "bridge",
            "method": "static",
            "method6": "manual",
            "families": ["inet"],
            "address": node.ip,
            "netmask": "16",
            "cidr": f"{node.ip}/16",
            "gateway": f"{subnet}.0.1",
            "bridge_ports": "eno1",
            "bridge_stp": "off",
            "bridge_fd": "0",
            "autostart": 1,
            "active": 1,
            "priority": 4,
        },
    ]


def node_status(cluster: Cluster, node: PveNode, now: float) -> dict[str, Any]:
    usage = node_usage(cluster, node, now)
    pve, kernel = cluster.pve, cluster.pve.kernel
    load = [f"{usage['cpu'] * node.maxcpu * f:.2f}" for f in (1.0, 0.9, 0.8)]
    rootfs_used = usage["disk"]
    return {
        "cpu": usage["cpu"],
        "wait": 0.0004,
        "idle": 0,
        "uptime": usage["uptime"],
        "loadavg": load,
        "pveversion": f"pve-manager/{pve.version}/{pve.repoid}",
        "kversion": f"Linux {kernel} #1 SMP PREEMPT_DYNAMIC PMX {kernel}",
        "cpuinfo": {
            "model": node.cpu_model,
            "cores": node.maxcpu // 2,
            "cpus": node.maxcpu,
            "sockets": 1,
            "mhz": "3800.000",
            "hvm": "1",
            "user_hz": 100,
            "flags": "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr",
        },
        "memory": {"total": node.maxmem, "used": usage["mem"], "free": node.maxmem - usage["mem"]},
        "swap": {"total": 8 * GIB, "used": 0, "free": 8 * GIB},
        "rootfs": {
            "total": node.rootfs_total,
            "used": rootfs_used,
            "free": node.rootfs_total - rootfs_used,
            "avail": node.rootfs_total - rootfs_used,
        },
        "ksm": {"shared": 0},
        "boot-info": {"mode": "efi", "secureboot": 0},
        "current-kernel": {
            "sysname": "Linux",
            "release": kernel,
            "machine": "x86_64",
            "version": f"#1 SMP PREEMPT_DYNAMIC PMX {kernel}",
        },
    }
