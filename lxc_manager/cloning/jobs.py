"""Clone and template conversion as operation jobs, for the pages: `submit_clone` and
`submit_template` check everything on the server first (the source read again, the rules
of `plan`, the token's privileges) and start nothing when something is wrong; the new
VMID is checked and reserved like the wizard's (`operations.jobs.submit` holds it until
the run ends). The steps (`steps`) run on the RQ workers. Every attempt is audited
(`container.clone`, `container.template`).

    result = await submit_clone(user_id, node_id, vmid, plan)
    if result.job_id is None: show result.errors next to the fields
    else: open the operation's progress page
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy.exc import SQLAlchemyError

from lxc_manager.nodes import NodeNotFound, NodeSecretError, client_for, get_node_sync
from lxc_manager.operations.jobs import Step, submit
from lxc_manager.proxmox import ProxmoxClient, ProxmoxError
from lxc_manager.proxmox.errors import short_message
from lxc_manager.security import audit

from .checks import Checked, check_clone, check_template
from .plan import ClonePlan

__all__ = ["SubmitResult", "submit_clone", "submit_template"]

log = logging.getLogger(__name__)

MSG_NODE_NOT_FOUND = "Node not found"


@dataclass(frozen=True)
class SubmitResult:
    """`job_id` when the job was queued; otherwise `errors` ({field: message}) say why."""

    job_id: str | None
    errors: dict[str, str] = field(default_factory=dict)


async def _audit(action: str, user_id: str, target: str, ok: bool, detail: str) -> None:
    try:
        await asyncio.to_thread(
            audit.record,
            action,
            user_id=user_id,
            target=target,
            outcome=audit.Outcome.OK if ok else audit.Outcome.FAILED,
            detail=detail,
        )
    except SQLAlchemyError:
        log.exception("audit of %s on %s failed", action, target)


async def _checked(
    user_id: str, node_id: int, check: Callable[[ProxmoxClient], Awaitable[Checked]]
) -> tuple[str, Checked]:
    """The node's name and what `check` found with a client of it (errors for a node
    that is not the user's or Proxmox that cannot be asked)."""
    try:
        node = await asyncio.to_thread(get_node_sync, user_id, node_id)
        client = await asyncio.to_thread(client_for, user_id, node_id)
    except NodeNotFound:
        return f"node#{node_id}", Checked(None, {"form": MSG_NODE_NOT_FOUND})
    except NodeSecretError as exc:
        return f"node#{node_id}", Checked(None, {"form": exc.user_message})
    try:
        async with client:
            return node.name, await check(client)
    except ProxmoxError as exc:
        log.info("clone/template checks on node %s: %r", node_id, exc)
        return node.name, Checked(None, {"form": short_message(exc)})


def _describe(vmid: int, plan: ClonePlan, pve_node: str) -> str:
    kind = "full" if plan.full else "linked"
    origin = f" from snapshot {plan.snapname}" if plan.snapname else ""
    where = plan.target or pve_node
    storage = f", storage {plan.storage}" if plan.storage else ""
    return f"{kind} clone of CT {vmid}{origin} to CT {plan.newid} on {where}{storage}"


async def submit_clone(user_id: str, node_id: int, vmid: int, plan: ClonePlan) -> SubmitResult:
    """Check and queue a clone of CT `vmid` (found through the user's node `node_id`)."""
    name, checked = await _checked(user_id, node_id, lambda c: check_clone(c, vmid, plan))
    source = checked.source
    if checked.errors or source is None:
        detail = "; ".join(checked.errors.values()) or "refused"
        await _audit("container.clone", user_id, f"ct:{name}/{vmid}", False, detail)
        return SubmitResult(None, checked.errors or {"form": "refused"})
    title = f"Clone CT {vmid} ({source.hostname or 'no name'}) to CT {plan.newid}"
    step = Step(
        "clone",
        {
            "newid": plan.newid,
            "hostname": plan.hostname,
            "target": plan.target,
            "storage": plan.storage if plan.full else "",
            "full": plan.full,
            "snapname": plan.snapname,
            "description": plan.description,
        },
    )
    submitted = await submit(
        user_id,
        node_id,
        source.pve_node,
        vmid,
        kind="clone",
        title=title,
        steps=[step],
        hold_vmids=[plan.newid],
    )
    detail = _describe(vmid, plan, source.pve_node)
    if submitted.job_id is None:
        await _audit("container.clone", user_id, f"ct:{name}/{vmid}", False, submitted.error)
        where = "newid" if submitted.field == "vmid" else submitted.field
        return SubmitResult(None, {where: submitted.error})
    await _audit(
        "container.clone", user_id, f"ct:{name}/{vmid}", True, f"job {submitted.job_id}: {detail}"
    )
    return SubmitResult(submitted.job_id)


async def submit_template(user_id: str, node_id: int, vmid: int) -> SubmitResult:
    """Check and queue the conversion of CT `vmid` to a template (cannot be undone)."""
    name, checked = await _checked(user_id, node_id, lambda c: check_template(c, vmid))
    source = checked.source
    target = f"ct:{name}/{vmid}"
    if checked.errors or source is None:
        detail = "; ".join(checked.errors.values()) or "refused"
        await _audit("container.template", user_id, target, False, detail)
        return SubmitResult(None, checked.errors or {"form": "refused"})
    submitted = await submit(
        user_id,
        node_id,
        source.pve_node,
        vmid,
        kind="template",
        title=f"Convert CT {vmid} ({source.hostname or 'no name'}) to a template",
        steps=[Step("template", {})],
    )
    if submitted.job_id is None:
        await _audit("container.template", user_id, target, False, submitted.error)
        return SubmitResult(None, {"form": submitted.error})
    await _audit("container.template", user_id, target, True, f"job {submitted.job_id} queued")
    return SubmitResult(submitted.job_id)
