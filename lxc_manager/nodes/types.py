"""What the node service takes and gives back. No type here ever carries a stored secret
out of the service: `NodeView` is what a page may show."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from lxc_manager.proxmox.errors import ClientUnavailable

from .members import MemberKey

if TYPE_CHECKING:
    from lxc_manager.proxmox import ProxmoxClient

SSH_KINDS = ("password", "key")


@dataclass(frozen=True)
class NodeInput:
    """The node form. On edit, an empty `token_secret` / `ssh_secret` keeps the stored one;
    on create, an empty `ssh_secret` means no SSH."""

    name: str
    host: str
    port: int
    token_id: str
    token_secret: str | None = field(repr=False)
    ssh_user: str = "root"
    ssh_port: int = 22
    ssh_secret: str | None = field(default=None, repr=False)
    ssh_secret_kind: str = "password"  # "password" | "key"
    tls_fingerprint: str | None = None  # the fingerprint the user confirmed (None = not yet shown)
    ssh_host_key: str | None = None  # the SSH host key fingerprint the user confirmed
    clear_ssh: bool = False  # on edit: remove the stored SSH credentials
    # cluster members' SSH host keys the user confirmed (name -> fingerprint): needed only
    # when a pinned member key changed; a member's first key is pinned on first use
    member_host_keys: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class NodeView:
    """One node as the page may show it: no secrets."""

    id: int
    name: str
    host: str
    port: int
    token_id: str
    ssh_user: str
    ssh_port: int
    has_ssh: bool
    tls_fingerprint: str
    ssh_host_key: str | None
    is_default: bool
    cluster_name: str
    cluster_key: str
    pve_nodes: list[str]
    created_at: datetime
    updated_at: datetime
    member_keys: tuple[MemberKey, ...] = ()  # the other cluster members' pinned SSH host keys

    @property
    def address(self) -> str:
        """host:port, an IPv6 address in brackets."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def cluster_key_of(node: NodeView) -> str:
    """The node's cluster key (DESIGN §0; older rows without one are their own cluster)."""
    return node.cluster_key or f"node:{node.id}"


@dataclass(frozen=True)
class CheckResult:
    """The outcome of the connection test. With `ok=False` nothing was saved.

    `needs_tls_confirmation` / `needs_ssh_confirmation`: show `tls_fingerprint` /
    `ssh_host_key` (what the server presented) and submit again with them in `NodeInput`.
    With `ok=True` they hold the pins that are (or would be) stored. `member_keys`: the
    other cluster members' SSH host keys as the test saw them (with SSH credentials only);
    `needs_member_confirmation`: a pinned member key changed, confirm the `presented` ones
    in `NodeInput.member_host_keys`.
    """

    ok: bool
    field_errors: dict[str, str] = field(default_factory=dict)
    error: str = ""
    tls_fingerprint: str = ""
    needs_tls_confirmation: bool = False
    ssh_host_key: str = ""
    needs_ssh_confirmation: bool = False
    version: str = ""
    cluster_name: str = ""
    pve_nodes: list[str] = field(default_factory=list)
    missing_privileges: list[str] = field(default_factory=list)
    privsep_hint: bool = False
    cluster_key: str = ""
    member_keys: tuple[MemberKey, ...] = ()
    needs_member_confirmation: bool = False


@dataclass(frozen=True)
class Probe:
    """Reachability of one node right now. `ssh`: "ok", "not configured" or a short error."""

    reachable: bool
    latency_ms: float | None
    error: str
    ssh: str


class NodeNotFound(Exception):
    """Another user's node id, or a deleted one: the caller learns nothing more."""

    def __init__(self) -> None:
        super().__init__("Node not found")


class NodeSecretError(ClientUnavailable):
    """A stored secret does not decrypt (the key that sealed it is gone, or it was altered)."""

    user_message = "The stored credentials of this node cannot be read; enter them again."


@dataclass(frozen=True)
class NodeClient:
    """A node and a shared client for it (`proxmox.shared`: do not close it), or the error
    that prevents one (the stored secret does not decrypt)."""

    node: NodeView
    client: ProxmoxClient | None
    error: NodeSecretError | None = None
