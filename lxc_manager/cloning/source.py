"""Reading the container to clone (or to convert to a template) from Proxmox."""

from __future__ import annotations

import asyncio
from typing import Any

from lxc_manager.proxmox import ProxmoxClient, parse_property_string

from .plan import CloneSource, StorageChoice

__all__ = ["MSG_NOT_FOUND", "find_pve_node", "read_source", "volume_storage_ids"]

MSG_NOT_FOUND = "Container not found"


def volume_storage_ids(config: dict[str, Any]) -> list[str]:
    """The storages of the container's volumes (rootfs and mpN; bind mounts have none)."""
    found: list[str] = []
    for key, value in config.items():
        if key != "rootfs" and not (key.startswith("mp") and key[2:].isdigit()):
            continue
        volume = parse_property_string(str(value), "volume").get("volume", "")
        if ":" in volume and not volume.startswith("/"):
            found.append(volume.split(":", 1)[0])
    return list(dict.fromkeys(found))


async def read_source(client: ProxmoxClient, pve_node: str, vmid: int) -> CloneSource:
    """The container's state, template flag, snapshots and the storages of its volumes."""
    config, status, snapshots, storages = await asyncio.gather(
        client.lxc_config(pve_node, vmid),
        client.lxc_status(pve_node, vmid),
        client.lxc_snapshots(pve_node, vmid),
        client.storages(pve_node),
    )
    values = {**(config.model_extra or {}), "rootfs": config.rootfs or ""}
    ids = volume_storage_ids(values)
    known = {s.storage: s for s in storages}
    volume_storages = tuple(
        StorageChoice(
            storage=sid,
            type=known[sid].type if sid in known else "",
            shared=bool(known[sid].shared) if sid in known else False,
        )
        for sid in ids
    )
    names = tuple(
        str(s["name"])
        for s in snapshots
        if isinstance(s, dict) and s.get("name") and s.get("name") != "current"
    )
    return CloneSource(
        pve_node=pve_node,
        vmid=vmid,
        hostname=config.hostname or "",
        running=status.running,
        template=bool(config.template or status.template),
        rootfs_storage=ids[0] if ids else "",
        snapshots=names,
        volume_storages=volume_storages,
    )


async def find_pve_node(client: ProxmoxClient, vmid: int) -> str | None:
    """The PVE node that hosts container `vmid` (from /cluster/resources), or None."""
    for resource in await client.cluster_resources(type="vm"):
        if resource.type == "lxc" and resource.vmid == vmid and resource.node:
            return resource.node
    return None
