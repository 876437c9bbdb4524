"""Every container of a user, across all their nodes (DESIGN §0, §6).

One `GET /cluster/resources?type=vm` per cluster, all clusters at once, each within its
own deadline: a slow or dead node costs its own containers (and a `NodeProblem`), never
the others' time. Two endpoints of one cluster (same cluster key) are asked once: the
default node first, then the oldest; the next one only when that fails.

    listing = await list_containers(user_id)
    for row in listing.containers: ...      # sorted by (node_name, vmid)
    for problem in listing.problems: ...    # "pve-lab unreachable — retrying"
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lxc_manager.nodes import NodeNotFound, NodeSecretError, NodeView, client_for, list_nodes
from lxc_manager.proxmox import (
    AuthenticationError,
    CertificateInvalid,
    ClusterResource,
    PermissionDenied,
    ProxmoxClient,
    Unreachable,
)

__all__ = [
    "ContainerRow",
    "Listing",
    "NodeProblem",
    "cluster_groups",
    "list_containers",
    "parse_tags",
    "problem_message",
    "row_from_resource",
]

log = logging.getLogger(__name__)

# A failing attempt that is not the last of its cluster gets at most this share of the time
# left, so the cluster's other endpoints still get a chance within the same deadline.
_FIRST_ATTEMPT_SHARE = 0.6
_TAG_SEPARATORS = re.compile(r"[;,\s]+")


@dataclass(frozen=True)
class ContainerRow:
    key: str  # f"{node_id}:{vmid}": stable, unique in a listing
    node_id: int  # the user's node (endpoint) through which it was listed
    node_name: str  # that node's name (the "node badge")
    pve_node: str  # the Proxmox node hosting it (e.g. "pve2")
    vmid: int
    name: str
    status: str  # "running" | "stopped" | other Proxmox statuses ("unknown", ...)
    cpu: float  # fraction of maxcpu in use (0..1), as cluster/resources reports it
    maxcpu: int
    mem: int
    maxmem: int
    disk: int
    maxdisk: int
    uptime: int  # seconds
    tags: tuple[str, ...]  # sorted
    template: bool


@dataclass(frozen=True)
class NodeProblem:
    node_id: int
    node_name: str
    message: str  # short user text, e.g. "pve-lab unreachable — retrying"


@dataclass(frozen=True)
class Listing:
    containers: tuple[ContainerRow, ...]  # LXC only, sorted by (node_name, vmid)
    problems: tuple[NodeProblem, ...]  # sorted by node_name
    duration_ms: float


# -- pure helpers ---------------------------------------------------------------------------


def parse_tags(text: str | None) -> tuple[str, ...]:
    """Proxmox tags ("a;b", older versions also "," or spaces): unique, sorted."""
    if not text:
        return ()
    return tuple(sorted({tag for tag in _TAG_SEPARATORS.split(text) if tag}))


def row_from_resource(node: NodeView, res: ClusterResource) -> ContainerRow | None:
    """The row of one `cluster/resources` entry; None for anything but an LXC container."""
    if res.type != "lxc" or res.vmid is None:
        return None
    return ContainerRow(
        key=f"{node.id}:{res.vmid}",
        node_id=node.id,
        node_name=node.name,
        pve_node=res.node or "",
        vmid=res.vmid,
        name=res.name or f"CT {res.vmid}",
        status=res.status or "unknown",
        cpu=float(res.cpu or 0.0),
        maxcpu=int(res.maxcpu or 0),
        mem=res.mem or 0,
        maxmem=res.maxmem or 0,
        disk=res.disk or 0,
        maxdisk=res.maxdisk or 0,
        uptime=res.uptime or 0,
        tags=parse_tags(res.tags),
        template=bool(res.template),
    )


def cluster_groups(nodes: Iterable[NodeView]) -> list[list[NodeView]]:
    """The user's nodes grouped by cluster key, each group in the order to try: the default
    node first, then the oldest. A node without a cluster key is a group of its own."""
    groups: dict[str, list[NodeView]] = {}
    for node in nodes:
        groups.setdefault(node.cluster_key or f"node:{node.id}", []).append(node)
    for members in groups.values():
        members.sort(key=lambda n: (not n.is_default, n.created_at, n.id))
    return list(groups.values())


def problem_message(node_name: str, error: BaseException, timeout: float) -> str:
    """Short text for the dashboard; the details go to the log."""
    if isinstance(error, TimeoutError):
        return f"{node_name} did not answer within {timeout:g} s — retrying"
    if isinstance(error, NodeSecretError):
        return error.user_message
    if isinstance(error, Unreachable):
        return f"{node_name} unreachable — retrying"
    if isinstance(error, CertificateInvalid):
        return f"{node_name}: {error.user_message}"
    if isinstance(error, AuthenticationError):
        return f"{node_name}: Proxmox refused the API token"
    if isinstance(error, PermissionDenied):
        return f"{node_name}: the API token may not list guests"
    if isinstance(error, NodeNotFound):
        return f"{node_name}: node not found"
    return f"{node_name}: Proxmox reported an error"


# -- fetching -------------------------------------------------------------------------------


async def _fetch(client: ProxmoxClient, node: NodeView, budget: float) -> list[ContainerRow]:
    async with client, asyncio.timeout(budget):
        resources = await client.cluster_resources(type="vm")
    rows = (row_from_resource(node, res) for res in resources)
    return [row for row in rows if row is not None]


async def _list_cluster(
    user_id: str,
    members: Sequence[NodeView],
    timeout: float,  # noqa: ASYNC109
) -> tuple[list[ContainerRow], NodeProblem | None]:
    """Ask the members in order until one answers, all within one deadline of `timeout`."""
    deadline = time.monotonic() + timeout
    first_error: BaseException | None = None
    for index, node in enumerate(members):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        last = index == len(members) - 1
        budget = remaining if last else remaining * _FIRST_ATTEMPT_SHARE
        try:
            client = await asyncio.to_thread(client_for, user_id, node.id)
            return await _fetch(client, node, budget), None
        except Exception as exc:  # TimeoutError, ProxmoxError, NodeSecretError, ...
            log.warning("listing containers via node %s (%s) failed: %r", node.name, node.id, exc)
            first_error = first_error or exc
    primary = members[0]
    error = first_error or TimeoutError()
    return [], NodeProblem(primary.id, primary.name, problem_message(primary.name, error, timeout))


async def list_containers(user_id: str, timeout: float = 5.0) -> Listing:  # noqa: ASYNC109
    """Every LXC container the user's nodes reach, each cluster listed once."""
    started = time.monotonic()
    nodes = await asyncio.to_thread(list_nodes, user_id)
    results = await asyncio.gather(
        *(_list_cluster(user_id, members, timeout) for members in cluster_groups(nodes))
    )
    rows: list[ContainerRow] = []
    problems: list[NodeProblem] = []
    for found, problem in results:
        rows.extend(found)
        if problem is not None:
            problems.append(problem)
    rows.sort(key=lambda r: (r.node_name.lower(), r.node_name, r.vmid))
    problems.sort(key=lambda p: (p.node_name.lower(), p.node_name))
    return Listing(
        containers=tuple(rows),
        problems=tuple(problems),
        duration_ms=(time.monotonic() - started) * 1000,
    )
