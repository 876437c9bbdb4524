"""Every container of a user, across all their nodes (DESIGN §0, §6).

One `GET /cluster/resources` per cluster (all types: the node entries say which PVE nodes
are offline, whose guests Proxmox keeps showing with their last status for up to 5
minutes; those rows say "unknown"), all clusters at once, each within its
own deadline: a slow or dead node costs its own containers (and a `NodeProblem`), never
the others' time. Two endpoints of one cluster (same cluster key) are asked once: the
default node first, then the oldest; the next one only when that fails.

The clients are shared (`proxmox.shared`): a refresh reuses the TLS connections of the
previous one, and the nodes, their secrets and clients come from one database query.
Answers are parsed straight into rows (no model per entry).

What Proxmox does not say comes from `known` (Redis, one round trip alongside the
requests): each row's IPv4 when known, and for a cluster none of whose endpoints answers,
its containers as last listed, with status "unknown" and `last_known=True`. Running
containers without a known address are looked up in the background, a few per listing
(`/interfaces`), never delaying it.

    listing = await list_containers(user_id)
    for row in listing.containers: ...      # sorted by (node_name, vmid)
    for problem in listing.problems: ...    # "pve-lab unreachable — retrying"
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, NamedTuple

from lxc_manager.nodes import (
    NodeClient,
    NodeNotFound,
    NodeSecretError,
    NodeView,
    shared_node_clients,
)
from lxc_manager.proxmox import (
    AnswerTooLarge,
    AuthenticationError,
    CertificateInvalid,
    ClusterResource,
    PermissionDenied,
    ProxmoxClient,
    ProxmoxError,
    RouteMissing,
    Unreachable,
)

from . import known
from .detail_parsing import ipv4_from_interfaces
from .known import KnownContainer, Recalled

__all__ = [
    "LEARN_PER_CLUSTER",
    "LEARN_PER_LISTING",
    "ContainerRow",
    "Listing",
    "NodeProblem",
    "address_learning_paused",
    "cluster_groups",
    "list_containers",
    "parse_tags",
    "problem_message",
    "row_from_item",
    "row_from_resource",
]

log = logging.getLogger(__name__)

# A failing attempt that is not the last of its cluster gets at most this share of the time
# left, so the cluster's other endpoints still get a chance within the same deadline.
_FIRST_ATTEMPT_SHARE = 0.6
_TAG_SEPARATORS = re.compile(r"[;,\s]+")
# Background address look-ups (`/interfaces`) of running containers without a known IP:
# at most this many per cluster and per listing, each container at most once per
# LEARN_RETRY seconds in this process.
LEARN_PER_CLUSTER = 4
LEARN_PER_LISTING = 8
LEARN_RETRY = 300.0
_LEARN_MEMO_LIMIT = 50_000
_learn_attempts: dict[tuple[str, str, int], float] = {}
# (user, cluster) whose Proxmox has no `/interfaces` route (before PVE 8.1: 501): no
# look-ups there for LEARN_RETRY seconds (the cluster may be upgraded meanwhile).
_no_interfaces: dict[tuple[str, str], float] = {}
_learning: set[asyncio.Task[None]] = set()


class ContainerRow(NamedTuple):
    """One container of the listing. A named tuple: thousands are built per refresh and
    pickled into the dashboard's backend state, so construction and size matter."""

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
    ip: str = ""  # IPv4 when known (`known`), else ""
    last_known: bool = False  # not listed now: as last seen, its endpoint is unreachable
    ha: bool = False  # an HA resource (`hastate` in cluster/resources): HA starts/stops it


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
    node_count: int = 0  # how many nodes the user has


# -- pure helpers ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)  # the same few tag strings come back on every refresh
def parse_tags(text: str | None) -> tuple[str, ...]:
    """Proxmox tags ("a;b", older versions also "," or spaces): unique, sorted."""
    if not text:
        return ()
    return tuple(sorted({tag for tag in _TAG_SEPARATORS.split(text) if tag}))


def _int(value: Any) -> int:
    """Proxmox numbers: ints, sometimes floats or strings; anything else is 0."""
    if type(value) is int:
        return value
    try:
        return int(float(value)) if isinstance(value, str | float) else int(value)
    except (TypeError, ValueError, OverflowError):
        return 0


def _float(value: Any) -> float:
    if type(value) is float:
        return value if value == value else 0.0  # NaN -> 0
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return number if number == number else 0.0


def _vmid(value: Any) -> int | None:
    vmid = _int(value) if value is not None else 0
    return vmid if vmid > 0 else None


def row_from_item(node: NodeView, item: Mapping[str, Any], ip: str = "") -> ContainerRow | None:
    """The row of one `cluster/resources` entry as JSON decoded it; None for anything but an
    LXC container (or an entry without a usable vmid)."""
    if item.get("type") != "lxc":
        return None
    vmid = _vmid(item.get("vmid"))
    if vmid is None:
        return None
    get = item.get
    status, name, pve_node, tags = get("status"), get("name"), get("node"), get("tags")
    return ContainerRow(  # positional: the fast way to build a named tuple
        f"{node.id}:{vmid}",
        node.id,
        node.name,
        pve_node if isinstance(pve_node, str) else "",
        vmid,
        name if isinstance(name, str) and name else f"CT {vmid}",
        status if isinstance(status, str) and status else "unknown",
        _float(get("cpu")),
        _int(get("maxcpu")),
        _int(get("mem")),
        _int(get("maxmem")),
        _int(get("disk")),
        _int(get("maxdisk")),
        _int(get("uptime")),
        parse_tags(tags) if isinstance(tags, str) else (),
        get("template") not in (None, "", 0, "0", False),
        ip,
        False,
        isinstance(get("hastate"), str) and get("hastate") != "ignored",
    )


def row_from_resource(node: NodeView, res: ClusterResource) -> ContainerRow | None:
    """The row of one typed `cluster/resources` entry; None for anything but an LXC container."""
    return row_from_item(node, res.model_dump())


def row_from_known(node: NodeView, ct: KnownContainer, ip: str = "") -> ContainerRow:
    """A container as last listed, while its cluster cannot be reached: status unknown."""
    return ContainerRow(
        key=f"{node.id}:{ct.vmid}",
        node_id=node.id,
        node_name=node.name,
        pve_node=ct.pve_node,
        vmid=ct.vmid,
        name=ct.name or f"CT {ct.vmid}",
        status="unknown",
        cpu=0.0,
        maxcpu=0,
        mem=0,
        maxmem=0,
        disk=0,
        maxdisk=0,
        uptime=0,
        tags=ct.tags,
        template=False,
        ip=ip,
        last_known=True,
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
    if isinstance(error, CertificateInvalid | AnswerTooLarge):
        return f"{node_name}: {error.user_message}"
    if isinstance(error, AuthenticationError):
        return f"{node_name}: Proxmox refused the API token"
    if isinstance(error, PermissionDenied):
        return f"{node_name}: the API token may not list guests"
    if isinstance(error, NodeNotFound):
        return f"{node_name}: node not found"
    return f"{node_name}: Proxmox reported an error"


# -- fetching -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Outcome:
    """One cluster's result: rows from the member that answered, or the problem."""

    cluster_key: str
    members: Sequence[NodeClient]
    rows: list[ContainerRow]
    answered: NodeClient | None
    problem: NodeProblem | None


def _rows(node: NodeView, data: Any, ips: Mapping[int, str]) -> list[ContainerRow]:
    """The LXC rows of a `/cluster/resources` answer, with the known addresses (a stopped
    container has none; one of unknown status keeps its last known address)."""
    if not isinstance(data, list):
        raise ProxmoxError("unexpected answer to /cluster/resources: not a list")
    offline = _offline_pve_nodes(data)
    rows = []
    for item in data:
        if isinstance(item, dict) and item.get("type") == "lxc":
            known_ip = ips.get(_int(item.get("vmid")), "") if ips else ""
            ip = known_ip if known_ip and item.get("status") != "stopped" else ""
            row = row_from_item(node, item, ip)
            if row is not None and row.pve_node in offline:
                row = row._replace(status="unknown")
            if row is not None:
                rows.append(row)
    return rows


def _offline_pve_nodes(data: list[Any]) -> set[str]:
    """PVE nodes the answer lists as not online. Their guests keep their last status (and
    numbers) for up to 5 minutes in the cluster's status cache (pve-cluster pmxcfs
    status.c; pve-manager API2Tools.pm extract_vm_stats): not a status to show as current."""
    return {
        str(item.get("node"))
        for item in data
        if isinstance(item, dict) and item.get("type") == "node" and item.get("status") != "online"
    }


async def _list_cluster(
    members: Sequence[NodeClient],
    timeout: float,  # noqa: ASYNC109
    recalled: asyncio.Future[Recalled],
) -> _Outcome:
    """Ask the members in order until one answers, all within one deadline of `timeout`."""
    cluster_key = known.cluster_key_of(members[0].node)
    deadline = time.monotonic() + timeout
    first_error: BaseException | None = None
    for index, member in enumerate(members):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        last = index == len(members) - 1
        budget = remaining if last else remaining * _FIRST_ATTEMPT_SHARE
        node = member.node
        try:
            if member.client is None:
                raise member.error or NodeSecretError(f"node {node.id}: no client")
            async with asyncio.timeout(budget):
                # all types: the node entries say which PVE nodes are offline
                data = await member.client.cluster_resources_raw()
        except Exception as exc:  # TimeoutError, ProxmoxError, NodeSecretError, ...
            log.warning("listing containers via node %s (%s) failed: %r", node.name, node.id, exc)
            first_error = first_error or exc
            continue
        ips = (await recalled).ips.get(cluster_key, {})
        return _Outcome(cluster_key, members, _rows(node, data, ips), member, None)
    primary = members[0].node
    error = first_error or TimeoutError()
    problem = NodeProblem(primary.id, primary.name, problem_message(primary.name, error, timeout))
    return _Outcome(cluster_key, members, [], None, problem)


def _client_groups(clients: Sequence[NodeClient]) -> list[list[NodeClient]]:
    by_id = {c.node.id: c for c in clients}
    return [[by_id[n.id] for n in group] for group in cluster_groups(c.node for c in clients)]


def _known_rows(
    outcome: _Outcome, last: Sequence[KnownContainer], ips: Mapping[int, str]
) -> list[ContainerRow]:
    members = {m.node.id: m.node for m in outcome.members}
    primary = outcome.members[0].node
    return [
        row_from_known(members.get(ct.node_id, primary), ct, ips.get(ct.vmid, "")) for ct in last
    ]


def _stale_ips(rows: Iterable[ContainerRow], ips: Mapping[int, str]) -> list[int]:
    """Known addresses of containers that are stopped or gone."""
    if not ips:
        return []
    keep = {r.vmid for r in rows if r.status != "stopped"}
    return [vmid for vmid in ips if vmid not in keep]


async def _learn(
    user_id: str, cluster_key: str, client: ProxmoxClient, targets: Sequence[tuple[str, int]]
) -> None:
    """Look the addresses up one after the other: one connection, not one per container."""
    for pve_node, vmid in targets:
        try:
            ip = ipv4_from_interfaces(await client.lxc_interfaces(pve_node, vmid))
        except RouteMissing:
            log.info("no /interfaces on cluster %s (Proxmox VE before 8.1)", cluster_key)
            _no_interfaces[(user_id, cluster_key)] = time.monotonic()
            return
        except Exception as exc:  # ProxmoxError, a closed shared client, ...
            log.info("interfaces of CT %s not available: %r", vmid, exc)
            continue
        if ip is not None:
            await known.remember_ip(user_id, cluster_key, vmid, ip)


def address_learning_paused(user_id: str, cluster_key: str) -> bool:
    """Whether the listing skips address look-ups on this cluster for now: its Proxmox
    answered that it has no `/interfaces` route (PVE 8.0)."""
    since = _no_interfaces.get((user_id, cluster_key))
    return since is not None and time.monotonic() - since < LEARN_RETRY


def _schedule_learning(user_id: str, outcomes: Sequence[_Outcome], recalled: Recalled) -> int:
    """Look up a few unknown addresses of running containers in the background."""
    now = time.monotonic()
    if len(_learn_attempts) > _LEARN_MEMO_LIMIT:
        for memo_key in [k for k, t in _learn_attempts.items() if now - t > LEARN_RETRY]:
            del _learn_attempts[memo_key]
    budget = LEARN_PER_LISTING
    scheduled = 0
    for outcome in outcomes:
        client = outcome.answered.client if outcome.answered is not None else None
        if client is None or budget <= 0:
            continue
        if address_learning_paused(user_id, outcome.cluster_key):
            continue
        ips = recalled.ips.get(outcome.cluster_key, {})
        targets: list[tuple[str, int]] = []
        for row in outcome.rows:
            if len(targets) >= min(LEARN_PER_CLUSTER, budget):
                break
            memo_key = (user_id, outcome.cluster_key, row.vmid)
            if row.status != "running" or row.vmid in ips or not row.pve_node:
                continue
            if now - _learn_attempts.get(memo_key, -LEARN_RETRY) < LEARN_RETRY:
                continue
            _learn_attempts[memo_key] = now
            targets.append((row.pve_node, row.vmid))
        if targets:
            budget -= len(targets)
            scheduled += len(targets)
            task = asyncio.create_task(_learn(user_id, outcome.cluster_key, client, targets))
            _learning.add(task)
            task.add_done_callback(_learning.discard)
    return scheduled


async def list_containers(
    user_id: str,
    timeout: float = 5.0,  # noqa: ASYNC109
    *,
    learn_ips: bool = True,
) -> Listing:
    """Every LXC container the user's nodes reach, each cluster listed once; for a cluster
    that cannot be reached, its containers as last listed (status "unknown")."""
    started = time.monotonic()
    clients = await shared_node_clients(user_id)
    groups = _client_groups(clients)
    keys = [known.cluster_key_of(group[0].node) for group in groups]
    recalled = asyncio.ensure_future(known.recall(user_id, keys))
    outcomes = await asyncio.gather(*(_list_cluster(group, timeout, recalled) for group in groups))
    memory = await recalled
    listed = {o.cluster_key: o.rows for o in outcomes if o.problem is None}
    stale = {
        o.cluster_key: _stale_ips(o.rows, memory.ips.get(o.cluster_key, {}))
        for o in outcomes
        if o.problem is None
    }
    unreachable = [o.cluster_key for o in outcomes if o.problem is not None]
    last = await known.settle(user_id, memory, listed, stale, unreachable)
    by_node: dict[str, list[ContainerRow]] = {}  # every row of an outcome has one node
    problems: list[NodeProblem] = []
    for outcome in outcomes:
        if outcome.rows:
            by_node.setdefault(outcome.rows[0].node_name, []).extend(outcome.rows)
        if outcome.problem is not None:
            problems.append(outcome.problem)
            ips = memory.ips.get(outcome.cluster_key, {})
            for row in _known_rows(outcome, last.get(outcome.cluster_key, ()), ips):
                by_node.setdefault(row.node_name, []).append(row)
    if learn_ips:
        _schedule_learning(user_id, outcomes, memory)
    rows: list[ContainerRow] = []
    for name in sorted(by_node, key=lambda n: (n.lower(), n)):
        rows.extend(sorted(by_node[name], key=attrgetter("vmid")))
    problems.sort(key=lambda p: (p.node_name.lower(), p.node_name))
    return Listing(
        containers=tuple(rows),
        problems=tuple(problems),
        duration_ms=(time.monotonic() - started) * 1000,
        node_count=len(clients),
    )
