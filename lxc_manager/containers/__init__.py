"""Containers across the user's nodes: listing and lifecycle (plain async Python, no Reflex).

`listing.list_containers` fans out to every cluster the user reaches; `lifecycle` runs
start / shutdown / stop / reboot / delete through the user's own node, one at a time per
container, and audits each.
"""

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
    "Listing",
    "NodeProblem",
    "bulk_action",
    "delete_container",
    "list_containers",
    "run_action",
    "task_log",
]
