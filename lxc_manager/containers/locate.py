"""Find which Proxmox node hosts a container, through one of the user's nodes."""

from __future__ import annotations

import asyncio

from lxc_manager.nodes import service as nodes


async def locate(user_id: str, node_id: int, vmid: int) -> tuple[str, str] | None:
    """(pve_node, name) of LXC `vmid` as seen through the user's node `node_id`, or None.

    Raises NodeNotFound for a node that is not the user's; ProxmoxError when unreachable.
    """
    client = await asyncio.to_thread(nodes.client_for, user_id, node_id)
    async with client as pve:
        resources = await pve.cluster_resources(type="vm")
    for resource in resources:
        if resource.type == "lxc" and resource.vmid == vmid and resource.node:
            return resource.node, resource.name or f"CT {vmid}"
    return None
