"""The operation step kinds of cloning (registered with `operations.registry`):

- `clone`     `POST /nodes/{node}/lxc/{vmid}/clone` of the job's container: args newid,
              hostname, target, storage, full, snapname, description; adds the clone's
              `vmid` and `pve_node` to the job's result
- `template`  `POST /nodes/{node}/lxc/{vmid}/template` of the job's container, its
              `vztemplate` task found and followed

Both follow their Proxmox task to the end with its log streamed live. The privileges and
rules were checked when the job was submitted (`checks`); Proxmox checks them again.
"""

from __future__ import annotations

from typing import Any

from lxc_manager.containers.known import forget_vmids
from lxc_manager.operations.registry import register
from lxc_manager.operations.run import StepContext, StepFailed
from lxc_manager.proxmox import ProxmoxError
from lxc_manager.proxmox.clone import lxc_clone, lxc_template
from lxc_manager.proxmox.errors import short_message

from .plan import refusal_message

__all__ = ["clone_step", "template_step"]


def _flag(value: Any) -> bool | None:
    return None if value is None else bool(value)


async def clone_step(ctx: StepContext, args: dict[str, Any]) -> str:
    newid = int(args["newid"])
    target = str(args.get("target") or "") or ctx.pve_node
    kind = "linked" if args.get("full") is False else "full"
    snapname = str(args.get("snapname") or "")
    what = f"{kind} clone of CT {ctx.vmid}" + (f" (snapshot {snapname})" if snapname else "")
    await ctx.line(f"{what} to CT {newid} on {target}")
    try:
        upid = await lxc_clone(
            ctx.client,
            ctx.pve_node,
            ctx.vmid,
            newid=newid,
            hostname=str(args.get("hostname") or "") or None,
            target=str(args.get("target") or "") or None,
            storage=str(args.get("storage") or "") or None,
            full=_flag(args.get("full")),
            snapname=snapname or None,
            description=str(args.get("description") or "") or None,
        )
    except ProxmoxError as exc:
        message = refusal_message(exc.detail) or short_message(exc)
        await ctx.audit("container.clone", False, f"{what}: {message}", ctx.target(newid))
        raise StepFailed(message, repr(exc)) from None
    try:
        await ctx.follow(upid, "The clone")
    except StepFailed as failed:
        await ctx.audit("container.clone", False, f"{what}: {failed.message}", ctx.target(newid))
        raise
    finally:
        await forget_vmids(ctx.user_id, ctx.job.cluster_key)
    ctx.result["vmid"], ctx.result["pve_node"] = newid, target
    await ctx.audit("container.clone", True, f"{what} on {target}", ctx.target(newid))
    return f"CT {newid} created on {target} ({kind} clone of CT {ctx.vmid})"


async def template_step(ctx: StepContext, args: dict[str, Any]) -> str:
    await ctx.line(f"converting CT {ctx.vmid} on {ctx.pve_node} to a template")
    try:
        upid = await lxc_template(ctx.client, ctx.pve_node, ctx.vmid)
    except ProxmoxError as exc:
        message = refusal_message(exc.detail) or short_message(exc)
        await ctx.audit("container.template", False, message)
        raise StepFailed(message, repr(exc)) from None
    await ctx.line(f"Proxmox task {upid}")
    try:
        await ctx.follow(upid, "The conversion")
    except StepFailed as failed:
        await ctx.audit("container.template", False, failed.message)
        raise
    await ctx.audit("container.template", True, "converted to a template")
    return f"CT {ctx.vmid} is now a template"


register("clone", "Clone", clone_step)
register("template", "Convert to template", template_step)
