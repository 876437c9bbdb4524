"""Reaching one container for the detail functions: input checks, the user's client, the
SSH target on the right cluster member, the SSH pool, and the container's address.

`DetailUnavailable` (a command in the container could not run) lives here; `detail`
re-exports it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from lxc_manager.nodes import (
    MemberKeyChanged,
    MemberNotFound,
    MemberUnreachable,
    client_for,
    ssh_target_for,
    ssh_target_on,
)
from lxc_manager.proxmox import ProxmoxClient, ProxmoxError
from lxc_manager.ssh import SshError, SshPool, SshTarget

from .detail_parsing import first_ipv4_from_ip_json, ipv4_from_interfaces, valid_unit
from .lifecycle import validation_error

# Logged under the name these messages have always had.
log = logging.getLogger("lxc_manager.containers.detail")

COMMAND_TIMEOUT = 20.0

MSG_NO_SSH = "SSH is not configured for this node: add SSH credentials in the node settings"


MSG_SSH_FAILED = "Could not reach the node over SSH"


class DetailUnavailable(Exception):
    """A command in the container could not run; `user_message` says why (no details)."""

    def __init__(self, user_message: str, detail: str = "") -> None:
        super().__init__(detail or user_message)
        self.user_message = user_message


def _check(pve_node: str, vmid: int) -> None:
    problem = validation_error(pve_node, vmid)
    if problem is not None:
        raise ValueError(problem)


def _check_unit(unit: str) -> None:
    if not valid_unit(unit):
        raise ValueError("Invalid service name")


async def _client(user_id: str, node_id: int) -> ProxmoxClient:
    return await asyncio.to_thread(client_for, user_id, node_id)


async def _has_ssh(user_id: str, node_id: int) -> bool:
    return await asyncio.to_thread(ssh_target_for, user_id, node_id) is not None


_MEMBER_ERRORS = (MemberKeyChanged, MemberNotFound, MemberUnreachable)


async def _node_target(
    user_id: str, node_id: int, pve_node: str, client: ProxmoxClient | None = None
) -> SshTarget:
    """The SSH target that runs `pct` on `pve_node` (the member itself, see
    `nodes.members`). Raises DetailUnavailable (no SSH, member unreachable or its host key
    changed: the message says which) or NodeNotFound."""
    try:
        if client is None:
            async with await _client(user_id, node_id) as own:
                target = await ssh_target_on(user_id, node_id, pve_node, own)
        else:
            target = await ssh_target_on(user_id, node_id, pve_node, client)
    except _MEMBER_ERRORS as exc:
        raise DetailUnavailable(exc.user_message, str(exc)) from exc
    except SshError as exc:
        raise DetailUnavailable(MSG_SSH_FAILED, str(exc)) from exc
    if target is None:
        raise DetailUnavailable(MSG_NO_SSH)
    return target


@asynccontextmanager
async def _pool_scope(pool: SshPool | None) -> AsyncIterator[SshPool]:
    """The caller's pool, or a pool of our own closed at the end (its connections too)."""
    if pool is not None:
        yield pool
        return
    async with SshPool(command_timeout=COMMAND_TIMEOUT) as own:
        yield own


async def _api_ip(client: ProxmoxClient, pve_node: str, vmid: int) -> str | None:
    try:
        return ipv4_from_interfaces(await client.lxc_interfaces(pve_node, vmid))
    except ProxmoxError as exc:
        log.info("interfaces of CT %s not available: %r", vmid, exc)
        return None


async def _ssh_ip(target: SshTarget, vmid: int, pool: SshPool | None) -> str | None:
    try:
        async with _pool_scope(pool) as ssh:
            result = await ssh.pct_exec(target, vmid, ["ip", "-j", "addr"], timeout=10)
    except SshError as exc:
        log.info("ip -j addr in CT %s failed: %r", vmid, exc)
        return None
    return first_ipv4_from_ip_json(result.stdout) if result.ok else None
