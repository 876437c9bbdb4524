"""Typed answers of the Proxmox API calls the app uses.

Shapes follow the official schema (api-viewer data). Proxmox sends booleans as 0/1
integers and numbers sometimes as strings; pydantic's lax mode turns both into the
declared types. Unknown fields are ignored (or kept, for config), optional ones default
to None, so older and newer Proxmox versions parse alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

__all__ = [
    "ClusterNode",
    "ClusterResource",
    "ClusterStatus",
    "LoginResult",
    "LxcConfig",
    "LxcInterface",
    "LxcStatus",
    "NodeInfo",
    "NodeNetwork",
    "Permissions",
    "Storage",
    "StorageContent",
    "TaskStatus",
    "TermProxy",
    "Version",
    "parse_property_string",
]


def _pve_bool(value: Any) -> Any:
    """Proxmox booleans: 0/1 (also as strings); some versions send "" for false."""
    return False if value in ("", None) else value


PveBool = Annotated[bool, BeforeValidator(_pve_bool)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class Version(_Model):
    """GET /version"""

    version: str
    release: str = ""
    repoid: str = ""
    console: str | None = None


@dataclass(frozen=True)
class LoginResult:
    """A successful POST /access/ticket: the ticket (cookie) and CSRF token for writes."""

    username: str
    ticket: str = field(repr=False)
    csrf_token: str = field(repr=False)
    cap: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    clustername: str | None = None


@dataclass(frozen=True)
class Permissions:
    """GET /access/permissions: effective privileges per ACL path.

    Proxmox answers `{path: {privilege: propagate}}`; a privilege that propagates also
    holds below its path unless a more specific path in the answer says otherwise.
    """

    paths: Mapping[str, frozenset[str]]
    propagating: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def from_api(cls, data: Mapping[str, Mapping[str, Any]]) -> Permissions:
        paths = {path: frozenset(privs) for path, privs in data.items()}
        propagating = {
            path: frozenset(name for name, flag in privs.items() if _truthy(flag))
            for path, privs in data.items()
        }
        return cls(paths=paths, propagating=propagating)

    def privileges_at(self, path: str) -> frozenset[str]:
        """What the user may do on `path`: its own entry, else the nearest propagating one."""
        path = _normalize_acl_path(path)
        if path in self.paths:
            return self.paths[path]
        for ancestor in _ancestors(path):
            if ancestor in self.paths:
                return self.propagating.get(ancestor, frozenset())
        return frozenset()

    def allows(self, path: str, *privileges: str) -> bool:
        """True when every one of `privileges` holds on `path`."""
        return set(privileges) <= self.privileges_at(path)


def _truthy(value: Any) -> bool:
    return value not in (0, "0", False, None, "")


def _normalize_acl_path(path: str) -> str:
    return "/" + path.strip("/")


def _ancestors(path: str) -> Iterable[str]:
    parts = [p for p in path.split("/") if p]
    for end in range(len(parts) - 1, -1, -1):
        yield "/" + "/".join(parts[:end])


class ClusterNode(_Model):
    """A `type: node` entry of GET /cluster/status."""

    name: str
    id: str = ""
    nodeid: int | None = None
    online: PveBool = False
    local: PveBool = False
    ip: str | None = None
    level: str | None = None


@dataclass(frozen=True)
class ClusterStatus:
    """GET /cluster/status: the cluster entry (absent on a standalone node) and the nodes."""

    name: str | None
    quorate: bool | None
    nodes: tuple[ClusterNode, ...]

    @classmethod
    def from_api(cls, items: Iterable[Mapping[str, Any]]) -> ClusterStatus:
        name: str | None = None
        quorate: bool | None = None
        nodes: list[ClusterNode] = []
        for item in items:
            if item.get("type") == "cluster":
                name = str(item.get("name") or "") or None
                quorate = _truthy(item.get("quorate")) if "quorate" in item else None
            elif item.get("type") == "node":
                nodes.append(ClusterNode.model_validate(item))
        return cls(name=name, quorate=quorate, nodes=tuple(nodes))

    @property
    def clustered(self) -> bool:
        return self.name is not None

    @property
    def local_node(self) -> ClusterNode | None:
        return next((n for n in self.nodes if n.local), None)

    @property
    def node_names(self) -> tuple[str, ...]:
        """Every member's name, sorted (offline members included)."""
        return tuple(sorted(n.name for n in self.nodes))


class ClusterResource(_Model):
    """An entry of GET /cluster/resources (`type` vm/lxc/qemu, node, storage, ...)."""

    id: str
    type: str
    node: str | None = None
    status: str | None = None
    name: str | None = None
    vmid: int | None = None
    cpu: float | None = None
    maxcpu: float | None = None
    mem: int | None = None
    maxmem: int | None = None
    disk: int | None = None
    maxdisk: int | None = None
    uptime: int | None = None
    netin: int | None = None
    netout: int | None = None
    diskread: int | None = None
    diskwrite: int | None = None
    template: PveBool = False
    tags: str | None = None
    lock: str | None = None
    hastate: str | None = None
    pool: str | None = None
    storage: str | None = None
    content: str | None = None
    plugintype: str | None = None
    shared: PveBool | None = None
    level: str | None = None

    @property
    def tag_list(self) -> list[str]:
        return _split_tags(self.tags)


class NodeInfo(_Model):
    """An entry of GET /nodes."""

    node: str
    status: str = "unknown"  # online / offline / unknown
    cpu: float | None = None
    maxcpu: int | None = None
    mem: int | None = None
    maxmem: int | None = None
    disk: int | None = None
    maxdisk: int | None = None
    uptime: int | None = None
    level: str | None = None
    ssl_fingerprint: str | None = None


class LxcStatus(_Model):
    """GET /nodes/{node}/lxc/{vmid}/status/current, and each entry of GET /nodes/{node}/lxc."""

    vmid: int
    status: str
    name: str | None = None
    cpu: float | None = None
    cpus: float | None = None
    mem: int | None = None
    maxmem: int | None = None
    swap: int | None = None
    maxswap: int | None = None
    disk: int | None = None
    maxdisk: int | None = None
    uptime: int | None = None
    netin: int | None = None
    netout: int | None = None
    diskread: int | None = None
    diskwrite: int | None = None
    lock: str | None = None
    tags: str | None = None
    template: PveBool = False
    ha: dict[str, Any] | None = None

    @property
    def running(self) -> bool:
        return self.status == "running"

    @property
    def ha_managed(self) -> bool:
        """An HA resource (status/current's `ha.managed`): start/stop go through HA."""
        return bool(self.ha and self.ha.get("managed") in (1, True, "1"))

    @property
    def tag_list(self) -> list[str]:
        return _split_tags(self.tags)


class LxcConfig(_Model):
    """GET /nodes/{node}/lxc/{vmid}/config. Indexed keys (net0, mp0, unused0, dev0, ...)
    and anything else stay available in `model_extra` and through the helpers."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)

    digest: str = ""
    hostname: str | None = None
    ostype: str | None = None
    arch: str | None = None
    cores: int | None = None
    cpulimit: float | None = None
    cpuunits: int | None = None
    memory: int | None = None
    swap: int | None = None
    rootfs: str | None = None
    nameserver: str | None = None
    searchdomain: str | None = None
    description: str | None = None
    features: str | None = None
    tags: str | None = None
    lock: str | None = None
    startup: str | None = None
    timezone: str | None = None
    unprivileged: PveBool = False
    onboot: PveBool = False
    protection: PveBool = False
    template: PveBool = False
    console: PveBool = True
    tty: int | None = None
    cmode: str | None = None

    def indexed(self, prefix: str) -> dict[int, str]:
        """`net` -> {0: "name=eth0,...", 1: ...} from the net0, net1, ... keys."""
        found: dict[int, str] = {}
        for key, value in (self.model_extra or {}).items():
            suffix = key[len(prefix) :]
            if key.startswith(prefix) and suffix.isdigit():
                found[int(suffix)] = str(value)
        return dict(sorted(found.items()))

    @property
    def networks(self) -> dict[int, dict[str, str]]:
        return {i: parse_property_string(v) for i, v in self.indexed("net").items()}

    @property
    def mountpoints(self) -> dict[int, dict[str, str]]:
        return {i: parse_property_string(v, "volume") for i, v in self.indexed("mp").items()}

    @property
    def tag_list(self) -> list[str]:
        return _split_tags(self.tags)


class TermProxy(_Model):
    """POST /nodes/{node}/lxc/{vmid}/termproxy (pve-container src/PVE/API2/LXC.pm
    `termproxy`): the authenticated id (for a token `user@realm!name`), a VNC ticket bound
    to it, /vms/{vmid} and `port`, and the task that runs termproxy on that port."""

    user: str
    ticket: str = Field(repr=False)
    port: int
    upid: str = ""


class TaskStatus(_Model):
    """GET /nodes/{node}/tasks/{upid}/status"""

    upid: str
    node: str
    status: str  # running / stopped
    type: str = ""
    id: str = ""
    user: str = ""  # for a token's task only the user part (pve-manager API2/Tasks.pm)
    tokenid: str = ""  # the token's name when a token started it
    pid: int | None = None
    pstart: int | None = None
    starttime: int | None = None
    exitstatus: str | None = None

    @property
    def started_by(self) -> str:
        """Who started the task, as the UPID names it: `root@pam` or `root@pam!ci`."""
        return f"{self.user}!{self.tokenid}" if self.tokenid else self.user

    @property
    def running(self) -> bool:
        return self.status != "stopped"

    @property
    def succeeded(self) -> bool:
        """Stopped with `OK`, or with `WARNINGS: N` (which Proxmox itself counts as success)."""
        return not self.running and task_exit_ok(self.exitstatus)


def task_exit_ok(exitstatus: str | None) -> bool:
    if exitstatus is None:
        return False
    text = exitstatus.strip()
    return text == "OK" or (text.startswith("WARNINGS: ") and text[10:].isdigit())


class IpAddress(_Model):
    ip_address: str = Field(alias="ip-address")
    ip_address_type: str | None = Field(default=None, alias="ip-address-type")
    prefix: int | None = None


class LxcInterface(_Model):
    """An entry of GET /nodes/{node}/lxc/{vmid}/interfaces (a running container)."""

    name: str
    hwaddr: str | None = None
    hardware_address: str | None = Field(default=None, alias="hardware-address")
    inet: str | None = None
    inet6: str | None = None
    ip_addresses: tuple[IpAddress, ...] = Field(default=(), alias="ip-addresses")

    @property
    def addresses(self) -> list[str]:
        """Every address with prefix (`10.0.0.5/24`), IPv4 first."""
        found = [a for a in (self.inet, self.inet6) if a]
        for entry in self.ip_addresses:
            text = (
                f"{entry.ip_address}/{entry.prefix}"
                if entry.prefix is not None
                else (entry.ip_address)
            )
            if text not in found:
                found.append(text)
        return found


class NodeNetwork(_Model):
    """An entry of GET /nodes/{node}/network (bridges, bonds, physical NICs)."""

    iface: str
    type: str
    active: PveBool = False
    autostart: PveBool = False
    method: str | None = None
    method6: str | None = None
    address: str | None = None
    netmask: str | None = None
    cidr: str | None = None
    gateway: str | None = None
    address6: str | None = None
    cidr6: str | None = None
    gateway6: str | None = None
    bridge_ports: str | None = None
    bridge_vlan_aware: PveBool = False
    comments: str | None = None


class Storage(_Model):
    """An entry of GET /nodes/{node}/storage."""

    storage: str
    type: str = ""
    content: str = ""
    active: PveBool = False
    enabled: PveBool = True
    shared: PveBool = False
    avail: int | None = None
    total: int | None = None
    used: int | None = None

    @property
    def content_types(self) -> frozenset[str]:
        return frozenset(c.strip() for c in self.content.split(",") if c.strip())


class StorageContent(_Model):
    """An entry of GET /nodes/{node}/storage/{storage}/content (templates, volumes, ...)."""

    volid: str
    format: str = ""
    size: int = 0
    content: str | None = None
    ctime: int | None = None
    vmid: int | None = None
    used: int | None = None
    notes: str | None = None
    protected: PveBool = False
    parent: str | None = None


def parse_property_string(text: str, default_key: str | None = None) -> dict[str, str]:
    """`name=eth0,bridge=vmbr0,ip=dhcp` -> dict; a bare first item goes to `default_key`
    (e.g. `local-lvm:vm-100-disk-0,size=8G` with `volume`)."""
    result: dict[str, str] = {}
    for index, part in enumerate(p for p in text.split(",") if p):
        key, sep, value = part.partition("=")
        if not sep:
            if index == 0 and default_key:
                result[default_key] = part
            continue
        result[key.strip()] = value.strip()
    return result


def _split_tags(tags: str | None) -> list[str]:
    if not tags:
        return []
    return [t for t in tags.replace(",", ";").replace(" ", ";").split(";") if t]
