"""Parameter declarations of the container endpoints (create, config, snapshots...)."""

from __future__ import annotations

from .params import NODE, OPT_BOOL, VMID, Param, opt_int, opt_num, opt_str, req

MOUNT_OPTIONS = (
    r"(?^:(?^:(discard|lazytime|noatime|nodev|noexec|nosuid))"
    r"(;(?^:(discard|lazytime|noatime|nodev|noexec|nosuid)))*)"
)
IFACE_NAME = r"[-_.\w\d]+"

NET_FORMAT: dict[str, Param] = {
    "name": req(opt_str(pattern=IFACE_NAME)),
    "bridge": opt_str(pattern=IFACE_NAME),
    "firewall": OPT_BOOL,
    "gw": opt_str(fmt="ipv4"),
    "gw6": opt_str(fmt="ipv6"),
    "host-managed": OPT_BOOL,
    "hwaddr": opt_str(fmt="mac-addr"),
    "ip": opt_str(fmt="pve-ipv4-config"),
    "ip6": opt_str(fmt="pve-ipv6-config"),
    "link_down": OPT_BOOL,
    "mtu": opt_int(64, 65535),
    "rate": opt_num(),
    "tag": opt_int(1, 4094),
    "trunks": opt_str(pattern=r"(?^:\d+(?:;\d+)*)"),
    "type": opt_str(enum=("veth",)),
}
ROOTFS_FORMAT: dict[str, Param] = {
    "volume": req(opt_str()),
    "acl": OPT_BOOL,
    "mountoptions": opt_str(pattern=MOUNT_OPTIONS),
    "quota": OPT_BOOL,
    "replicate": OPT_BOOL,
    "ro": OPT_BOOL,
    "shared": OPT_BOOL,
    "size": opt_str(fmt="disk-size"),
}
MP_FORMAT: dict[str, Param] = {
    **ROOTFS_FORMAT,
    "mp": req(opt_str()),
    "backup": OPT_BOOL,
    "keepattrs": OPT_BOOL,
}
FEATURES_FORMAT: dict[str, Param] = {
    "force_rw_sys": OPT_BOOL,
    "fuse": OPT_BOOL,
    "keyctl": OPT_BOOL,
    "mknod": OPT_BOOL,
    "mount": opt_str(pattern=r"(?^:[a-zA-Z0-9_; ]+)"),
    "nesting": OPT_BOOL,
}
DEV_FORMAT: dict[str, Param] = {
    "deny-write": OPT_BOOL,
    "gid": opt_int(minimum=0),
    "mode": opt_str(pattern="0[0-7]{3}"),
    "path": opt_str(),
    "uid": opt_int(minimum=0),
}
UNUSED_FORMAT: dict[str, Param] = {"volume": req(opt_str(fmt="pve-volume-id"))}


def _prop(fmt: dict[str, Param], default_key: str | None = None) -> Param:
    return Param("string", property_format=fmt, default_key=default_key)


ARCHES = ("amd64", "i386", "arm64", "armhf", "riscv32", "riscv64")
OSTYPES = (
    "debian",
    "devuan",
    "ubuntu",
    "centos",
    "fedora",
    "opensuse",
    "archlinux",
    "alpine",
    "gentoo",
    "nixos",
    "unmanaged",
)
LOCKS = (
    "backup",
    "create",
    "destroyed",
    "disk",
    "fstrim",
    "migrate",
    "mounted",
    "rollback",
    "snapshot",
    "snapshot-delete",
)

# options that live in the container configuration (create and `PUT .../config`)
CONFIG_OPTIONS: dict[str, Param] = {
    "arch": opt_str(enum=ARCHES),
    "cmode": opt_str(enum=("shell", "console", "tty")),
    "console": OPT_BOOL,
    "cores": opt_int(1, 8192),
    "cpulimit": opt_num(0, 8192),
    "cpuunits": opt_int(0, 500000),
    "debug": OPT_BOOL,
    "description": opt_str(max_length=8192),
    "dev[n]": _prop(DEV_FORMAT, "path"),
    "entrypoint": opt_str(pattern=r"(?^:[^\x00-\x08\x10-\x1F\x7F]+)"),
    "env": opt_str(),
    "features": _prop(FEATURES_FORMAT),
    "hookscript": opt_str(fmt="pve-volume-id"),
    "hostname": opt_str(max_length=255, fmt="dns-name"),
    "lock": opt_str(enum=LOCKS),
    "memory": opt_int(minimum=16),
    "mp[n]": _prop(MP_FORMAT, "volume"),
    "nameserver": opt_str(),
    "net[n]": _prop(NET_FORMAT),
    "onboot": OPT_BOOL,
    "ostype": opt_str(enum=OSTYPES),
    "protection": OPT_BOOL,
    "rootfs": _prop(ROOTFS_FORMAT, "volume"),
    "searchdomain": opt_str(fmt="dns-name-list"),
    "startup": opt_str(fmt="pve-startup-order"),
    "swap": opt_int(minimum=0),
    "tags": opt_str(fmt="pve-tag-list"),
    "template": OPT_BOOL,
    "timezone": opt_str(),
    "tty": opt_int(0, 6),
    "unprivileged": OPT_BOOL,
    "unused[n]": _prop(UNUSED_FORMAT, "volume"),
}

CREATE_PARAMS: dict[str, Param] = {
    **CONFIG_OPTIONS,
    "node": NODE,
    "vmid": VMID,
    "ostemplate": req(opt_str(max_length=255)),
    "bwlimit": opt_num(minimum=0),
    "force": OPT_BOOL,
    "ha-managed": OPT_BOOL,
    "ignore-unpack-errors": OPT_BOOL,
    "password": opt_str(min_length=5),
    "pool": opt_str(fmt="pve-poolid"),
    "restore": OPT_BOOL,
    "ssh-public-keys": opt_str(),
    "start": OPT_BOOL,
    "storage": opt_str(fmt="pve-storage-id"),
    "unique": Param("boolean", requires="restore"),
}

UPDATE_PARAMS: dict[str, Param] = {
    **CONFIG_OPTIONS,
    "node": NODE,
    "vmid": VMID,
    "delete": opt_str(fmt="pve-configid-list"),
    "digest": opt_str(max_length=40),
    "revert": opt_str(fmt="pve-configid-list"),
}

CT = {"node": NODE, "vmid": VMID}
SNAPNAME = req(opt_str(max_length=40, fmt="pve-configid"))
