"""The services running in one container, with their ports, web links and credentials.

Discovered over SSH (`pct exec`: systemctl, ss, ps, the files of the credentials
directory), parsed by `detail_parsing`, cached in Redis for `SERVICES_CACHE_SECONDS`
with the credential values encrypted; revealing a credential is audited.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from dataclasses import dataclass

import redis.exceptions

from lxc_manager import redis_client
from lxc_manager.nodes import get_node_sync
from lxc_manager.nodes.secrets import keyring
from lxc_manager.security import audit
from lxc_manager.security.crypto import DecryptionError, Keyring
from lxc_manager.settings import get_settings
from lxc_manager.ssh import ExecResult, SshError, SshOutputTooLarge, SshPool, SshTarget

from . import known
from .detail_access import (
    COMMAND_TIMEOUT,
    MSG_NO_SSH,
    MSG_SSH_FAILED,
    DetailUnavailable,
    _api_ip,
    _check,
    _client,
    _has_ssh,
    _node_target,
    _pool_scope,
    _ssh_ip,
)
from .detail_parsing import (
    Service,
    assemble_services,
    credential_name,
    parse_credentials,
    parse_list_units,
    parse_ps_parents,
    parse_show_main_pids,
    parse_ss_listeners,
    service_from_dict,
    service_to_dict,
)

# Logged under the name these messages have always had.
log = logging.getLogger("lxc_manager.containers.detail")

CREDENTIALS_DIR = "/etc/lxc-manager/credentials"
SERVICES_CACHE_SECONDS = 30


LISTING_BYTES = 1024 * 1024  # `ls -1` of the credentials directory

MSG_STOPPED = "The container is not running"
MSG_SERVICES_FAILED = "Could not list the services in the container"


_CRED_FILE = re.compile(r"^[A-Za-z0-9@_:-][A-Za-z0-9@._:-]{0,127}$")
SYSTEMCTL_UNITS = [
    "systemctl",
    "list-units",
    "--type=service",
    "--state=running",
    "--output=json",
    "--no-pager",
]


@dataclass(frozen=True)
class Services:
    available: bool
    reason: str
    services: tuple[Service, ...]


def _cache_key(user_id: str, cluster_key: str, vmid: int) -> str:
    """Per user: the cluster key is what the node's server claims, and anyone can run a
    server claiming another user's cluster (it would read, or plant, that user's cached
    services and credentials)."""
    return f"services:{user_id}:{cluster_key}:{vmid}"


def _cred_ad(cache_key: str, unit: str, key: str) -> str:
    return f"{cache_key}|{unit}|{key}"


def _seal_services(services: tuple[Service, ...], cache_key: str, ring: Keyring) -> str:
    rows = []
    for service in services:
        row = service_to_dict(service)
        row["credentials"] = [
            [k, ring.encrypt(v, _cred_ad(cache_key, service.unit, k))]
            for k, v in service.credentials
        ]
        rows.append(row)
    return json.dumps({"services": rows}, separators=(",", ":"))


def _open_services(raw: bytes | str, cache_key: str, ring: Keyring) -> tuple[Service, ...]:
    data = json.loads(raw)
    services = []
    for row in data["services"]:
        unit = str(row["unit"])
        row["credentials"] = [
            [k, ring.decrypt(str(v), _cred_ad(cache_key, unit, str(k)))]
            for k, v in row["credentials"]
        ]
        services.append(service_from_dict(row))
    return tuple(services)


async def _cached(cache_key: str) -> Services | None:
    try:
        raw = await redis_client.async_client().get(cache_key)
        if raw is None:
            return None
        ring = await asyncio.to_thread(keyring)
        return Services(True, "", _open_services(raw, cache_key, ring))
    except (redis.exceptions.RedisError, DecryptionError, ValueError, KeyError, TypeError):
        log.warning("services cache %s unusable", cache_key, exc_info=True)
        return None


async def _store(cache_key: str, services: tuple[Service, ...]) -> None:
    try:
        ring = await asyncio.to_thread(keyring)
        payload = _seal_services(services, cache_key, ring)
        await redis_client.async_client().set(cache_key, payload, ex=SERVICES_CACHE_SECONDS)
    except redis.exceptions.RedisError:
        log.warning("could not cache %s", cache_key, exc_info=True)


async def _read_credentials(
    pool: SshPool, target: SshTarget, vmid: int
) -> dict[str, tuple[tuple[str, str], ...]]:
    """The credentials files of the container: the first LXCM_MAX_CREDENTIAL_FILES by
    name, each read only up to LXCM_MAX_CREDENTIAL_FILE_BYTES (a larger one is skipped):
    what a container holds must not fill the app's memory."""
    settings = get_settings()
    try:
        listing = await pool.pct_exec(
            target, vmid, ["ls", "-1", CREDENTIALS_DIR], timeout=10, max_output=LISTING_BYTES
        )
    except SshOutputTooLarge:
        log.warning("CT %s: the credentials directory lists too much; none read", vmid)
        return {}
    if not listing.ok:
        return {}
    names = sorted(n for n in listing.stdout.split() if _CRED_FILE.fullmatch(n))
    if len(names) > settings.max_credential_files:
        log.warning(
            "CT %s: %d credentials files; only the first %d are read",
            vmid,
            len(names),
            settings.max_credential_files,
        )
        names = names[: settings.max_credential_files]
    texts = await asyncio.gather(
        *(
            _read_credential_file(pool, target, vmid, name, settings.max_credential_file_bytes)
            for name in names
        )
    )
    found: dict[str, tuple[tuple[str, str], ...]] = {}
    for name, text in zip(names, texts, strict=True):
        pairs = parse_credentials(text) if text is not None else ()
        if pairs:
            found.setdefault(credential_name(name), pairs)
    return found


async def _read_credential_file(
    pool: SshPool, target: SshTarget, vmid: int, name: str, cap: int
) -> str | None:
    """The file's text; None when it cannot be read or is larger than `cap` bytes."""
    try:
        result = await pool.pct_exec(
            target, vmid, ["cat", f"{CREDENTIALS_DIR}/{name}"], timeout=10, max_output=cap
        )
    except SshOutputTooLarge:
        log.warning("CT %s: credentials file %s is larger than %d bytes; skipped", vmid, name, cap)
        return None
    return result.stdout if result.ok else None


async def _discover(
    pool: SshPool, target: SshTarget, vmid: int, ip: str | None
) -> tuple[Service, ...] | None:
    """None when systemctl itself fails (e.g. no systemd in the container)."""
    units_result = await pool.pct_exec(target, vmid, SYSTEMCTL_UNITS, timeout=COMMAND_TIMEOUT)
    if not units_result.ok:
        log.info("systemctl in CT %s: %s", vmid, units_result.stderr.strip()[:300])
        return None
    units = parse_list_units(units_result.stdout)
    show_argv = ["systemctl", "show", "-p", "Id", "-p", "MainPID", *(u.unit for u in units)]
    empty = ExecResult(0, "", "")

    async def show() -> ExecResult:
        if not units:
            return empty
        return await pool.pct_exec(target, vmid, show_argv, timeout=COMMAND_TIMEOUT)

    ss_result, ps_result, show_result, credentials = await asyncio.gather(
        pool.pct_exec(target, vmid, ["ss", "-tlnpH"], timeout=COMMAND_TIMEOUT),
        pool.pct_exec(target, vmid, ["ps", "-e", "-o", "pid=,ppid="], timeout=COMMAND_TIMEOUT),
        show(),
        _read_credentials(pool, target, vmid),
    )
    return assemble_services(
        units,
        parse_ss_listeners(ss_result.stdout) if ss_result.ok else [],
        parse_show_main_pids(show_result.stdout) if show_result.ok else {},
        parse_ps_parents(ps_result.stdout) if ps_result.ok else {},
        credentials,
        ip,
    )


async def get_services(
    user_id: str,
    node_id: int,
    pve_node: str,
    vmid: int,
    refresh: bool = False,
    *,
    pool: SshPool | None = None,
) -> Services:
    """Running services of the container with their listening ports, web links and the
    credentials files of /etc/lxc-manager/credentials. Cached for
    `SERVICES_CACHE_SECONDS` (credential values encrypted); `refresh=True` reads afresh."""
    _check(pve_node, vmid)
    node = await asyncio.to_thread(get_node_sync, user_id, node_id)
    if not await _has_ssh(user_id, node_id):
        return Services(False, MSG_NO_SSH, ())
    cache_key = _cache_key(user_id, known.cluster_key_of(node), vmid)
    if not refresh:
        cached = await _cached(cache_key)
        if cached is not None:
            return cached
    client = await _client(user_id, node_id)
    async with client:
        status = await client.lxc_status(pve_node, vmid)
        if not status.running:
            return Services(False, MSG_STOPPED, ())
        ip = await _api_ip(client, pve_node, vmid)
        try:
            target = await _node_target(user_id, node_id, pve_node, client)
        except DetailUnavailable as exc:
            log.warning("services of CT %s: %s", vmid, exc)
            return Services(False, exc.user_message, ())
    try:
        async with _pool_scope(pool) as ssh:
            if ip is None:
                ip = await _ssh_ip(target, vmid, ssh)
            services = await _discover(ssh, target, vmid, ip)
    except SshError as exc:
        log.warning("services of CT %s: %r", vmid, exc)
        return Services(False, MSG_SSH_FAILED, ())
    if ip is not None:
        await known.remember_ip(user_id, known.cluster_key_of(node), vmid, ip)
    if services is None:
        return Services(False, MSG_SERVICES_FAILED, ())
    await _store(cache_key, services)
    return Services(True, "", services)


def audit_reveal(user_id: str, node_id: int, vmid: int, service: str, key: str) -> None:
    """Record that the user revealed a credential (sync: call it in a thread from async
    code). Raises NodeNotFound for another user's node."""
    node = get_node_sync(user_id, node_id)
    audit.record(
        "container.credential.reveal",
        user_id=user_id,
        target=f"ct:{node.name}/{vmid}",
        detail=f"{service[:100]} {key[:100]}",
    )
