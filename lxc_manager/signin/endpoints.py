"""Trusted sign-in endpoints (DESIGN §3.2): which Proxmox hosts may vouch for users.

With LXCM_LOGIN_ALLOWED_HOSTS set, only those host:port pairs are accepted (each still
pins its certificate on first use). Unset, the very first successful sign-in of an empty
installation trusts its endpoint (exactly once, even when two first sign-ins race) and any
other is refused until an administrator enables it under Settings.

An endpoint's id is random and never reused, because user ids are `<user>@<endpoint id>`:
an id handed out again would make a new server the vouching endpoint of the old one's
users. Endpoints are therefore disabled, never deleted; a disabled endpoint refuses
sign-in and ends its sessions (`DISABLED_KEY` in Redis, read by every session check), and
enabling the same host:port again restores its users with everything they own.
"""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime
from enum import Enum

from redis import Redis as SyncRedis
from redis.asyncio import Redis
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from lxc_manager.db.engine import session_scope
from lxc_manager.db.models import InstallationMark, SignInEndpoint
from lxc_manager.security.sessions import DISABLED_ENDPOINTS_KEY
from lxc_manager.settings import Settings

DISABLED_KEY = DISABLED_ENDPOINTS_KEY
FIRST_TRUST_MARK = "first-trust"


class Admission(Enum):
    KNOWN = "known"  # enabled in the table: connect with its pinned fingerprint
    FIRST_USE = "first_use"  # may be trusted after the user confirms the fingerprint
    REFUSED = "refused"  # not enabled for sign-in


class FirstTrustTaken(Exception):
    """Another first sign-in trusted its endpoint first: this one is refused."""


def new_endpoint_id() -> str:
    """64 random bits in hex: never handed out twice (and rows are never deleted)."""
    return secrets.token_hex(8)


def normalise_host(host: str) -> str:
    return host.strip().strip("[]").lower()


def find(host: str, port: int) -> SignInEndpoint | None:
    with session_scope() as db:
        return db.exec(
            select(SignInEndpoint).where(
                SignInEndpoint.host == normalise_host(host), SignInEndpoint.port == port
            )
        ).first()


def get(endpoint_id: str) -> SignInEndpoint | None:
    with session_scope() as db:
        return db.get(SignInEndpoint, endpoint_id)


def list_all() -> list[SignInEndpoint]:
    with session_scope() as db:
        return list(
            db.exec(
                select(SignInEndpoint).order_by(
                    col(SignInEndpoint.trusted_at), col(SignInEndpoint.id)
                )
            )
        )


def _first_trust_done() -> bool:
    """True once any endpoint was trusted (by a first sign-in, an administrator, the CLI or
    the demo): from then on only administrators enable endpoints."""
    with session_scope() as db:
        if db.get(InstallationMark, FIRST_TRUST_MARK) is not None:
            return True
        return db.exec(select(SignInEndpoint.id).limit(1)).first() is not None


def admission(settings: Settings, host: str, port: int) -> tuple[Admission, SignInEndpoint | None]:
    endpoint = find(host, port)
    allowed = settings.login_allowed_hosts
    if allowed and (normalise_host(host), port) not in allowed:
        return Admission.REFUSED, None
    if endpoint is not None:
        return (Admission.KNOWN, endpoint) if endpoint.enabled else (Admission.REFUSED, None)
    if allowed or not _first_trust_done():
        return Admission.FIRST_USE, None
    return Admission.REFUSED, None


def trust(
    host: str,
    port: int,
    fingerprint: str,
    trusted_by: str,
    cluster_name: str = "",
    *,
    first_use: bool = False,
) -> SignInEndpoint:
    """Insert the endpoint (enabled), or re-pin it if it exists (enabled or not: only
    `set_enabled` changes that).

    `first_use=True` is the first-use trust of a sign-in: it succeeds only while no
    endpoint was ever trusted that way (unless LXCM_LOGIN_ALLOWED_HOSTS names the host,
    which the caller has checked), inside one transaction with the mark that says so.
    """
    try:
        with session_scope() as db:
            endpoint = db.exec(
                select(SignInEndpoint).where(
                    SignInEndpoint.host == normalise_host(host), SignInEndpoint.port == port
                )
            ).first()
            if first_use and endpoint is not None and not endpoint.enabled:
                raise FirstTrustTaken(f"{endpoint.label} is disabled")
            if endpoint is None:
                endpoint = SignInEndpoint(
                    id=new_endpoint_id(),
                    host=normalise_host(host),
                    port=port,
                    tls_fingerprint=fingerprint,
                )
                if first_use:
                    db.add(InstallationMark(name=FIRST_TRUST_MARK, value=endpoint.id))
            now = datetime.now(UTC)
            endpoint.tls_fingerprint = fingerprint
            endpoint.trusted_by = trusted_by
            endpoint.trusted_at = now
            if cluster_name:
                endpoint.cluster_name = cluster_name
            db.add(endpoint)
            db.flush()
            db.refresh(endpoint)
            return endpoint
    except IntegrityError as exc:
        # The mark's primary key (or host:port) was taken by a simultaneous first sign-in.
        existing = find(host, port)
        if first_use and existing is not None and existing.enabled:
            if existing.tls_fingerprint != fingerprint:
                raise FirstTrustTaken("the endpoint was trusted with another certificate") from exc
            return existing
        raise FirstTrustTaken("another endpoint was trusted first") from exc


def set_cluster_name(endpoint_id: str, cluster_name: str) -> None:
    with session_scope() as db:
        endpoint = db.get(SignInEndpoint, endpoint_id)
        if endpoint is not None and endpoint.cluster_name != cluster_name:
            endpoint.cluster_name = cluster_name
            db.add(endpoint)


def set_enabled(endpoint_id: str, enabled: bool, changed_by: str) -> SignInEndpoint | None:
    """Enable or disable an endpoint; None when there is none with this id."""
    with session_scope() as db:
        endpoint = db.get(SignInEndpoint, endpoint_id)
        if endpoint is None:
            return None
        endpoint.enabled = enabled
        endpoint.changed_by = changed_by
        endpoint.changed_at = datetime.now(UTC)
        db.add(endpoint)
        db.flush()
        db.refresh(endpoint)
        return endpoint


def disabled_ids() -> list[str]:
    with session_scope() as db:
        return list(
            db.exec(select(SignInEndpoint.id).where(col(SignInEndpoint.enabled).is_(False)))
        )


async def publish_disabled(redis: Redis) -> None:
    """Mirror the disabled endpoints into Redis, where every session check reads them.

    Called after each change, and at start-up (`publish_disabled_sync`, from `serve`) so a
    Redis restored from an older copy cannot bring a disabled endpoint's sessions back.
    """
    ids = await asyncio.to_thread(disabled_ids)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.delete(DISABLED_KEY)
        if ids:
            pipe.sadd(DISABLED_KEY, *ids)
        await pipe.execute()


def publish_disabled_sync(redis: SyncRedis) -> None:
    ids = disabled_ids()
    with redis.pipeline(transaction=True) as pipe:
        pipe.delete(DISABLED_KEY)
        if ids:
            pipe.sadd(DISABLED_KEY, *ids)
        pipe.execute()
