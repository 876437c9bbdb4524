"""Containers across the user's nodes: listing and lifecycle (plain async Python, no Reflex).

`listing.list_containers` fans out to every cluster the user reaches; `lifecycle` runs
start / shutdown / stop / reboot / delete through the user's own node, one at a time per
container, and audits each.
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
    "rollback_snapshot",
    "run_action",
    "tail_log",
    "task_log",
]
