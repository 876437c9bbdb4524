"""The server-side checks before a clone or a template conversion starts: the source read
again from Proxmox, the rules of `plan`, and the token's privileges (`GET
/access/permissions`), so a refusal names what is wrong before anything is started
(with the backups package's privilege helpers, `backups.privileges`)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from lxc_manager.backups.privileges import Need, first_missing, missing_message
from lxc_manager.proxmox import ProxmoxClient
from lxc_manager.proxmox.backup_api import acl_vm

from .options import rootdir_storages
from .plan import ClonePlan, CloneSource, clone_errors, required_privileges, template_error
from .source import MSG_NOT_FOUND, find_pve_node, read_source

__all__ = ["Checked", "check_clone", "check_template"]


@dataclass(frozen=True)
class Checked:
    """A source that may be acted on (`errors` empty), or why not."""

    source: CloneSource | None
    errors: dict[str, str] = field(default_factory=dict)


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
    needs = [Need(path, privilege) for path, privilege in required_privileges(source, plan)]
    missing = first_missing(permissions, needs)
    if missing is not None:
        return Checked(source, {"form": missing_message(missing)})
    return Checked(source)


async def check_template(client: ProxmoxClient, vmid: int) -> Checked:
    source = await _source(client, vmid)
    if source is None:
        return Checked(None, {"form": MSG_NOT_FOUND})
    if problem := template_error(source):
        return Checked(source, {"form": problem})
    permissions = await client.permissions()
    missing = first_missing(permissions, [Need(acl_vm(vmid), "VM.Allocate")])
    if missing is not None:
        return Checked(source, {"form": missing_message(missing)})
    return Checked(source)
