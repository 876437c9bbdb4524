"""Backup coverage of a user's containers: the newest backup of each, and the cluster's
scheduled backup jobs (plain async services, no Reflex).

Each cluster the user's nodes reach is read once (its endpoints in the listing's order:
the default node first; the next one only when one fails), all clusters at once, each
within its own deadline: a slow node costs its own containers' backup facts, never the
others' time. For one cluster, through one endpoint:

- `GET /cluster/resources`: the containers (node, pool, name);
- the cluster's backup storages (`listing.backup_storages_of`: a shared storage once, a
  local one on its own node), then the backup content of each, all at once; the newest
  `ctime` per VMID is the container's last backup;
- with `jobs=True`, `GET /cluster/backup` (needs `Sys.Audit` on `/`).

A part that fails says so in `problems` and leaves the rest: backups unreadable leave
`backups_read=False` (the dashboard shows "unknown", never "never").

    for cluster in await read_backups(user_id, jobs=True):
        cluster.newest.get(105)           # epoch seconds of CT 105's newest backup, or None
        coverage_of(cluster.jobs, cluster.guests)
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lxc_manager.containers.listing import cluster_groups, problem_message
from lxc_manager.nodes import NodeClient, NodeSecretError, shared_node_clients
from lxc_manager.proxmox import PermissionDenied, ProxmoxClient
from lxc_manager.proxmox.backup_api import backup_jobs, backup_volumes

from .listing import backup_storages_of
from .selection import Guest, JobRule, job_rule

__all__ = ["ClusterBackups", "NamedGuest", "newest_by_vmid", "newest_of", "read_backups"]

log = logging.getLogger(__name__)

TIMEOUT = 8.0  # seconds per cluster, every part of it included
_FIRST_ATTEMPT_SHARE = 0.6  # as the listing: later endpoints of a cluster keep some time


@dataclass(frozen=True)
class NamedGuest(Guest):
    """A container of the cluster, as the coverage rules and the pages see it."""

    name: str = ""
    template: bool = False


@dataclass(frozen=True)
class ClusterBackups:
    """One cluster's backup facts, read through one of the user's endpoints."""

    node_ids: tuple[int, ...]  # every endpoint of the user on this cluster
    node_id: int  # the endpoint that answered (else the first one)
    node_name: str  # its name: the "node badge"
    guests: tuple[NamedGuest, ...] = ()  # its containers, by VMID
    newest: Mapping[int, int] = field(default_factory=dict)  # VMID -> newest backup ctime
    jobs: tuple[JobRule, ...] = ()
    reached: bool = False  # an endpoint answered
    # Some backup storage could be read (`problems` names what could not): without any,
    # the containers' backups are unknown, not "never".
    backups_read: bool = False
    jobs_read: bool = False
    problems: tuple[str, ...] = ()


def _is(item: Any, kind: str) -> bool:
    return isinstance(item, dict) and item.get("type") == kind


def _guests(resources: Sequence[Any]) -> tuple[NamedGuest, ...]:
    found = {}
    for item in resources:
        vmid = item.get("vmid") if _is(item, "lxc") else None
        if type(vmid) is int and vmid > 0:
            name, node, pool = item.get("name"), item.get("node"), item.get("pool")
            found[vmid] = NamedGuest(
                vmid=vmid,
                pve_node=node if isinstance(node, str) else "",
                pool=pool if isinstance(pool, str) else "",
                name=name if isinstance(name, str) and name else f"CT {vmid}",
                template=item.get("template") not in (None, "", 0, "0", False),
            )
    return tuple(found[v] for v in sorted(found))


def newest_by_vmid(entries: Sequence[tuple[int | None, int | None]]) -> dict[int, int]:
    """(vmid, ctime) pairs of backup volumes -> the newest ctime of each VMID."""
    newest: dict[int, int] = {}
    for vmid, ctime in entries:
        if vmid and ctime and ctime > newest.get(vmid, 0):
            newest[vmid] = ctime
    return newest


async def _newest(client: ProxmoxClient, name: str) -> tuple[dict[int, int], list[str], bool]:
    """The newest backup of every VMID on every backup storage of the cluster
    (`listing.backup_storages_of`: a shared storage once), what could not be read, and
    whether anything could."""
    storages, errors = await backup_storages_of(client)
    problems = [f"{name}: backup storages of {error}" for error in errors]
    contents = await asyncio.gather(
        *(backup_volumes(client, s.pve_node, s.storage) for s in storages),
        return_exceptions=True,
    )
    entries: list[tuple[int | None, int | None]] = []
    read_any = bool(storages) or not errors
    for storage, volumes in zip(storages, contents, strict=True):
        if isinstance(volumes, BaseException):
            log.warning(
                "backups on %s (%s) via %s: %r", storage.storage, storage.pve_node, name, volumes
            )
            where = f"{storage.storage} ({storage.pve_node})"
            problems.append(f"{name}: the backups on {where} could not be read")
            continue
        entries.extend((v.vmid, v.ctime) for v in volumes)
    if storages and len(problems) - len(errors) == len(storages):
        read_any = False  # not one storage answered
    return newest_by_vmid(entries), problems, read_any


async def _jobs(client: ProxmoxClient, name: str) -> tuple[tuple[JobRule, ...] | None, str]:
    try:
        answer = await backup_jobs(client)
    except PermissionDenied:
        return None, f"{name}: the API token may not read backup jobs (Sys.Audit on /)"
    except Exception as exc:  # ProxmoxError, a closed shared client, ...
        log.warning("backup jobs via %s: %r", name, exc)
        return None, f"{name}: the backup jobs could not be read"
    rules = (job_rule(job.model_dump(by_alias=True)) for job in answer)
    return tuple(rule for rule in rules if rule is not None), ""


async def _read_through(
    member: NodeClient, ids: tuple[int, ...], want_jobs: bool
) -> ClusterBackups:
    node, client = member.node, member.client
    if client is None:
        raise member.error or NodeSecretError(f"node {node.id}: no client")
    resources = await client.cluster_resources_raw()
    if not isinstance(resources, list):
        raise TypeError("unexpected answer to /cluster/resources: not a list")
    parts: list[Any] = [_newest(client, node.name)]
    if want_jobs:
        parts.append(_jobs(client, node.name))
    results = await asyncio.gather(*parts)
    newest, problems, read_any = results[0]
    jobs, jobs_problem = results[1] if want_jobs else ((), "")
    return ClusterBackups(
        node_ids=ids,
        node_id=node.id,
        node_name=node.name,
        guests=_guests(resources),
        newest=newest,
        jobs=jobs or (),
        reached=True,
        backups_read=read_any,
        jobs_read=jobs is not None,
        problems=(*problems, *([jobs_problem] if jobs_problem else [])),
    )


async def _read_cluster(
    members: Sequence[NodeClient],
    want_jobs: bool,
    timeout: float,  # noqa: ASYNC109
) -> ClusterBackups:
    ids = tuple(m.node.id for m in members)
    deadline = time.monotonic() + timeout
    error: BaseException | None = None
    for index, member in enumerate(members):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        budget = remaining if index == len(members) - 1 else remaining * _FIRST_ATTEMPT_SHARE
        try:
            async with asyncio.timeout(budget):
                return await _read_through(member, ids, want_jobs)
        except Exception as exc:  # TimeoutError, ProxmoxError, NodeSecretError, ...
            log.warning(
                "backups via node %s (%s) failed: %r", member.node.name, member.node.id, exc
            )
            error = error or exc
    first = members[0].node
    message = problem_message(first.name, error or TimeoutError(), timeout)
    return ClusterBackups(node_ids=ids, node_id=first.id, node_name=first.name, problems=(message,))


async def read_backups(
    user_id: str,
    *,
    jobs: bool = False,
    timeout: float = TIMEOUT,  # noqa: ASYNC109
) -> list[ClusterBackups]:
    """Every cluster of the user's nodes: its containers, their newest backups and (with
    `jobs`) its scheduled backup jobs; ordered by the answering endpoint's name."""
    clients = await shared_node_clients(user_id)
    by_id = {c.node.id: c for c in clients}
    groups = [[by_id[n.id] for n in group] for group in cluster_groups(c.node for c in clients)]
    read = await asyncio.gather(*(_read_cluster(g, jobs, timeout) for g in groups))
    return sorted(read, key=lambda c: (c.node_name.lower(), c.node_name))


def newest_of(clusters: Sequence[ClusterBackups]) -> dict[int, dict[int, int]]:
    """node id -> (VMID -> newest backup ctime), for every endpoint whose cluster's backups
    could be read (an endpoint left out: its containers' backups are unknown)."""
    return {
        node_id: dict(cluster.newest)
        for cluster in clusters
        if cluster.backups_read
        for node_id in cluster.node_ids
    }
