"""What the clone dialog offers for one container: the source as Proxmox sees it, the
cluster's online PVE nodes, the storages that hold container volumes (per node, with
their shared flag) and a free VMID to suggest.

Every PVE node's storages are asked at the same time, each within `NODE_TIMEOUT`: a slow
or offline member only loses its storages.

    options = await clone_options(user_id, node_id, 105)
    if options.error: show it
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from lxc_manager.nodes import NodeNotFound, NodeSecretError, client_for, get_node_sync
from lxc_manager.proxmox import ProxmoxClient, ProxmoxError
from lxc_manager.proxmox.errors import short_message

from .plan import CloneSource, StorageChoice
from .source import MSG_NOT_FOUND, find_pve_node, read_source

__all__ = [
    "NODE_TIMEOUT",
    "CloneOptions",
    "CtTemplate",
    "RestoreTargets",
    "clone_options",
    "list_ct_templates",
    "restore_targets",
    "rootdir_storages",
]

log = logging.getLogger(__name__)

NODE_TIMEOUT = 8.0
MSG_NODE_NOT_FOUND = "Node not found"


@dataclass(frozen=True)
class CloneOptions:
    source: CloneSource | None = None
    pve_nodes: tuple[str, ...] = ()  # the online ones
    storages: tuple[StorageChoice, ...] = ()  # rootdir storages, with the nodes they are on
    next_vmid: int | None = None
    error: str = ""


async def _node_storages(client: ProxmoxClient, node: str) -> list[tuple[str, str, bool]]:
    try:
        found = await asyncio.wait_for(client.storages(node, content="rootdir"), NODE_TIMEOUT)
    except (ProxmoxError, TimeoutError) as exc:
        log.info("clone options: storages of %s not readable: %r", node, exc)
        return []
    return [(s.storage, s.type, bool(s.shared)) for s in found if s.enabled is not False]


async def rootdir_storages(
    client: ProxmoxClient, pve_nodes: tuple[str, ...]
) -> tuple[StorageChoice, ...]:
    """The storages that take container volumes, each with the PVE nodes it is on."""
    per_node = await asyncio.gather(*(_node_storages(client, n) for n in pve_nodes))
    merged: dict[str, tuple[str, bool, list[str]]] = {}
    for node, entries in zip(pve_nodes, per_node, strict=True):
        for storage, kind, shared in entries:
            merged.setdefault(storage, (kind, shared, []))[2].append(node)
    return tuple(
        StorageChoice(storage=name, type=kind, shared=shared, nodes=tuple(nodes))
        for name, (kind, shared, nodes) in sorted(merged.items())
    )


async def clone_options(user_id: str, node_id: int, vmid: int) -> CloneOptions:
    """What to offer for cloning CT `vmid`, found through the user's node `node_id`."""
    try:
        await asyncio.to_thread(get_node_sync, user_id, node_id)
        client = await asyncio.to_thread(client_for, user_id, node_id)
    except NodeNotFound:
        return CloneOptions(error=MSG_NODE_NOT_FOUND)
    except NodeSecretError as exc:
        return CloneOptions(error=exc.user_message)
    try:
        async with client:
            pve_node = await find_pve_node(client, vmid)
            if pve_node is None:
                return CloneOptions(error=MSG_NOT_FOUND)
            source, nodes, next_vmid = await asyncio.gather(
                read_source(client, pve_node, vmid), client.nodes(), client.next_id()
            )
            online = tuple(sorted(n.node for n in nodes if n.status == "online"))
            storages = await rootdir_storages(client, online)
    except ProxmoxError as exc:
        log.info("clone options of CT %s on %s: %r", vmid, pve_node, exc)
        return CloneOptions(error=short_message(exc))
    return CloneOptions(source=source, pve_nodes=online, storages=storages, next_vmid=next_vmid)


@dataclass(frozen=True)
class CtTemplate:
    """A Proxmox CT template (a container with template=1) the wizard can start from."""

    vmid: int
    name: str
    pve_node: str


async def list_ct_templates(user_id: str, node_id: int) -> tuple[list[CtTemplate], str]:
    """The cluster's CT templates seen through the user's node, by name; and an error text
    ("" when the listing worked)."""
    try:
        client = await asyncio.to_thread(client_for, user_id, node_id)
    except NodeNotFound:
        return [], MSG_NODE_NOT_FOUND
    except NodeSecretError as exc:
        return [], exc.user_message
    try:
        async with client:
            resources = await client.cluster_resources(type="vm")
    except ProxmoxError as exc:
        log.info("CT templates of node %s: %r", node_id, exc)
        return [], short_message(exc)
    found = [
        CtTemplate(vmid=r.vmid, name=r.name or f"CT {r.vmid}", pve_node=r.node)
        for r in resources
        if r.type == "lxc" and r.template and r.vmid is not None and r.node
    ]
    return sorted(found, key=lambda t: (t.name, t.vmid)), ""


@dataclass(frozen=True)
class RestoreTargets:
    """Where a backup can be restored as a new container: the online PVE nodes, the
    storages that hold container volumes and a free VMID to suggest."""

    pve_nodes: tuple[str, ...] = ()
    storages: tuple[StorageChoice, ...] = ()
    next_vmid: int | None = None
    error: str = ""


async def restore_targets(user_id: str, node_id: int) -> RestoreTargets:
    try:
        client = await asyncio.to_thread(client_for, user_id, node_id)
    except NodeNotFound:
        return RestoreTargets(error=MSG_NODE_NOT_FOUND)
    except NodeSecretError as exc:
        return RestoreTargets(error=exc.user_message)
    try:
        async with client:
            nodes, next_vmid = await asyncio.gather(client.nodes(), client.next_id())
            online = tuple(sorted(n.node for n in nodes if n.status == "online"))
            storages = await rootdir_storages(client, online)
    except ProxmoxError as exc:
        log.info("restore targets of node %s: %r", node_id, exc)
        return RestoreTargets(error=short_message(exc))
    return RestoreTargets(pve_nodes=online, storages=storages, next_vmid=next_vmid)
