"""Each user's Proxmox nodes: CRUD, connection test, default node, per-user scoping.

Plain async Python (no Reflex); the page `/settings/nodes` calls `service`.
"""

from .members import MemberKey, MemberKeyChanged, MemberNotFound, MemberUnreachable
from .service import (
    PRIVSEP_HINT,
    CheckResult,
    NodeClient,
    NodeInput,
    NodeNotFound,
    NodeSecretError,
    NodeView,
    Probe,
    check_node,
    client_for,
    create_node,
    delete_node,
    get_node,
    get_node_sync,
    list_nodes,
    list_nodes_sync,
    make_default,
    probe_nodes,
    rotate_keys,
    shared_node_clients,
    ssh_target_for,
    ssh_target_on,
    update_node,
)
from .types import cluster_key_of

__all__ = [
    "PRIVSEP_HINT",
    "CheckResult",
    "MemberKey",
    "MemberKeyChanged",
    "MemberNotFound",
    "MemberUnreachable",
    "NodeClient",
    "NodeInput",
    "NodeNotFound",
    "NodeSecretError",
    "NodeView",
    "Probe",
    "check_node",
    "client_for",
    "cluster_key_of",
    "create_node",
    "delete_node",
    "get_node",
    "get_node_sync",
    "list_nodes",
    "list_nodes_sync",
    "make_default",
    "probe_nodes",
    "rotate_keys",
    "shared_node_clients",
    "ssh_target_for",
    "ssh_target_on",
    "update_node",
]
