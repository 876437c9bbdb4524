"""Which provisioning job (and template) created a container, for the container's pages.

Proxmox does not know that LXC Manager created a container; the job rows do. A container
is matched by the user, its cluster key and its VMID, newest job first (a VMID freed by a
delete may be used again by a later job).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select

from lxc_manager.db.engine import session_scope
from lxc_manager.db.models import ProvisioningEvent, ProvisioningJob

from .pipeline_run import step_name

__all__ = ["JobEvent", "Origin", "container_origin"]


@dataclass(frozen=True)
class JobEvent:
    at: datetime
    step: int
    step_name: str
    kind: str
    outcome: str
    message: str


@dataclass(frozen=True)
class Origin:
    job_id: str
    template_id: int | None
    template_name: str
    status: str
    created_at: datetime
    finished_at: datetime | None
    events: tuple[JobEvent, ...]


def container_origin(user_id: str, cluster_key: str, vmid: int) -> Origin | None:
    """The newest job of `user_id` that created (or is creating) `vmid` in the cluster."""
    with session_scope() as session:
        job = session.exec(
            select(ProvisioningJob)
            .where(
                ProvisioningJob.user_id == user_id,
                ProvisioningJob.cluster_key == cluster_key,
                ProvisioningJob.vmid == vmid,
                ProvisioningJob.status != "destroyed",
            )
            .order_by(col(ProvisioningJob.created_at).desc())
        ).first()
        if job is None:
            return None
        events = session.exec(
            select(ProvisioningEvent)
            .where(ProvisioningEvent.job_id == job.id)
            .order_by(col(ProvisioningEvent.at), col(ProvisioningEvent.id))
        ).all()
        return Origin(
            job_id=job.id,
            template_id=job.template_id,
            template_name=job.template_name,
            status=job.status,
            created_at=job.created_at,
            finished_at=job.finished_at,
            events=tuple(
                JobEvent(e.at, e.step, step_name(e.step), e.kind, e.outcome, e.message)
                for e in events
            ),
        )
