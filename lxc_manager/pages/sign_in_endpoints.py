"""`/settings/sign-in`: the Proxmox hosts users may sign in against (DESIGN §3.2)."""

from __future__ import annotations

import reflex as rx
from pydantic import BaseModel

from lxc_manager.pages.components.fingerprint import fingerprint_confirmation
from lxc_manager.pages.components.layout import page_shell
from lxc_manager.proxmox import ProxmoxError, fetch_fingerprint
from lxc_manager.security import audit
from lxc_manager.settings import get_settings
from lxc_manager.signin import endpoints
from lxc_manager.signin.service import Failed, parse_endpoint, unreachable_message
from lxc_manager.state.session import SessionState, require_session

ROUTE = "/settings/sign-in"
TITLE = "Sign-in endpoints"


class EndpointRow(BaseModel):
    id: int
    label: str
    fingerprint: str
    cluster_name: str
    trusted_by: str
    trusted_at: str
    current: bool


class SignInEndpointsState(SessionState):
    rows: list[EndpointRow] = []
    loaded: bool = False
    new_host: str = ""
    new_port: str = "8006"
    new_fingerprint: str = ""
    form_error: str = ""
    busy: bool = False
    message: str = ""

    def _endpoint_id_of_session(self) -> int:
        return int(self._user_id.rsplit("@", 1)[1]) if "@" in self._user_id else -1

    def _reload(self) -> None:
        current = self._endpoint_id_of_session()
        self.rows = [
            EndpointRow(
                id=e.id or 0,
                label=e.label,
                fingerprint=e.tls_fingerprint,
                cluster_name=e.cluster_name or "—",
                trusted_by=e.trusted_by or "—",
                trusted_at=e.trusted_at.strftime("%Y-%m-%d %H:%M"),
                current=e.id == current,
            )
            for e in endpoints.list_all()
        ]
        self.loaded = True

    @rx.event
    @require_session
    def load(self) -> None:
        self._reload()

    @rx.event
    @require_session
    async def check_new(self, form: dict[str, str]) -> None:
        """Step 1 of adding: read the host's certificate fingerprint for the user to compare."""
        self.form_error, self.message, self.new_fingerprint = "", "", ""
        parsed = parse_endpoint(form.get("host", ""), form.get("port", ""))
        if isinstance(parsed, Failed):
            self.form_error = parsed.message
            return
        host, port = parsed
        allowed = get_settings().login_allowed_hosts
        if allowed and (host, port) not in allowed:
            self.form_error = "LXCM_LOGIN_ALLOWED_HOSTS does not include this host"
            return
        if endpoints.find(host, port) is not None:
            self.form_error = "This endpoint is already enabled"
            return
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
    @require_session
    def confirm_new(self) -> None:
        """Step 2: the user compared the fingerprint; pin it."""
        if not self.new_fingerprint or not self.new_host:
            return
        endpoint = endpoints.trust(
            self.new_host, int(self.new_port), self.new_fingerprint, trusted_by=self._user_id
        )
        audit.record(
            "sign_in_endpoint.add", user_id=self._user_id, target=f"endpoint:{endpoint.label}"
        )
        self.message = f"{endpoint.label} is enabled for sign-in"
        self.new_fingerprint, self.new_host = "", ""
        self._reload()

    @rx.event
    def cancel_new(self) -> None:
        self.new_fingerprint, self.new_host, self.form_error = "", "", ""

    @rx.event
    @require_session
    def remove(self, endpoint_id: int) -> None:
        if endpoint_id == self._endpoint_id_of_session():
            self.form_error = "You are signed in through this endpoint: it cannot be removed"
            return
        endpoint = endpoints.get(endpoint_id)
        if endpoint is None or not endpoints.remove(endpoint_id):
            self.form_error = "Endpoint not found"
            self._reload()
            return
        audit.record(
            "sign_in_endpoint.remove", user_id=self._user_id, target=f"endpoint:{endpoint.label}"
        )
        self.message = f"{endpoint.label} can no longer be used to sign in"
        self._reload()


def _remove_button(row: EndpointRow) -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(
            rx.button(
                rx.icon("trash-2", size=14),
                "Remove",
                size="1",
                variant="soft",
                color_scheme="red",
                disabled=row.current,
            ),
        ),
        rx.alert_dialog.content(
            rx.alert_dialog.title("Remove sign-in endpoint?"),
            rx.alert_dialog.description(
                rx.text(
                    "Users will no longer be able to sign in through ",
                    rx.code(row.label),
                    ". Their nodes are kept.",
                ),
            ),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(
                    rx.button(
                        "Remove", color_scheme="red", on_click=SignInEndpointsState.remove(row.id)
                    ),
                ),
                justify="end",
                spacing="3",
                margin_top="1rem",
            ),
        ),
    )


def _table() -> rx.Component:
    return rx.table.root(
        rx.table.header(
            rx.table.row(
                *[
                    rx.table.column_header_cell(h)
                    for h in ("Endpoint", "Cluster", "TLS fingerprint (SHA-256)", "Trusted by", "")
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
                    rx.table.cell(_remove_button(row)),
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
                "Proxmox hosts users may sign in against. Each one's TLS certificate is pinned: a changed "
                "certificate blocks sign-in until an administrator re-trusts it with `lxc-manager trust-endpoint`.",
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
            _add_form(),
            spacing="4",
            width="100%",
        ),
    )


ON_LOAD = SignInEndpointsState.load
