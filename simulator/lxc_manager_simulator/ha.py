"""HA resources (`ha-manager`) as the container API sees them.

What Proxmox does (pve-container src/PVE/API2/LXC/Status.pm, pve-ha-manager
src/PVE/HA/Config.pm): start / stop / shutdown of a container that is an HA resource (not
in state `ignored`, `vm_is_ha_managed`) do not touch the container. They fork a `hastart` /
`hastop` task that only runs `ha-manager set ct:N --state started` or `ha-manager
crm-command stop ct:N TIMEOUT` and ends as soon as the request is queued. The cluster
resource manager then acts on its next rounds: the node's LRM runs the real `vzstart` /
`vzstop` task (as root@pam), a few seconds later. Here that is a follow-up task due
`crm_delay` simulated seconds after the request (`advance` gets there sooner).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .model import Cluster, Container

# Requested states of an HA resource (pve-ha-manager src/PVE/HA/Resources.pm `state`).
STATES = ("started", "stopped", "enabled", "disabled", "ignored")
CRM_USER = "root@pam"


@dataclass
class HaResource:
    sid: str  # "ct:100"
    state: str = "started"
    max_restart: int = 1
    max_relocate: int = 1
    comment: str | None = None

    @property
    def type(self) -> str:
        return self.sid.split(":", 1)[0]

    @property
    def vmid(self) -> int:
        return int(self.sid.split(":", 1)[1])

    def view(self, digest: str) -> dict[str, Any]:
        """As `GET /cluster/ha/resources` lists it (Resources.pm `$api_copy_config`)."""
        entry: dict[str, Any] = {
            "sid": self.sid,
            "type": self.type,
            "state": self.state,
            "max_restart": self.max_restart,
            "max_relocate": self.max_relocate,
            "digest": digest,
        }
        if self.comment:
            entry["comment"] = self.comment
        return entry


def sid_of(vmid: int) -> str:
    return f"ct:{vmid}"


def digest(cluster: Cluster) -> str:
    text = "\n".join(f"{r.sid}:{r.state}:{r.comment}" for r in cluster.ha_resources.values())
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def resource_of(cluster: Cluster, vmid: int) -> HaResource | None:
    return cluster.ha_resources.get(sid_of(vmid))


def is_managed(cluster: Cluster, vmid: int) -> bool:
    """Config.pm `vm_is_ha_managed`: configured and not `ignored`."""
    resource = resource_of(cluster, vmid)
    return resource is not None and resource.state != "ignored"


def service_status(cluster: Cluster, vmid: int) -> dict[str, Any]:
    """The `ha` object of status/current (Config.pm `get_service_status`)."""
    resource = resource_of(cluster, vmid)
    if resource is None or resource.state == "ignored":
        return {"managed": 0}
    return {"managed": 1, "state": _service_state(cluster, resource)}


def hastate(cluster: Cluster, vmid: int) -> str | None:
    """`hastate` of a guest in /cluster/resources (pve-manager PVE/API2/Cluster.pm)."""
    resource = resource_of(cluster, vmid)
    return None if resource is None else _service_state(cluster, resource)


def _service_state(cluster: Cluster, resource: HaResource) -> str:
    ct = cluster.find_container(resource.vmid)
    if resource.state in ("started", "enabled"):
        return "started" if ct is not None and ct.status == "running" else "starting"
    if resource.state == "stopped":
        return "stopped" if ct is None or ct.status == "stopped" else "request_stop"
    return resource.state


def crm_delay(cluster: Cluster) -> float:
    """Simulated seconds between a queued HA request and the LRM's task."""
    return max(1.0, 3 * cluster.task_seconds)


def request(cluster: Cluster, ct: Container, state: str, user: str) -> str:
    """The `hastart` / `hastop` task: queue the request; the CRM applies it later."""
    started = state == "started"
    kind, verb = ("hastart", "start") if started else ("hastop", "stop")

    def queue() -> None:
        resource = resource_of(cluster, ct.vmid)
        if resource is None:
            raise _error(f"resource 'ct:{ct.vmid}' is not HA managed")
        resource.state = state
        cluster.start_task(
            node=ct.node,
            task_type="vzstart" if started else "vzstop",
            task_id=str(ct.vmid),
            user=CRM_USER,
            action=_apply(cluster, ct, started),
            seconds=crm_delay(cluster),
        )

    task = cluster.start_task(
        node=ct.node,
        task_type=kind,
        task_id=str(ct.vmid),
        user=user,
        action=queue,
        log=[f"Requesting HA {verb} for CT {ct.vmid}"],
    )
    return task.upid


def _apply(cluster: Cluster, ct: Container, start: bool) -> Callable[[], None]:
    def apply() -> None:
        if cluster.find_container(ct.vmid) is not ct:
            return  # destroyed meanwhile
        if start and ct.status != "running":
            cluster.start_container(ct)
        elif not start and ct.status == "running":
            cluster.stop_container(ct)

    return apply


def _error(message: str) -> Exception:
    from .model import PveError

    return PveError(500, message)


def seed(cluster: Cluster) -> None:
    """A believable HA set-up: in a cluster of three or more nodes, the newest one or two
    containers are HA resources in the state they are in."""
    if len(cluster.nodes) < 3 or len(cluster.containers) < 4:
        return
    newest = sorted(cluster.containers)[-(2 if len(cluster.containers) >= 10 else 1) :]
    for vmid in newest:
        running = cluster.containers[vmid].status == "running"
        resource = HaResource(sid_of(vmid), state="started" if running else "stopped")
        cluster.ha_resources[resource.sid] = resource
