"""Trusted sign-in endpoints (DESIGN §3.2): which Proxmox hosts may vouch for users.

With LXCM_LOGIN_ALLOWED_HOSTS set, only those host:port pairs are accepted (each still
pins its certificate on first use). Unset, the first successful sign-in trusts its
endpoint and any other is refused until a signed-in user adds it under Settings.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum

from sqlmodel import col, select

from lxc_manager.db.engine import session_scope
from lxc_manager.db.models import SignInEndpoint
from lxc_manager.settings import Settings


class Admission(Enum):
    KNOWN = "known"  # in the table: connect with its pinned fingerprint
    FIRST_USE = "first_use"  # may be trusted after the user confirms the fingerprint
    REFUSED = "refused"  # not enabled for sign-in


def normalise_host(host: str) -> str:
    return host.strip().strip("[]").lower()


def find(host: str, port: int) -> SignInEndpoint | None:
    with session_scope() as db:
        return db.exec(
            select(SignInEndpoint).where(
                SignInEndpoint.host == normalise_host(host), SignInEndpoint.port == port
            )
        ).first()


def get(endpoint_id: int) -> SignInEndpoint | None:
    with session_scope() as db:
        return db.get(SignInEndpoint, endpoint_id)


def list_all() -> list[SignInEndpoint]:
    with session_scope() as db:
        return list(db.exec(select(SignInEndpoint).order_by(col(SignInEndpoint.id))))


def admission(settings: Settings, host: str, port: int) -> tuple[Admission, SignInEndpoint | None]:
    endpoint = find(host, port)
    allowed = settings.login_allowed_hosts
    if allowed and (normalise_host(host), port) not in allowed:
        return Admission.REFUSED, None
    if endpoint is not None:
        return Admission.KNOWN, endpoint
    if allowed or not list_all():
        return Admission.FIRST_USE, None
    return Admission.REFUSED, None


def trust(
    host: str, port: int, fingerprint: str, trusted_by: str, cluster_name: str = ""
) -> SignInEndpoint:
    """Insert the endpoint, or re-pin its fingerprint if it exists."""
    with session_scope() as db:
        endpoint = db.exec(
            select(SignInEndpoint).where(
                SignInEndpoint.host == normalise_host(host), SignInEndpoint.port == port
            )
        ).first()
        if endpoint is None:
            endpoint = SignInEndpoint(
                host=normalise_host(host), port=port, tls_fingerprint=fingerprint
            )
        endpoint.tls_fingerprint = fingerprint
        endpoint.trusted_by = trusted_by
        endpoint.trusted_at = datetime.now(UTC)
        if cluster_name:
            endpoint.cluster_name = cluster_name
        db.add(endpoint)
        db.flush()
        db.refresh(endpoint)
        return endpoint


def set_cluster_name(endpoint_id: int, cluster_name: str) -> None:
    with session_scope() as db:
        endpoint = db.get(SignInEndpoint, endpoint_id)
        if endpoint is not None and endpoint.cluster_name != cluster_name:
            endpoint.cluster_name = cluster_name
            db.add(endpoint)


def remove(endpoint_id: int) -> bool:
    with session_scope() as db:
        endpoint = db.get(SignInEndpoint, endpoint_id)
        if endpoint is None:
            return False
        db.delete(endpoint)
        return True
