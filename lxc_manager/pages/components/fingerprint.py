"""The one way the app asks a user to compare and trust a certificate or host-key fingerprint."""

from __future__ import annotations

import reflex as rx

COMPARE_HINT = (
    "Compare it with the one Proxmox shows (Datacenter → node → System → Certificates for TLS) "
    "before you trust it:"
)


def fingerprint_confirmation(
    title: str,
    fingerprint: rx.Var,
    element_id: str,
    *actions: rx.Component,
    panel_id: str | None = None,
) -> rx.Component:
    """An amber callout with the fingerprint in full (wrapping anywhere) and optional actions."""
    return rx.callout.root(
        rx.callout.icon(rx.icon("shield-question")),
        rx.vstack(
            rx.text(title, weight="bold", size="2"),
            rx.text(COMPARE_HINT, size="2"),
            rx.code(fingerprint, id=element_id, overflow_wrap="anywhere", size="2"),
            *([rx.hstack(*actions, spacing="3")] if actions else []),
            spacing="2",
        ),
        color_scheme="amber",
        width="100%",
        **({"id": panel_id} if panel_id else {}),
    )
