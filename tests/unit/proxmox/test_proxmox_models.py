"""Typed models parsed from realistic Proxmox VE 8 answers (0/1 booleans, string numbers)."""

from __future__ import annotations

from typing import Any

import pytest

from lxc_manager.proxmox import (
    ClusterResource,
    ClusterStatus,
    LxcConfig,
    LxcInterface,
    LxcStatus,
    NodeInfo,
    NodeNetwork,
    Permissions,
    Storage,
    StorageContent,
    TaskStatus,
    Version,
    parse_property_string,
)

RESOURCES: list[dict[str, Any]] = [
    {"id": "lxc/101", "type": "lxc", "vmid": 101, "name": "web01", "node": "pve1",
     "status": "running", "maxmem": 2147483648, "mem": 123456789, "maxdisk": 8589934592,
     "disk": 1234567890, "cpu": 0.0123, "maxcpu": 2, "uptime": 12345, "netin": 1234,
     "netout": 5678, "diskread": 0, "diskwrite": 0, "template": 0, "tags": "prod;web"},
    {"id": "qemu/200", "type": "qemu", "vmid": 200, "name": "win", "node": "pve2",
     "status": "stopped", "maxmem": 4294967296, "mem": 0, "maxdisk": 34359738368, "disk": 0,
     "cpu": 0, "maxcpu": 4, "uptime": 0, "template": 1, "hastate": "started", "lock": "backup"},
    {"id": "storage/pve1/local", "type": "storage", "storage": "local", "node": "pve1",
     "status": "available", "content": "iso,vztmpl,backup", "plugintype": "dir", "shared": 0,
     "disk": 1, "maxdisk": 2},
]  # fmt: skip


def test_cluster_resources() -> None:
    ct, vm, storage = (ClusterResource.model_validate(r) for r in RESOURCES)
    assert (ct.vmid, ct.node, ct.type, ct.status, ct.name) == (
        101,
        "pve1",
        "lxc",
        "running",
        "web01",
    )
    assert (ct.maxmem, ct.mem, ct.cpu, ct.maxcpu) == (2147483648, 123456789, 0.0123, 2)
    assert ct.template is False and ct.tag_list == ["prod", "web"]
    assert vm.template is True and vm.lock == "backup" and vm.hastate == "started"
    assert storage.vmid is None and storage.shared is False and storage.plugintype == "dir"


def test_cluster_status_clustered_and_standalone() -> None:
    clustered = ClusterStatus.from_api(
        [
            {"type": "cluster", "id": "cluster", "name": "lab", "nodes": 3, "quorate": 1, "version": 7},
            {"type": "node", "id": "node/pve2", "name": "pve2", "nodeid": 2, "online": 0, "local": 0,
             "ip": "10.0.0.12", "level": ""},
            {"type": "node", "id": "node/pve1", "name": "pve1", "nodeid": 1, "online": 1, "local": 1,
             "ip": "10.0.0.11", "level": "c"},
        ]
    )  # fmt: skip
    assert clustered.clustered and clustered.name == "lab" and clustered.quorate is True
    assert clustered.node_names == ("pve1", "pve2")
    local = clustered.local_node
    assert local is not None and (local.name, local.ip, local.online) == ("pve1", "10.0.0.11", True)
    assert clustered.nodes[0].online is False

    standalone = ClusterStatus.from_api(
        [{"type": "node", "id": "node/pve", "name": "pve", "nodeid": 0, "online": 1, "local": 1,
          "ip": "192.168.1.5", "level": ""}]
    )  # fmt: skip
    assert not standalone.clustered and standalone.name is None and standalone.quorate is None
    assert standalone.node_names == ("pve",)


def test_permissions_propagation() -> None:
    permissions = Permissions.from_api(
        {
            "/": {"Sys.Audit": 1},
            "/vms": {"VM.Audit": 1, "VM.PowerMgmt": 0},
            "/vms/105": {"VM.Audit": 1, "VM.Config.Memory": 1},
        }
    )
    assert permissions.paths["/vms"] == {"VM.Audit", "VM.PowerMgmt"}
    assert permissions.allows("/vms", "VM.Audit", "VM.PowerMgmt")
    assert permissions.allows("/vms/101", "VM.Audit")
    assert not permissions.allows("/vms/101", "VM.PowerMgmt")  # not propagated
    assert not permissions.allows("/vms/105", "VM.PowerMgmt")  # the more specific path wins
    assert permissions.allows("/nodes/pve1/", "Sys.Audit")
    assert permissions.privileges_at("/storage") == {"Sys.Audit"}
    assert Permissions.from_api({}).privileges_at("/") == frozenset()


def test_nodes_and_version() -> None:
    node = NodeInfo.model_validate(
        {"node": "pve1", "status": "online", "cpu": 0.05, "maxcpu": 8, "mem": 4000000000,
         "maxmem": 16000000000, "uptime": 86400, "level": "", "id": "node/pve1", "type": "node",
         "ssl_fingerprint": "AB:CD"}
    )  # fmt: skip
    assert (node.node, node.status, node.maxcpu, node.ssl_fingerprint) == (
        "pve1",
        "online",
        8,
        "AB:CD",
    )
    version = Version.model_validate({"version": "8.2.4", "release": "8.2", "repoid": "faa83925"})
    assert version.release == "8.2"


def test_lxc_status_current_and_list_entry() -> None:
    current = LxcStatus.model_validate(
        {"vmid": 101, "status": "running", "name": "web01", "cpus": 2, "cpu": 0.0034,
         "mem": 52428800, "maxmem": 2147483648, "swap": 0, "maxswap": 536870912, "disk": 0,
         "maxdisk": 8589934592, "uptime": 3600, "netin": 1000, "netout": 2000, "diskread": 0,
         "diskwrite": 0, "ha": {"managed": 0}, "type": "lxc"}
    )  # fmt: skip
    assert current.running and current.cpus == 2 and current.ha == {"managed": 0}
    # older PVE lists vmid as a string and maxswap etc. as strings
    listed = LxcStatus.model_validate(
        {"vmid": "102", "status": "stopped", "name": "db", "maxmem": "1073741824", "template": ""}
    )
    assert listed.vmid == 102 and listed.maxmem == 1073741824 and not listed.running
    assert listed.template is False


def test_lxc_config_keeps_indexed_keys() -> None:
    config = LxcConfig.model_validate(
        {"arch": "amd64", "cores": 2, "digest": "4c3e5a1f0b", "hostname": "web01", "memory": 2048,
         "net0": "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:AA:BB:CC,ip=dhcp,type=veth",
         "net1": "name=eth1,bridge=vmbr1,ip=10.1.0.5/24,gw=10.1.0.1",
         "ostype": "debian", "rootfs": "local-lvm:vm-101-disk-0,size=8G", "swap": 512,
         "unprivileged": 1, "features": "nesting=1", "onboot": 1, "protection": 0,
         "mp0": "local-lvm:vm-101-disk-1,mp=/data,size=16G",
         "lxc": [["lxc.cgroup2.devices.allow", "c 10:200 rwm"]]}
    )  # fmt: skip
    assert config.unprivileged is True and config.onboot is True and config.protection is False
    assert config.memory == 2048 and config.cores == 2
    assert config.networks[0]["bridge"] == "vmbr0" and config.networks[0]["ip"] == "dhcp"
    assert config.networks[1]["gw"] == "10.1.0.1"
    assert config.mountpoints == {
        0: {"volume": "local-lvm:vm-101-disk-1", "mp": "/data", "size": "16G"}
    }
    assert parse_property_string(config.rootfs or "", "volume")["size"] == "8G"


def test_lxc_interfaces_old_and_new_shapes() -> None:
    old = LxcInterface.model_validate(
        {"name": "eth0", "hwaddr": "bc:24:11:aa:bb:cc", "inet": "10.0.0.105/24",
         "inet6": "fe80::be24:11ff:feaa:bbcc/64"}
    )  # fmt: skip
    assert old.addresses == ["10.0.0.105/24", "fe80::be24:11ff:feaa:bbcc/64"]
    new = LxcInterface.model_validate(
        {"name": "eth0", "hardware-address": "bc:24:11:aa:bb:cc",
         "ip-addresses": [{"ip-address": "10.0.0.105", "ip-address-type": "inet", "prefix": 24}]}
    )  # fmt: skip
    assert new.hardware_address == "bc:24:11:aa:bb:cc" and new.addresses == ["10.0.0.105/24"]


def test_node_network_and_storage() -> None:
    bridge = NodeNetwork.model_validate(
        {"iface": "vmbr0", "type": "bridge", "active": 1, "autostart": 1, "method": "static",
         "address": "10.0.0.11", "netmask": "24", "cidr": "10.0.0.11/24", "gateway": "10.0.0.1",
         "bridge_ports": "eno1", "bridge_stp": "off", "bridge_fd": "0", "families": ["inet"]}
    )  # fmt: skip
    assert bridge.active and bridge.autostart and bridge.cidr == "10.0.0.11/24"
    storage = Storage.model_validate(
        {"storage": "local", "type": "dir", "content": "iso,vztmpl,backup", "active": 1,
         "enabled": 1, "shared": 0, "avail": 50, "total": 100, "used": 50, "used_fraction": 0.5}
    )  # fmt: skip
    assert storage.content_types == {"iso", "vztmpl", "backup"} and not storage.shared
    content = StorageContent.model_validate(
        {"volid": "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst", "format": "tzst",
         "size": 126279796, "content": "vztmpl", "ctime": 1719868800}
    )  # fmt: skip
    assert content.size == 126279796 and content.content == "vztmpl" and not content.protected


def test_task_status() -> None:
    status = TaskStatus.model_validate(
        {"upid": "UPID:pve1:00001234:00005678:6654A1B2:vzcreate:105:root@pam:", "node": "pve1",
         "pid": 4660, "pstart": 22136, "starttime": 1716822450, "type": "vzcreate", "id": "105",
         "user": "root@pam", "status": "stopped", "exitstatus": "OK"}
    )  # fmt: skip
    assert status.succeeded and not status.running


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name=eth0,bridge=vmbr0,ip=dhcp", {"name": "eth0", "bridge": "vmbr0", "ip": "dhcp"}),
        ("", {}),
        ("local:8", {"volume": "local:8"}),
    ],
)
def test_property_strings(text: str, expected: dict[str, str]) -> None:
    assert parse_property_string(text, "volume") == expected
