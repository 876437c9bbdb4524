"""The operation step kinds of backups (registered with `operations.registry`):

- `backup`     vzdump of the job's container: args storage, mode, compress, notes,
               protected; adds the archive's volid to the job's result (`volids`)
- `restore`    `POST /nodes/{node}/lxc` with the archive: args volid, vmid (target),
               pve_node (target node), storage, hostname, force (over an existing CT)
- `delete-ct`  delete the job's container (stopping it first when `stop_first`), purged

The privileges were checked when the job was submitted (`actions`); Proxmox checks again.
"""

from __future__ import annotations

import re
from typing import Any

from lxc_manager.containers.known import forget_vmids
from lxc_manager.operations.registry import register
from lxc_manager.operations.run import StepContext, StepFailed
from lxc_manager.proxmox import NotFound
from lxc_manager.proxmox.backup_api import restore, vzdump

__all__ = ["archive_volid"]

# pve-manager PVE/VZDump.pm exec_backup_task: "creating vzdump archive '$tarfile'"
# (older: "creating archive '...'")
_ARCHIVE = re.compile(r"creating (?:vzdump )?archive '(?P<path>[^']+)'")
# ... and to a Proxmox Backup Server: "creating Proxmox Backup Server archive 'ct/105/<time>'"
_PBS_ARCHIVE = re.compile(r"creating Proxmox Backup Server archive '(?P<path>ct/\d+/[^']+)'")


def archive_volid(storage: str, lines: list[str]) -> str:
    """The volid of the archive a vzdump task wrote, from its log ("" when not said)."""
    for line in lines:
        match = _ARCHIVE.search(line)
        if match is not None:
            return f"{storage}:backup/{match['path'].rsplit('/', 1)[-1]}"
        match = _PBS_ARCHIVE.search(line)
        if match is not None:
            return f"{storage}:backup/{match['path']}"
    return ""


async def backup_step(ctx: StepContext, args: dict[str, Any]) -> str:
    storage = str(args["storage"])
    mode = str(args.get("mode") or "snapshot")
    upid = await vzdump(
        ctx.client,
        ctx.pve_node,
        ctx.vmid,
        storage=storage,
        mode=mode,
        compress=str(args.get("compress") or "zstd"),
        notes=str(args.get("notes") or "") or None,
        protected=bool(args.get("protected")),
    )
    if not upid.startswith("UPID:"):
        raise StepFailed(f"CT {ctx.vmid} is not on {ctx.pve_node}: Proxmox backed up nothing")
    try:
        lines = await ctx.follow(upid, "The backup")
    except StepFailed as failed:
        await ctx.audit("backup.create", False, f"{storage} ({mode}): {failed.message}")
        raise
    volid = archive_volid(storage, lines)
    if volid:
        ctx.result["volids"] = [*ctx.result.get("volids", []), volid]
        ctx.result["volid"] = volid
    await ctx.audit("backup.create", True, f"{volid or storage} ({mode})")
    return f"Backed up to {volid or storage}"


async def restore_step(ctx: StepContext, args: dict[str, Any]) -> str:
    volid = str(args["volid"])
    vmid = int(args.get("vmid") or ctx.vmid)
    node = str(args.get("pve_node") or ctx.pve_node)
    force = bool(args.get("force"))
    upid = await restore(
        ctx.client,
        node,
        vmid,
        volid,
        storage=str(args.get("storage") or "") or None,
        hostname=str(args.get("hostname") or "") or None,
        force=force,
        # A copy beside its original gets new MAC addresses (two guests with one address on
        # a bridge cut the original off); a restore over the same container keeps them.
        unique=not force,
    )
    action = "backup.restore_over" if force else "backup.restore_new"
    try:
        await ctx.follow(upid, "The restore")
    except StepFailed as failed:
        await ctx.audit(action, False, f"from {volid}: {failed.message}", ctx.target(vmid))
        raise
    finally:
        await forget_vmids(ctx.user_id, ctx.job.cluster_key)
    ctx.result["vmid"] = vmid
    ctx.result["pve_node"] = node
    await ctx.audit(action, True, f"from {volid} on {node}", ctx.target(vmid))
    return f"CT {vmid} restored from {volid.rsplit('/', 1)[-1]}"


async def delete_ct_step(ctx: StepContext, args: dict[str, Any]) -> str:
    try:
        status = await ctx.client.lxc_status(ctx.pve_node, ctx.vmid)
    except NotFound:
        return f"CT {ctx.vmid} was already gone"
    if status.status == "running":
        if not args.get("stop_first"):
            raise StepFailed("The container is running: stop it first")
        await ctx.line(f"stopping CT {ctx.vmid}")
        await ctx.follow(await ctx.client.lxc_action(ctx.pve_node, ctx.vmid, "stop"), "Stop")
    upid = await ctx.client.lxc_delete(
        ctx.pve_node, ctx.vmid, purge=True, destroy_unreferenced_disks=True
    )
    try:
        await ctx.follow(upid, "The delete")
    except StepFailed as failed:
        await ctx.audit("container.delete", False, failed.message)
        raise
    finally:
        await forget_vmids(ctx.user_id, ctx.job.cluster_key)
    await ctx.audit("container.delete", True, "deleted (purged)")
    return f"CT {ctx.vmid} deleted"


register("backup", "Back up", backup_step)
register("restore", "Restore", restore_step)
register("delete-ct", "Delete the container", delete_ct_step)
