"""The server-side checks before a clone or a template conversion starts: the source read
again from Proxmox, the rules of `plan`, and the token's privileges (`GET
/access/permissions`), so a refusal names what is wrong before anything is started.
Proxmox checks VM.Backup-like privileges of some actions only inside the worker: the app
never relies on the task to say it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from lxc_manager.proxmox import Permissions, ProxmoxClient

from .options import rootdir_storages
from .plan import ClonePlan, CloneSource, clone_errors, required_privileges, template_error
from .source import MSG_NOT_FOUND, find_pve_node, read_source

__all__ = [
    "Checked",
    "check_clone",
    "check_template",
    "missing_privilege",
    "missing_privilege_message",
]


@dataclass(frozen=True)
class Checked:
    """A source that may be acted on (`errors` empty), or why not."""

    source: CloneSource | None
    errors: dict[str, str] = field(default_factory=dict)


def missing_privilege(
    permissions: Permissions, needed: Sequence[tuple[str, str]]
) -> tuple[str, str] | None:
    """The first (path, privilege) of `needed` the token does not hold, or None."""
    return next(((p, priv) for p, priv in needed if not permissions.allows(p, priv)), None)


def missing_privilege_message(path: str, privilege: str) -> str:
    return (
        f"The node's API token lacks the {privilege} privilege on {path}: grant it in "
        "Proxmox (Datacenter → Permissions) and try again. Nothing was started."
    )


async def _source(client: ProxmoxClient, vmid: int) -> CloneSource | None:
    pve_node = await find_pve_node(client, vmid)
    return None if pve_node is None else await read_source(client, pve_node, vmid)


async def check_clone(client: ProxmoxClient, vmid: int, plan: ClonePlan) -> Checked:
    source = await _source(client, vmid)
    if source is None:
        return Checked(None, {"form": MSG_NOT_FOUND})
    nodes, permissions = await asyncio.gather(client.nodes(), client.permissions())
    online = tuple(sorted(n.node for n in nodes if n.status == "online"))
    storages = await rootdir_storages(client, online)
    errors = clone_errors(source, plan, storages, online)
    if errors:
        return Checked(source, errors)
    missing = missing_privilege(permissions, required_privileges(source, plan))
    if missing is not None:
        return Checked(source, {"form": missing_privilege_message(*missing)})
    return Checked(source)


async def check_template(client: ProxmoxClient, vmid: int) -> Checked:
    source = await _source(client, vmid)
    if source is None:
        return Checked(None, {"form": MSG_NOT_FOUND})
    if problem := template_error(source):
        return Checked(source, {"form": problem})
    permissions = await client.permissions()
    missing = missing_privilege(permissions, [(f"/vms/{vmid}", "VM.Allocate")])
    if missing is not None:
        return Checked(source, {"form": missing_privilege_message(*missing)})
    return Checked(source)
