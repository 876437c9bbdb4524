"""Containers across the user's nodes: listing and lifecycle (plain async Python, no Reflex).

`listing.list_containers` fans out to every cluster the user reaches; `lifecycle` runs
start / shutdown / stop / reboot / delete through the user's own node, one at a time per
container, and audits each; `known` remembers what Proxmox's listing lacks (addresses,
the last listing of an unreachable cluster): `remember_ip` whenever an address is learnt.
"""

from .detail import (
    DetailUnavailable,
    HistoryPoint,
    Metrics,
    Overview,
    Service,
    Services,
    Snapshot,
    audit_reveal,
    create_snapshot,
    delete_snapshot,
    follow_log,
    get_history,
    get_metrics,
    get_overview,
    get_services,
    list_snapshots,
    rollback_snapshot,
    tail_log,
)
from .known import cluster_key_of, remember_ip
from .lifecycle import (
    ACTIONS,
    ActionResult,
    bulk_action,
    delete_container,
    run_action,
    task_log,
)
from .listing import ContainerRow, Listing, NodeProblem, list_containers

__all__ = [
    "ACTIONS",
    "ActionResult",
    "ContainerRow",
    "DetailUnavailable",
    "HistoryPoint",
    "Listing",
    "Metrics",
    "NodeProblem",
    "Overview",
    "Service",
    "Services",
    "Snapshot",
    "audit_reveal",
    "bulk_action",
    "cluster_key_of",
    "create_snapshot",
    "delete_container",
    "delete_snapshot",
    "follow_log",
    "get_history",
    "get_metrics",
    "get_overview",
    "get_services",
    "list_containers",
    "list_snapshots",
    "remember_ip",
    "rollback_snapshot",
    "run_action",
    "tail_log",
    "task_log",
]
