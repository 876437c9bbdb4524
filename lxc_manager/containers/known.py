"""What the app remembers about containers between listings (the app's Redis database).

Proxmox is the source of truth and `/cluster/resources` carries no addresses, so two small
caches fill the gaps of the dashboard, per user and cluster key (DESIGN §0: cluster keys
are scoped per user; two users' clusters may well share a name):

- `ct-ips:{user_id}:{cluster_key}`: hash vmid -> IPv4 of running containers, written
  whenever the app learns an address (`remember_ip`: detail page, services, provisioning,
  the listing's background look-ups), TTL `IPS_TTL` refreshed on every write. The listing
  drops the entries of containers it sees stopped or gone.
- `ct-known:{user_id}:{cluster_key}`: hash vmid -> JSON {name, node, tags, via} of the last
  successful listing of the cluster (never a status), TTL `KNOWN_TTL`; rewritten only when
  it changed or its digest (`ct-known-digest:...`, TTL `DIGEST_TTL`) expired. When no
  endpoint of a cluster answers, the dashboard shows these rows with status "unknown".
  The cluster key of an endpoint is stored with the node (the connection test reads it
  from /cluster/status), so it is known while the endpoint is down.

Redis trouble never breaks a listing: each call has `REDIS_BUDGET` seconds and answers
"nothing known" on failure (logged).

    await remember_ip(user_id, cluster_key_of(node), 105, "192.168.1.20")
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import json
import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, NamedTuple, Protocol

import redis.exceptions

from lxc_manager import redis_client
from lxc_manager.nodes import cluster_key_of

__all__ = [
    "IPS_TTL",
    "KNOWN_TTL",
    "KnownContainer",
    "ListedContainer",
    "Recalled",
    "cluster_key_of",
    "digest_key",
    "forget_vmids",
    "ips_key",
    "known_key",
    "recall",
    "remember_ip",
    "settle",
    "vmid_names_key",
    "vmids_key",
]

log = logging.getLogger(__name__)

IPS_TTL = 86_400  # a day
KNOWN_TTL = 30 * 86_400  # 30 days
REDIS_BUDGET = 1.0  # seconds per Redis round trip of the listing
# The digest of a stored listing lives this long: an unchanged listing is rewritten (its
# TTL refreshed) once it expired, else only when it changed.
DIGEST_TTL = 3600


class KnownContainer(NamedTuple):
    """A container as the last successful listing of its cluster saw it (no status)."""

    vmid: int
    name: str
    pve_node: str
    tags: tuple[str, ...]
    node_id: int  # the user's node (endpoint) it was listed through


class ListedContainer(Protocol):
    """What `settle` remembers of a listed container (a `KnownContainer`, a listing row)."""

    @property
    def vmid(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def pve_node(self) -> str: ...
    @property
    def tags(self) -> tuple[str, ...]: ...
    @property
    def node_id(self) -> int: ...


def ips_key(user_id: str, cluster_key: str) -> str:
    return f"ct-ips:{user_id}:{cluster_key}"


def known_key(user_id: str, cluster_key: str) -> str:
    return f"ct-known:{user_id}:{cluster_key}"


def digest_key(user_id: str, cluster_key: str) -> str:
    return f"ct-known-digest:{user_id}:{cluster_key}"


def _ipv4(text: str) -> str | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    return str(address) if address.version == 4 else None


def _vmid(value: Any) -> int | None:
    try:
        vmid = int(value)
    except (TypeError, ValueError):
        return None
    return vmid if 100 <= vmid <= 999_999_999 else None


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value


async def remember_ip(user_id: str, cluster_key: str, vmid: int, ip: str) -> bool:
    """Remember the IPv4 address of a running container; False when it was not stored
    (not an IPv4 address, a bad vmid, or Redis failed: logged)."""
    address = _ipv4(ip)
    if address is None or _vmid(vmid) != vmid:
        return False
    key = ips_key(user_id, cluster_key)
    try:
        async with asyncio.timeout(REDIS_BUDGET):
            pipe = redis_client.async_client().pipeline(transaction=False)
            pipe.hset(key, str(vmid), address)
            pipe.expire(key, IPS_TTL)
            await pipe.execute()
    except (redis.exceptions.RedisError, TimeoutError, OSError):
        log.warning("could not remember the address of CT %s", vmid, exc_info=True)
        return False
    return True


@dataclass(frozen=True)
class Recalled:
    """What `recall` found: addresses and the digests of the stored listings."""

    ips: dict[str, dict[int, str]]  # cluster_key -> {vmid: ip}
    digests: dict[str, str]  # cluster_key -> digest of its stored listing (absent: none)


async def recall(user_id: str, cluster_keys: Sequence[str]) -> Recalled:
    """The known addresses of every cluster and the digests of their stored listings, in
    one round trip (nothing on failure)."""
    if not cluster_keys:
        return Recalled({}, {})
    try:
        async with asyncio.timeout(REDIS_BUDGET):
            pipe = redis_client.async_client().pipeline(transaction=False)
            for cluster_key in cluster_keys:
                pipe.hgetall(ips_key(user_id, cluster_key))
                pipe.get(digest_key(user_id, cluster_key))
            answers: list[Any] = await pipe.execute()
    except Exception:  # Redis down, slow or not configured: the listing goes on without
        log.warning("could not read the known container addresses", exc_info=True)
        return Recalled({}, {})
    found, digests = {}, {}
    for index, cluster_key in enumerate(cluster_keys):
        ips: dict[int, str] = {}
        for field, value in (answers[2 * index] or {}).items():
            vmid, address = _vmid(_text(field)), _ipv4(_text(value))
            if vmid is not None and address is not None:
                ips[vmid] = address
        found[cluster_key] = ips
        if answers[2 * index + 1] is not None:
            digests[cluster_key] = _text(answers[2 * index + 1])
    return Recalled(found, digests)


def _encode(known: Sequence[ListedContainer]) -> dict[str, str]:
    return {
        str(ct.vmid): json.dumps(
            {"name": ct.name, "node": ct.pve_node, "tags": list(ct.tags), "via": ct.node_id},
            separators=(",", ":"),
            ensure_ascii=False,
        )
        for ct in known
    }


def _decode(field: bytes | str, value: bytes | str) -> KnownContainer | None:
    vmid = _vmid(_text(field))
    try:
        data = json.loads(value)
        name, pve_node, tags, via = data["name"], data["node"], data["tags"], data["via"]
    except (ValueError, TypeError, KeyError):
        return None
    if vmid is None or not isinstance(name, str) or not isinstance(pve_node, str):
        return None
    if not isinstance(tags, list) or not isinstance(via, int):
        return None
    return KnownContainer(vmid, name, pve_node, tuple(str(t) for t in tags), via)


def _digest(known: Sequence[ListedContainer]) -> str:
    """Cheap to compute on every listing (no JSON): the listing is encoded only to write."""
    lines = (
        f"{c.vmid}\t{c.name}\t{c.pve_node}\t{','.join(c.tags)}\t{c.node_id}"
        for c in sorted(known, key=attrgetter("vmid"))
    )
    return hashlib.blake2b("\n".join(lines).encode(), digest_size=16).hexdigest()


async def settle(
    user_id: str,
    recalled: Recalled,
    listed: Mapping[str, Sequence[ListedContainer]],
    stale_ips: Mapping[str, Collection[int]],
    unreachable: Sequence[str],
) -> dict[str, list[KnownContainer]]:
    """After a listing, in at most one round trip (none when there is nothing to do):
    store what each listed cluster holds when it differs from `recalled`, drop the
    addresses of containers no longer running, and read the last known containers of the
    clusters that could not be listed.

    `listed`: {cluster_key: containers} of the clusters listed now; `stale_ips`:
    {cluster_key: vmids} whose address is to be dropped; `unreachable`: cluster keys.
    Returns {cluster_key: last known containers, by vmid} for the unreachable ones."""
    writes: list[tuple[str, dict[str, str], str]] = []
    for cluster_key, containers in listed.items():
        digest = _digest(containers)
        if recalled.digests.get(cluster_key) != digest:
            writes.append((cluster_key, _encode(containers), digest))
    drops = {k: sorted(v) for k, v in stale_ips.items() if v}
    if not writes and not drops and not unreachable:
        return {}
    try:
        async with asyncio.timeout(REDIS_BUDGET):
            pipe = redis_client.async_client().pipeline(transaction=True)
            for cluster_key, encoded, digest in writes:
                key = known_key(user_id, cluster_key)
                pipe.delete(key)
                if encoded:
                    pipe.hset(key, mapping=encoded)
                    pipe.expire(key, KNOWN_TTL)
                pipe.set(digest_key(user_id, cluster_key), digest, ex=DIGEST_TTL)
            for cluster_key, vmids in drops.items():
                pipe.hdel(ips_key(user_id, cluster_key), *(str(v) for v in vmids))
            for cluster_key in unreachable:
                pipe.hgetall(known_key(user_id, cluster_key))
            answers: list[Any] = await pipe.execute()
    except Exception:  # as in `recall`
        log.warning("could not update the known containers", exc_info=True)
        return {}
    found: dict[str, list[KnownContainer]] = {}
    tail = answers[len(answers) - len(unreachable) :]
    for cluster_key, answer in zip(unreachable, tail, strict=True):
        rows = (_decode(field, value) for field, value in (answer or {}).items())
        found[cluster_key] = sorted((r for r in rows if r is not None), key=lambda r: r.vmid)
    return found


# -- the VMID cache's keys (filled and read by `provisioning.vmids`) ---------------------------


def vmids_key(user_id: str, cluster_key: str) -> str:
    """The set of the cluster's taken VMIDs as the user's credentials read them."""
    return f"vmids:{user_id}:{cluster_key}"


def vmid_names_key(user_id: str, cluster_key: str) -> str:
    """Hash VMID -> "container web-1 on pve2", beside `vmids_key`."""
    return f"vmids:{user_id}:{cluster_key}:names"


async def forget_vmids(user_id: str, cluster_key: str) -> None:
    """The cluster's guests changed (create, delete): drop the user's VMID cache of it.
    Never raises."""
    try:
        await redis_client.async_client().delete(
            vmids_key(user_id, cluster_key), vmid_names_key(user_id, cluster_key)
        )
    except redis.exceptions.RedisError:
        log.warning("could not drop the VMID cache of %s", cluster_key, exc_info=True)
