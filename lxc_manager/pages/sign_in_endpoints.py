"""`/settings/sign-in`: the Proxmox hosts users may sign in against (DESIGN §3.2)."""

from __future__ import annotations

import asyncio

import reflex as rx
from pydantic import BaseModel

from lxc_manager.db.models import SignInEndpoint
from lxc_manager.pages.components.fingerprint import fingerprint_confirmation
from lxc_manager.pages.components.layout import page_shell
from lxc_manager.proxmox import ProxmoxError, fetch_fingerprint
from lxc_manager.redis_client import async_client
from lxc_manager.security import audit
from lxc_manager.settings import get_settings
from lxc_manager.signin import endpoints
from lxc_manager.signin.service import Failed, parse_endpoint, unreachable_message
from lxc_manager.state.legacy_session import LegacySessionState, require_admin, require_session

ROUTE = "/settings/sign-in"
TITLE = "Sign-in endpoints"


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


def _user_name(user_id: str) -> str:
    """`root@pam@3f9c…` → `root@pam` (the endpoint is the row itself)."""
    return user_id.rsplit("@", 1)[0] if user_id.count("@") >= 2 else user_id


def _row(endpoint: SignInEndpoint, current: str) -> EndpointRow:
    changed = ""
    if endpoint.changed_at is not None:
        verb = "enabled" if endpoint.enabled else "disabled"
        when = endpoint.changed_at.strftime("%Y-%m-%d %H:%M")
        changed = f"{verb} by {_user_name(endpoint.changed_by) or '—'} at {when}"
    return EndpointRow(
        id=endpoint.id,
        label=endpoint.label,
        fingerprint=endpoint.tls_fingerprint,
        cluster_name=endpoint.cluster_name or "—",
        trusted_by=_user_name(endpoint.trusted_by) or "—",
        trusted_at=endpoint.trusted_at.strftime("%Y-%m-%d %H:%M"),
        enabled=endpoint.enabled,
        changed=changed,
        current=endpoint.id == current,
    )


class SignInEndpointsState(LegacySessionState):
    """Everyone signed in sees the list; only administrators change it (`require_admin`)."""

    rows: list[EndpointRow] = []
    loaded: bool = False
    new_host: str = ""
    new_port: str = "8006"
    new_fingerprint: str = ""
    old_fingerprint: str = ""  # when re-trusting a known endpoint: what is pinned now
    form_error: str = ""
    busy: bool = False
    message: str = ""

    def _endpoint_id_of_session(self) -> str:
        return self._user_id.rsplit("@", 1)[1] if self._user_id.count("@") >= 2 else ""

    async def _reload(self) -> None:
        current = self._endpoint_id_of_session()
        self.rows = [_row(e, current) for e in await asyncio.to_thread(endpoints.list_all)]
        self.loaded = True

    @rx.event
    @require_session
    async def load(self) -> None:
        await self._reload()

    async def _fetch_fingerprint(self, host: str, port: int) -> None:
        self.new_host, self.new_port = host, str(port)
        self.busy = True
        try:
            self.new_fingerprint = await fetch_fingerprint(
                host, port, timeout=get_settings().proxmox_connect_timeout
            )
        except ProxmoxError:
            self.form_error = unreachable_message(host, port)
        finally:
            self.busy = False

    @rx.event
    @require_admin
    async def check_new(self, form: dict[str, str]) -> None:
        """Step 1 of enabling a new endpoint: read its certificate fingerprint for the
        administrator to compare."""
        self._clear()
        parsed = parse_endpoint(form.get("host", ""), form.get("port", ""))
        if isinstance(parsed, Failed):
            self.form_error = parsed.message
            return
        host, port = parsed
        allowed = get_settings().login_allowed_hosts
        if allowed and (host, port) not in allowed:
            self.form_error = "LXCM_LOGIN_ALLOWED_HOSTS does not include this host"
            return
        known = await asyncio.to_thread(endpoints.find, host, port)
        if known is not None:
            self.form_error = (
                "This endpoint is already enabled"
                if known.enabled
                else "This endpoint is disabled: use Enable in its row"
            )
            return
        await self._fetch_fingerprint(host, port)

    @rx.event
    @require_admin
    async def check_retrust(self, endpoint_id: str) -> None:
        """Re-trust a known endpoint (e.g. after a certificate renewal): read what it
        presents now and show it next to the pinned fingerprint."""
        self._clear()
        endpoint = await asyncio.to_thread(endpoints.get, str(endpoint_id))
        if endpoint is None:
            self.form_error = "Endpoint not found"
            return
        self.old_fingerprint = endpoint.tls_fingerprint
        await self._fetch_fingerprint(endpoint.host, endpoint.port)

    @rx.event
    @require_admin
    async def confirm_new(self) -> None:
        """Step 2: the administrator compared the fingerprint; pin it (and enable)."""
        if not self.new_fingerprint or not self.new_host:
            return
        retrust = bool(self.old_fingerprint)
        endpoint = await asyncio.to_thread(
            endpoints.trust,
            self.new_host,
            int(self.new_port),
            self.new_fingerprint,
            self._user_id,
        )
        action = "sign_in_endpoint.trust" if retrust else "sign_in_endpoint.add"
        await asyncio.to_thread(
            audit.record,
            action,
            user_id=self._user_id,
            target=f"endpoint:{endpoint.label}",
            detail=f"fingerprint {endpoint.tls_fingerprint}",
        )
        self._clear()
        self.message = (
            f"{endpoint.label} is trusted with the new certificate"
            if retrust
            else f"{endpoint.label} is enabled for sign-in"
        )
        await self._reload()

    def _clear(self) -> None:
        self.new_fingerprint, self.old_fingerprint, self.new_host = "", "", ""
        self.form_error, self.message = "", ""

    @rx.event
    def cancel_new(self) -> None:
        self._clear()

    @rx.event
    @require_admin
    async def set_enabled(self, endpoint_id: str, enabled: bool) -> None:
        """Disable (its users can no longer sign in; their sessions end at their next
        event) or enable again (its users find their nodes, templates and jobs)."""
        self.form_error, self.message = "", ""
        endpoint_id = str(endpoint_id)
        if not enabled and endpoint_id == self._endpoint_id_of_session():
            self.form_error = "You are signed in through this endpoint: it cannot be disabled"
            return
        endpoint = await asyncio.to_thread(
            endpoints.set_enabled, endpoint_id, bool(enabled), self._user_id
        )
        if endpoint is None:
            self.form_error = "Endpoint not found"
            await self._reload()
            return
        await endpoints.publish_disabled(async_client())
        await asyncio.to_thread(
            audit.record,
            "sign_in_endpoint.enable" if enabled else "sign_in_endpoint.disable",
            user_id=self._user_id,
            target=f"endpoint:{endpoint.label}",
        )
        self.message = (
            f"{endpoint.label} is enabled for sign-in again"
            if enabled
            else f"{endpoint.label} is disabled: its users can no longer sign in"
        )
        await self._reload()


def _disable_button(row: EndpointRow) -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(
            rx.button(
                rx.icon("ban", size=14),
                "Disable",
                size="1",
                variant="soft",
                color_scheme="red",
                disabled=row.current,
                title=rx.cond(row.current, "You are signed in through this endpoint", ""),
            ),
        ),
        rx.alert_dialog.content(
            rx.alert_dialog.title("Disable sign-in endpoint?"),
            rx.alert_dialog.description(
                rx.text(
                    "Users can no longer sign in through ",
                    rx.code(row.label),
                    " and their open sessions end at their next action. Their nodes, "
                    "templates and jobs are kept and come back when it is enabled again.",
                ),
            ),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(
                    rx.button(
                        "Disable",
                        color_scheme="red",
                        on_click=SignInEndpointsState.set_enabled(row.id, False),
                    ),
                ),
                justify="end",
                spacing="3",
                margin_top="1rem",
            ),
        ),
    )


def _row_actions(row: EndpointRow) -> rx.Component:
    """Administrators only: enable/disable and re-trust (others see the list read-only)."""
    return rx.cond(
        LegacySessionState.is_admin,
        rx.flex(
            rx.cond(
                row.enabled,
                _disable_button(row),
                rx.button(
                    rx.icon("circle-check", size=14),
                    "Enable",
                    size="1",
                    variant="soft",
                    on_click=SignInEndpointsState.set_enabled(row.id, True),
                ),
            ),
            rx.button(
                rx.icon("shield-check", size=14),
                "Re-trust",
                size="1",
                variant="soft",
                color_scheme="gray",
                on_click=SignInEndpointsState.check_retrust(row.id),
            ),
            direction="column",
            align="start",
            spacing="2",
        ),
    )


def _status(row: EndpointRow) -> rx.Component:
    return rx.vstack(
        rx.cond(
            row.enabled,
            rx.badge("enabled", color_scheme="green"),
            rx.badge("disabled", color_scheme="red"),
        ),
        rx.cond(row.changed != "", rx.text(row.changed, size="1", color=rx.color("gray", 10))),
        spacing="1",
    )


def _table() -> rx.Component:
    return rx.table.root(
        rx.table.header(
            rx.table.row(
                *[
                    rx.table.column_header_cell(h)
                    for h in (
                        "Endpoint",
                        "Status",
                        "Cluster",
                        "TLS fingerprint (SHA-256)",
                        "Trusted by",
                        "",
                    )
                ]
            )
        ),
        rx.table.body(
            rx.foreach(
                SignInEndpointsState.rows,
                lambda row: rx.table.row(
                    rx.table.cell(
                        rx.hstack(
                            rx.text(row.label, weight="medium"),
                            rx.cond(row.current, rx.badge("current")),
                        ),
                    ),
                    rx.table.cell(_status(row)),
                    rx.table.cell(row.cluster_name),
                    rx.table.cell(
                        rx.code(row.fingerprint, size="1", word_break="break-all"),
                        max_width="22rem",
                    ),
                    rx.table.cell(
                        rx.vstack(
                            rx.text(row.trusted_by, size="2"),
                            rx.text(row.trusted_at, size="1", color=rx.color("gray", 10)),
                            spacing="0",
                        )
                    ),
                    rx.table.cell(_row_actions(row)),
                    align="center",
                ),
            )
        ),
        variant="surface",
        width="100%",
        id="endpoints-table",
    )


def _add_form() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Enable another endpoint", size="3", as_="h2"),
            rx.form(
                rx.hstack(
                    rx.vstack(
                        rx.el.label(rx.text("Host", size="2"), html_for="new-host"),
                        rx.input(
                            name="host",
                            id="new-host",
                            placeholder="192.168.1.100 or pve.local",
                            required=True,
                        ),
                        spacing="1",
                        flex="1",
                    ),
                    rx.vstack(
                        rx.el.label(rx.text("Port", size="2"), html_for="new-port"),
                        rx.input(
                            name="port",
                            id="new-port",
                            default_value="8006",
                            required=True,
                            width="6rem",
                        ),
                        spacing="1",
                    ),
                    rx.button(
                        rx.cond(SignInEndpointsState.busy, rx.spinner(size="2"), rx.fragment()),
                        "Check certificate",
                        type="submit",
                        disabled=SignInEndpointsState.busy,
                    ),
                    align="end",
                    spacing="3",
                    width="100%",
                ),
                on_submit=SignInEndpointsState.check_new,
                width="100%",
            ),
            rx.cond(
                SignInEndpointsState.old_fingerprint != "",
                rx.text(
                    "Re-trusting ",
                    rx.code(SignInEndpointsState.new_host),
                    ". Pinned now: ",
                    rx.code(
                        SignInEndpointsState.old_fingerprint,
                        id="old-fingerprint",
                        overflow_wrap="anywhere",
                    ),
                    size="2",
                ),
            ),
            rx.cond(
                SignInEndpointsState.new_fingerprint != "",
                fingerprint_confirmation(
                    "TLS certificate fingerprint (SHA-256)",
                    SignInEndpointsState.new_fingerprint,
                    "new-fingerprint",
                    rx.button(
                        "Trust and enable",
                        on_click=SignInEndpointsState.confirm_new,
                        id="trust-endpoint",
                    ),
                    rx.button(
                        "Cancel",
                        variant="soft",
                        color_scheme="gray",
                        on_click=SignInEndpointsState.cancel_new,
                    ),
                ),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def page() -> rx.Component:
    return page_shell(
        "Sign-in endpoints",
        rx.vstack(
            rx.text(
                "Proxmox hosts users may sign in against. Each one's TLS certificate is pinned: a "
                "changed certificate blocks sign-in until an administrator re-trusts it (Re-trust "
                "below, or `lxc-manager trust-endpoint`). A user is the Proxmox user at the "
                "endpoint that vouched for it.",
                size="2",
                color=rx.color("gray", 11),
            ),
            rx.cond(
                SignInEndpointsState.form_error != "",
                rx.callout(
                    SignInEndpointsState.form_error,
                    icon="circle-alert",
                    color_scheme="red",
                    role="alert",
                ),
            ),
            rx.cond(
                SignInEndpointsState.message != "",
                rx.callout(SignInEndpointsState.message, icon="check", color_scheme="green"),
            ),
            rx.cond(
                SignInEndpointsState.loaded,
                _table(),
                rx.center(rx.spinner(), width="100%", padding="2rem"),
            ),
            rx.cond(
                LegacySessionState.is_admin,
                _add_form(),
                rx.callout(
                    "Only administrators of LXC Manager (Sys.Modify on / in Proxmox, or named "
                    "in LXCM_ADMINS) enable, disable and re-trust sign-in endpoints.",
                    icon="lock",
                    color_scheme="gray",
                    id="endpoints-read-only",
                ),
            ),
            spacing="4",
            width="100%",
        ),
    )


ON_LOAD = SignInEndpointsState.load
