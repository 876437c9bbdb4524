"""What the wizard offers for one of the user's nodes: the PVE nodes behind the endpoint
(online first), and per PVE node its OS templates (storages with `vztmpl` content), the
storages that take a container's root disk (`rootdir`, with free space) and its bridges:
Linux and OVS bridges plus the SDN vnets the token may use (labelled as vnet). Since PVE 8
a token sees only the bridges it holds SDN.Audit or SDN.Use on
(`/sdn/zones/localnetwork/BRIDGE`), so an empty list comes with `bridge_notes` saying why.

Every PVE node is asked at the same time (asyncio.gather), each within `NODE_TIMEOUT`
seconds: one slow or offline member never delays the others, it only gets an entry in
`errors`. An endpoint that cannot be reached gives `error` and empty lists.

    options = await node_options(user_id, node_id)
    if options.error: show it (and a link to the node's settings)
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from lxc_manager.nodes import NodeNotFound, NodeSecretError, client_for, get_node_sync
from lxc_manager.proxmox import ProxmoxClient, ProxmoxError, Storage
from lxc_manager.proxmox.errors import short_message

__all__ = [
    "MSG_NO_BRIDGES",
    "MSG_NO_SDN_PRIVILEGE",
    "NODE_TIMEOUT",
    "BridgeOption",
    "NodeOptions",
    "OsTemplateOption",
    "StorageOption",
    "node_options",
]

log = logging.getLogger(__name__)

NODE_TIMEOUT = 8.0
MSG_OFFLINE = "This Proxmox node is offline"
MSG_TIMEOUT = "This Proxmox node did not answer in time"
SDN_ZONE_PATH = "/sdn/zones/localnetwork"
MSG_NO_SDN_PRIVILEGE = (
    "No bridge is offered because the node's API token lacks SDN.Audit and SDN.Use on "
    f"{SDN_ZONE_PATH} (Proxmox VE 8 lists and lets a token use only the bridges it holds "
    "them on): grant it, e.g., the PVESDNUser role on that path"
)
MSG_NO_BRIDGES = "This Proxmox node has no network bridge (and no SDN vnet the token may use)"
BRIDGE_TYPES = ("bridge", "OVSBridge", "vnet")


@dataclass(frozen=True)
class BridgeOption:
    iface: str  # vmbr0, vnet1
    type: str  # bridge, OVSBridge or vnet
    comments: str = ""

    @property
    def label(self) -> str:
        """`vmbr0`, `vnet1 (vnet: Lab network)`"""
        if self.type != "vnet":
            return self.iface
        return f"{self.iface} (vnet: {self.comments})" if self.comments else f"{self.iface} (vnet)"


@dataclass(frozen=True)
class OsTemplateOption:
    volid: str  # local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst
    name: str  # debian-12-standard_12.7-1_amd64.tar.zst
    size: int

    @property
    def label(self) -> str:
        """`debian-12-standard_12.7-1_amd64.tar.zst (local, 121 MB)`"""
        storage = self.volid.split(":", 1)[0]
        size = f", {self.size / 1024**2:.0f} MB" if self.size else ""
        return f"{self.name} ({storage}{size})"


@dataclass(frozen=True)
class StorageOption:
    storage: str
    type: str
    avail: int | None  # bytes free
    total: int | None
    shared: bool

    @property
    def free_gb(self) -> float | None:
        return None if self.avail is None else round(self.avail / 1024**3, 1)

    @property
    def label(self) -> str:
        """`local-lvm (lvmthin, 812.4 GB free)`"""
        free = f", {self.free_gb} GB free" if self.free_gb is not None else ""
        return f"{self.storage} ({self.type}{free})" if self.type else f"{self.storage}{free}"


@dataclass(frozen=True)
class NodeOptions:
    node_id: int
    node_name: str
    has_ssh: bool
    pve_nodes: tuple[str, ...] = ()  # online first, then by name
    offline: tuple[str, ...] = ()  # those of pve_nodes that are offline
    os_templates: dict[str, tuple[OsTemplateOption, ...]] = field(default_factory=dict)
    rootfs_storages: dict[str, tuple[StorageOption, ...]] = field(default_factory=dict)
    bridges: dict[str, tuple[BridgeOption, ...]] = field(default_factory=dict)
    bridge_notes: dict[str, str] = field(default_factory=dict)  # why a node has no bridge
    errors: dict[str, str] = field(default_factory=dict)  # per PVE node
    error: str = ""  # the endpoint itself


@dataclass(frozen=True)
class _Member:
    templates: tuple[OsTemplateOption, ...]
    storages: tuple[StorageOption, ...]
    bridges: tuple[BridgeOption, ...]
    bridge_note: str


def _usable(storage: Storage) -> bool:
    return storage.enabled and storage.active


async def _templates(
    client: ProxmoxClient, node: str, storages: list[Storage]
) -> list[OsTemplateOption]:
    holders = [s.storage for s in storages if _usable(s) and "vztmpl" in s.content_types]
    contents = await asyncio.gather(
        *(client.storage_content(node, storage, content="vztmpl") for storage in holders)
    )
    found: dict[str, OsTemplateOption] = {}
    for items in contents:
        for item in items:
            if item.content not in (None, "vztmpl"):
                continue
            name = item.volid.split("/", 1)[-1]
            found.setdefault(item.volid, OsTemplateOption(item.volid, name, item.size))
    return sorted(found.values(), key=lambda t: (t.name.lower(), t.volid))


async def _member(client: ProxmoxClient, node: str) -> _Member:
    storages, networks = await asyncio.gather(
        client.storages(node), client.node_network(node, type="any_bridge")
    )
    templates = await _templates(client, node, storages)
    rootfs = sorted(
        (
            StorageOption(s.storage, s.type, s.avail, s.total, s.shared)
            for s in storages
            if _usable(s) and "rootdir" in s.content_types
        ),
        key=lambda s: (-(s.avail or 0), s.storage),
    )
    bridges = sorted(
        {
            BridgeOption(n.iface, n.type, (n.comments or "").strip())
            for n in networks
            if n.type in BRIDGE_TYPES
        },
        key=lambda b: (b.type == "vnet", b.iface),
    )
    note = "" if bridges else await _no_bridge_note(client)
    return _Member(tuple(templates), tuple(rootfs), tuple(bridges), note)


async def _no_bridge_note(client: ProxmoxClient) -> str:
    """Why the list is empty: the token cannot see bridges, or there are none."""
    try:
        permissions = await client.permissions(SDN_ZONE_PATH)
    except ProxmoxError as exc:
        log.info("permissions on %s: %r", SDN_ZONE_PATH, exc)
        return MSG_NO_BRIDGES
    held = permissions.privileges_at(SDN_ZONE_PATH)
    return MSG_NO_BRIDGES if {"SDN.Audit", "SDN.Use"} & held else MSG_NO_SDN_PRIVILEGE


async def _member_or_error(client: ProxmoxClient, node: str) -> _Member | str:
    try:
        async with asyncio.timeout(NODE_TIMEOUT):
            return await _member(client, node)
    except TimeoutError:
        return MSG_TIMEOUT
    except ProxmoxError as exc:
        log.info("options of %s: %r", node, exc)
        return short_message(exc)


async def node_options(user_id: str, node_id: int) -> NodeOptions:
    """The wizard's choices for the user's node; `error` when the node is not the user's
    or its endpoint cannot be reached."""
    try:
        node = await asyncio.to_thread(get_node_sync, user_id, node_id)
        client = await asyncio.to_thread(client_for, user_id, node_id)
    except NodeNotFound:
        return NodeOptions(node_id, "", False, error="Node not found")
    except NodeSecretError as exc:
        return NodeOptions(node_id, "", False, error=exc.user_message)
    base = NodeOptions(node.id, node.name, node.has_ssh)
    try:
        async with client:
            async with asyncio.timeout(NODE_TIMEOUT):
                members = await client.nodes()
            members = sorted(members, key=lambda m: (m.status != "online", m.node))
            asked = [m.node for m in members if m.status == "online"]
            results = await asyncio.gather(*(_member_or_error(client, name) for name in asked))
    except TimeoutError:
        return NodeOptions(node.id, node.name, node.has_ssh, error=MSG_TIMEOUT)
    except ProxmoxError as exc:
        log.info("options of node %s: %r", node_id, exc)
        return NodeOptions(node.id, node.name, node.has_ssh, error=short_message(exc))
    offline = tuple(m.node for m in members if m.status != "online")
    errors = dict.fromkeys(offline, MSG_OFFLINE)
    templates: dict[str, tuple[OsTemplateOption, ...]] = {}
    storages: dict[str, tuple[StorageOption, ...]] = {}
    bridges: dict[str, tuple[BridgeOption, ...]] = {}
    bridge_notes: dict[str, str] = {}
    for name, result in zip(asked, results, strict=True):
        if isinstance(result, str):
            errors[name] = result
            continue
        templates[name], storages[name], bridges[name] = (
            result.templates,
            result.storages,
            result.bridges,
        )
        if result.bridge_note:
            bridge_notes[name] = result.bridge_note
    return NodeOptions(
        base.node_id,
        base.node_name,
        base.has_ssh,
        pve_nodes=tuple(m.node for m in members),
        offline=offline,
        os_templates=templates,
        rootfs_storages=storages,
        bridges=bridges,
        bridge_notes=bridge_notes,
        errors=errors,
    )
