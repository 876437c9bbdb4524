"""What the nodes page shows and what its form submits (Reflex-free).

Secrets typed into the form pass through the submit event to the service and are never
kept in state; stored secrets are never sent back to the browser (blank = keep, except
where the edit moves them: a new host, port or token ID needs the token secret again, a
new host, SSH port or SSH user the SSH secret; the hints under the fields say so).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel

from lxc_manager.nodes.service import NodeView, Probe

TOKEN_KEEP_HINT = (
    "Leave blank to keep the stored secret. Changing the host, port or token ID needs it "
    "again: a stored secret is never sent to a new address."
)
SSH_KEEP_HINT = (
    "Leave blank to keep the stored secret. Changing the host, SSH port or SSH user needs "
    "it again: a stored secret is never sent to a new address."
)
NO_SSH = "not configured"


@dataclass(frozen=True)
class NodeForm:
    """The node dialog's submitted fields (control names). `ssh_secret` is the SSH
    password or private key, whichever `NodesState.f_ssh_kind` shows."""

    name: str = ""
    host: str = ""
    port: str = ""
    token_id: str = ""
    token_secret: str = ""
    ssh_user: str = ""
    ssh_port: str = ""
    ssh_secret: str = ""
    clear_ssh: str = ""


class MemberRow(BaseModel):
    """A cluster member's SSH host key as the page shows it."""

    name: str
    ip: str
    key: str


class NodeRow(BaseModel):
    id: int
    name: str
    address: str
    token_id: str
    is_default: bool
    cluster: str
    pve_nodes: list[str]
    ssh: str
    member_keys: list[MemberRow] = []  # the other cluster members' pinned SSH host keys
    same_cluster_as: str = ""  # other nodes of this user that reach the same cluster
    status: str = "checking"  # checking | online | offline
    latency: str = ""
    error: str = ""


def node_row(view: NodeView, same_cluster_as: str = "") -> NodeRow:
    address = f"[{view.host}]:{view.port}" if ":" in view.host else f"{view.host}:{view.port}"
    return NodeRow(
        id=view.id,
        name=view.name,
        address=address,
        token_id=view.token_id,
        is_default=view.is_default,
        cluster=view.cluster_name or "standalone",
        pve_nodes=list(view.pve_nodes),
        ssh=f"{view.ssh_user}@…:{view.ssh_port}" if view.has_ssh else NO_SSH,
        member_keys=[MemberRow(name=m.name, ip=m.ip, key=m.key) for m in view.member_keys],
        same_cluster_as=same_cluster_as,
    )


def node_rows(views: Sequence[NodeView]) -> list[NodeRow]:
    """One row a node, naming the user's other nodes that reach the same cluster."""
    return [
        node_row(
            view,
            ", ".join(
                v.name for v in views if v.cluster_key == view.cluster_key and v.id != view.id
            ),
        )
        for view in views
    ]


def probed(row: NodeRow, probe: Probe | None) -> NodeRow:
    """The row with its reachability, latency and SSH status (unchanged without a probe)."""
    if probe is None:
        return row
    return row.model_copy(
        update={
            "status": "online" if probe.reachable else "offline",
            "latency": f"{probe.latency_ms:.0f} ms" if probe.latency_ms is not None else "",
            "error": probe.error,
            "ssh": probe.ssh if row.ssh != NO_SSH else row.ssh,
        }
    )


def parse_port(text: str, default: int) -> int:
    """`default` when blank, -1 (refused by the service) when not a port number."""
    text = text.strip()
    return int(text) if text.isdigit() and 0 < int(text) < 65536 else (default if not text else -1)


def is_checked(value: str) -> bool:
    return value in ("on", "true", "1")
