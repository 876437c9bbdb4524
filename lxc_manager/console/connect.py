"""The first way into a container that works: Proxmox's console (termproxy), else SSH
(`pct enter`) when the node has SSH credentials. `Opened.message` says which and why."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from lxc_manager.nodes import service as nodes
from lxc_manager.nodes.types import NodeNotFound, NodeSecretError
from lxc_manager.proxmox import PermissionDenied, ProxmoxError
from lxc_manager.proxmox.websocket import WebSocketClosed
from lxc_manager.ssh import SshError

from .session import Upstream
from .ssh import open_ssh_console
from .termproxy import TermproxyRefused, open_termproxy_console

__all__ = [
    "MSG_TERMPROXY",
    "ContainerNotFound",
    "NoWayIn",
    "Opened",
    "open_upstream",
]

log = logging.getLogger(__name__)

MSG_TERMPROXY = "Connected through Proxmox's console"
MSG_SSH = "connected through SSH (pct enter)"


class ContainerNotFound(Exception):
    """No such container on the user's node (or no such node of the user)."""


class NoWayIn(Exception):
    """Neither path opened a terminal; the message says why (fit for the browser)."""


@dataclass
class Opened:
    upstream: Upstream
    pve_node: str
    name: str
    message: str


def _termproxy_failure(exc: BaseException) -> str:
    if isinstance(exc, PermissionDenied):
        return "Proxmox refused the console (the token lacks VM.Console)"
    if isinstance(exc, ProxmoxError):
        return f"Proxmox's console failed ({exc.user_message})"
    if isinstance(exc, TimeoutError):
        return "Proxmox's console did not answer in time"
    return "Proxmox's console closed the connection"


async def _locate(user_id: str, node_id: int, vmid: int) -> tuple[str, str]:
    try:
        client = await asyncio.to_thread(nodes.client_for, user_id, node_id)
    except NodeNotFound:
        raise ContainerNotFound() from None
    except NodeSecretError as exc:
        raise NoWayIn(exc.user_message) from None
    try:
        async with client as pve:
            resources = await pve.cluster_resources(type="vm")
    except ProxmoxError as exc:
        raise NoWayIn(f"The node cannot be reached: {exc.user_message}") from None
    for resource in resources:
        if resource.type == "lxc" and resource.vmid == vmid and resource.node:
            return resource.node, resource.name or f"CT {vmid}"
    raise ContainerNotFound()


async def _ssh(
    user_id: str, node_id: int, pve_node: str, vmid: int, cols: int, rows: int, why: str
) -> Upstream:
    client = await asyncio.to_thread(nodes.client_for, user_id, node_id)
    try:
        async with client as pve:
            target = await nodes.ssh_target_on(user_id, node_id, pve_node, pve)
    except SshError as exc:
        message = getattr(exc, "user_message", SshError.user_message)
        raise NoWayIn(f"{why}; SSH is not possible: {message}") from None
    if target is None:
        raise NoWayIn(f"{why}, and the node has no SSH credentials")
    try:
        return await open_ssh_console(target, vmid, cols, rows)
    except SshError as exc:
        log.info("console SSH to %s for CT %s failed: %s", target.address, vmid, exc)
        raise NoWayIn(f"{why}; SSH failed: {exc.user_message}") from None


async def open_upstream(user_id: str, node_id: int, vmid: int, cols: int, rows: int) -> Opened:
    """Open a terminal on container `vmid` of the user's node `node_id`.

    Raises ContainerNotFound (not the user's node, or no such container) or NoWayIn."""
    pve_node, name = await _locate(user_id, node_id, vmid)
    client = await asyncio.to_thread(nodes.client_for, user_id, node_id)
    try:
        upstream: Upstream = await open_termproxy_console(client, pve_node, vmid, cols, rows)
        return Opened(upstream, pve_node, name, MSG_TERMPROXY)
    except (ProxmoxError, TermproxyRefused, TimeoutError, WebSocketClosed) as exc:
        log.info("console termproxy for CT %s on %s: %r", vmid, pve_node, exc)
        why = _termproxy_failure(exc)
    upstream = await _ssh(user_id, node_id, pve_node, vmid, cols, rows, why)
    return Opened(upstream, pve_node, name, f"{why}: {MSG_SSH}")
