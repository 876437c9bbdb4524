"""Clone and template conversion as operation jobs, for the pages: `submit_clone` and
`submit_template` check everything on the server first (the source read again, the rules
of `plan`, the token's privileges, the new VMID checked and reserved like the wizard's)
and start nothing when something is wrong; the job's steps run on the RQ workers.

    result = await submit_clone(user_id, node_id, vmid, plan)
    if result.job_id is None: show result.errors next to the fields
    else: open the operation's progress page
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field

import redis.exceptions
from sqlalchemy.exc import SQLAlchemyError

from lxc_manager.nodes import NodeNotFound, NodeSecretError, client_for, get_node_sync
from lxc_manager.nodes.types import cluster_key_of
from lxc_manager.provisioning import vmids
from lxc_manager.proxmox import ProxmoxError
from lxc_manager.proxmox.errors import short_message
from lxc_manager.security import audit

from .checks import check_clone, check_template
from .plan import ClonePlan

__all__ = ["SubmitResult", "submit_clone", "submit_template"]

log = logging.getLogger(__name__)

MSG_NODE_NOT_FOUND = "Node not found"
MSG_VMID_RACE = "VMID {vmid} was just taken by another request"
MSG_QUEUE_FAILED = "The job could not be queued (internal error); try again"
HOLD_SECONDS = 3600 + 900


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
