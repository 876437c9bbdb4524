"""What the sign-in endpoints page shows and what its form submits (Reflex-free)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from lxc_manager.db.models import SignInEndpoint


@dataclass(frozen=True)
class EndpointForm:
    """The "Enable another endpoint" form's submitted fields (control names)."""

    host: str = ""
    port: str = ""


class EndpointRow(BaseModel):
    id: str
    label: str
    fingerprint: str
    cluster_name: str
    trusted_by: str
    trusted_at: str
    enabled: bool
    changed: str  # "disabled by X at T" / "enabled by X at T", or ""
    current: bool


def user_name(user_id: str) -> str:
    """`root@pam@3f9c…` → `root@pam` (the endpoint is the row itself)."""
    return user_id.rsplit("@", 1)[0] if user_id.count("@") >= 2 else user_id


def endpoint_of(user_id: str) -> str:
    """`root@pam@3f9c…` → `3f9c…`: the sign-in endpoint that vouched for the user."""
    return user_id.rsplit("@", 1)[1] if user_id.count("@") >= 2 else ""


def endpoint_row(endpoint: SignInEndpoint, current: str) -> EndpointRow:
    changed = ""
    if endpoint.changed_at is not None:
        verb = "enabled" if endpoint.enabled else "disabled"
        when = endpoint.changed_at.strftime("%Y-%m-%d %H:%M")
        changed = f"{verb} by {user_name(endpoint.changed_by) or '—'} at {when}"
    return EndpointRow(
        id=endpoint.id,
        label=endpoint.label,
        fingerprint=endpoint.tls_fingerprint,
        cluster_name=endpoint.cluster_name or "—",
        trusted_by=user_name(endpoint.trusted_by) or "—",
        trusted_at=endpoint.trusted_at.strftime("%Y-%m-%d %H:%M"),
        enabled=endpoint.enabled,
        changed=changed,
        current=endpoint.id == current,
    )
