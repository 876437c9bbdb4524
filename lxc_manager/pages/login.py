"""`/login`: sign in with Proxmox credentials, confirm a new host's certificate, two-factor.

The password is read from the submitted form and never kept in state. A successful
sign-in ends in a full page load of `/auth/complete?grant=...`, a plain HTTP route that
sets the HttpOnly session cookie (a Reflex event cannot).
"""

from __future__ import annotations

import json
from urllib.parse import quote

import reflex as rx

from lxc_manager.pages.components.fingerprint import fingerprint_confirmation
from lxc_manager.redis_client import async_client
from lxc_manager.security.clients import client_address
from lxc_manager.security.sessions import (
    GRANT_NONCE_COOKIE,
    GRANT_NONCE_PATH,
    GRANT_TTL_SECONDS,
    get_session,
    safe_next,
    session_id_from_cookie_header,
)
from lxc_manager.settings import get_settings
from lxc_manager.signin.service import (
    EXPIRED_SIGN_IN,
    REALMS,
    TOO_MANY_CODES,
    ConfirmFingerprint,
    Failed,
    Outcome,
    SignedIn,
    SignInService,
    TwoFactorNeeded,
    parse_form,
)

ROUTE = "/login"
TITLE = "Sign in"


class LoginState(rx.State):
    host: str = ""
    port: str = "8006"
    username: str = "root"
    realm: str = "pam"
    step: str = "credentials"  # credentials | confirm | tfa
    fingerprint: str = ""
    error: str = ""
    field: str = ""
    notice: str = ""
    busy: bool = False
    ready: bool = False  # the page's state has loaded: typing is safe
    use_recovery: bool = False
    can_switch_factor: bool = False  # the account has both an authenticator and recovery keys
    _pending_id: str = ""
    _next: str = "/"

    def _service(self) -> SignInService:
        return SignInService(get_settings(), async_client())

    def _client_ip(self) -> str:
        """The connecting address, or what a trusted reverse proxy forwarded (LXCM_TRUSTED_PROXIES)."""
        return client_address(
            self.router.session.client_ip, self.router.headers.raw_headers, get_settings()
        )

    @rx.event
    async def load(self) -> rx.event.EventSpec | None:
        params = self.router.url.query_parameters
        self._next = safe_next(params.get("next"))
        self.notice = ""
        if params.get("ended"):
            self.notice = "Your session has ended. Sign in again to continue."
        elif params.get("expired"):
            self.notice = "The sign-in took too long. Please try again."
        session_id = session_id_from_cookie_header(self.router.headers.cookie)
        if await get_session(async_client(), get_settings(), session_id, touch=False) is not None:
            return rx.redirect(self._next, replace=True)
        self.busy = False
        if self.step != "credentials":
            self._restart()
        self.ready = True
        return None

    def _restart(self) -> None:
        self.step = "credentials"
        self.fingerprint = ""
        self.use_recovery = False
        self.can_switch_factor = False
        self._pending_id = ""

    def _apply(self, outcome: Outcome) -> rx.event.EventSpec | None:
        self.error, self.field = "", ""
        if isinstance(outcome, SignedIn):
            return rx.call_script(redeem_script(outcome, self._next))
        if isinstance(outcome, ConfirmFingerprint):
            self.step, self.fingerprint = "confirm", outcome.fingerprint
        elif isinstance(outcome, TwoFactorNeeded):
            self.step, self._pending_id = "tfa", outcome.pending_id
            self.use_recovery = "totp" not in outcome.methods
            self.can_switch_factor = {"totp", "recovery"} <= set(outcome.methods)
        elif isinstance(outcome, Failed):
            self.error, self.field = outcome.message, outcome.field or ""
        return None

    @rx.event
    async def submit_credentials(self, form: dict[str, str]):
        """Sign in with the form's fields; the password only passes through."""
        if self.busy:
            return
        self.host = form.get("host", "").strip()
        self.port = form.get("port", "").strip()
        self.username = form.get("username", "").strip()
        self.realm = form.get("realm", "pam")
        parsed = parse_form(self.host, self.port, self.username, self.realm, self._client_ip())
        if isinstance(parsed, Failed):
            self._apply(parsed)
            return
        self.busy, self.error, self.field = True, "", ""
        yield
        try:
            confirmed = form.get("confirmed_fingerprint", "") if self.step == "confirm" else ""
            outcome = await self._service().sign_in(parsed, form.get("password", ""), confirmed)
        finally:
            self.busy = False
        if isinstance(outcome, Failed) and outcome.message.startswith("Invalid credentials"):
            yield rx.set_value("password", "")
        yield self._apply(outcome)

    @rx.event
    async def submit_code(self, form: dict[str, str]):
        if self.busy:
            return
        self.busy, self.error, self.field = True, "", ""
        yield
        try:
            outcome = await self._service().complete_two_factor(
                self._pending_id,
                form.get("code", ""),
                self.use_recovery,
                self._client_ip(),
            )
        finally:
            self.busy = False
        if isinstance(outcome, Failed) and outcome.message in (EXPIRED_SIGN_IN, TOO_MANY_CODES):
            self._restart()
        yield rx.set_value("code", "")
        yield self._apply(outcome)

    @rx.event
    def toggle_recovery(self) -> None:
        if not self.can_switch_factor:
            return
        self.use_recovery = not self.use_recovery
        self.error, self.field = "", ""

    @rx.event
    def start_over(self) -> None:
        self._restart()
        self.error, self.field = "", ""


def redeem_script(outcome: SignedIn, next_path: str) -> str:
    """Hand the grant's nonce to this tab only (a short-lived cookie scoped to the route),
    then navigate to `/auth/complete`: a same-origin navigation that carries it."""
    secure = "; secure" if get_settings().secure_cookies else ""
    cookie = (
        f"{GRANT_NONCE_COOKIE}={outcome.nonce}; path={GRANT_NONCE_PATH}; "
        f"max-age={GRANT_TTL_SECONDS}; samesite=strict{secure}"
    )
    target = f"{GRANT_NONCE_PATH}?grant={quote(outcome.grant)}&next={quote(next_path)}"
    return f"document.cookie = {json.dumps(cookie)}; window.location.assign({json.dumps(target)});"


def _field_error(name: str) -> rx.Component:
    return rx.cond(
        (LoginState.field == name) & (LoginState.error != ""),
        rx.text(
            LoginState.error,
            size="1",
            color=rx.color("red", 11),
            id=f"{name}-error",
            role="alert",
            overflow_wrap="anywhere",
        ),
    )


def _labelled(label: str, name: str, control: rx.Component) -> rx.Component:
    return rx.vstack(
        rx.el.label(rx.text(label, size="2", weight="medium"), html_for=name),
        control,
        _field_error(name),
        spacing="1",
        width="100%",
    )


def _input(name: str, **props: object) -> rx.Component:
    return rx.input(
        name=name,
        id=name,
        size="3",
        width="100%",
        aria_invalid=rx.cond(LoginState.field == name, "true", "false"),
        **props,
    )


def _general_error() -> rx.Component:
    return rx.cond(
        (LoginState.error != "") & (LoginState.field == ""),
        rx.callout(
            LoginState.error,
            icon="circle-alert",
            color_scheme="red",
            role="alert",
            id="login-error",
            overflow_wrap="anywhere",
        ),
    )


def _fingerprint_panel() -> rx.Component:
    return rx.cond(
        LoginState.step == "confirm",
        fingerprint_confirmation(
            "First connection to this Proxmox host: its TLS certificate fingerprint (SHA-256)",
            LoginState.fingerprint,
            "fingerprint",
            panel_id="fingerprint-panel",
        ),
    )


def credentials_form() -> rx.Component:
    confirming = LoginState.step == "confirm"
    return rx.form(
        rx.vstack(
            _general_error(),
            rx.hstack(
                rx.box(
                    _labelled(
                        "Proxmox Host",
                        "host",
                        _input(
                            "host",
                            placeholder="192.168.1.100 or pve.local",
                            default_value=LoginState.host,
                            auto_focus=True,
                            required=True,
                        ),
                    ),
                    flex="1",
                    min_width="0",
                ),
                rx.box(
                    _labelled(
                        "Port",
                        "port",
                        _input(
                            "port",
                            default_value=LoginState.port,
                            input_mode="numeric",
                            required=True,
                        ),
                    ),
                    width="6.5rem",
                ),
                width="100%",
                spacing="3",
                align="start",
            ),
            _labelled(
                "Username",
                "username",
                _input(
                    "username",
                    default_value=LoginState.username,
                    auto_complete="username",
                    required=True,
                ),
            ),
            _labelled(
                "Password",
                "password",
                _input(
                    "password", type="password", auto_complete="current-password", required=True
                ),
            ),
            _labelled(
                "Realm",
                "realm",
                rx.select.root(
                    rx.select.trigger(id="realm", width="100%"),
                    rx.select.content(
                        *[rx.select.item(label, value=value) for value, label in REALMS.items()]
                    ),
                    name="realm",
                    default_value=LoginState.realm,
                    size="3",
                ),
            ),
            _fingerprint_panel(),
            rx.el.input(type="hidden", name="confirmed_fingerprint", value=LoginState.fingerprint),
            rx.button(
                rx.cond(LoginState.busy, rx.spinner(size="2"), rx.fragment()),
                rx.cond(confirming, "Trust this certificate and sign in", "Sign in"),
                type="submit",
                size="3",
                width="100%",
                disabled=LoginState.busy,
                id="sign-in",
            ),
            rx.cond(
                confirming,
                rx.button(
                    "Cancel",
                    type="button",
                    variant="ghost",
                    on_click=LoginState.start_over,
                    width="100%",
                ),
            ),
            spacing="4",
            width="100%",
        ),
        on_submit=LoginState.submit_credentials,
        width="100%",
        id="sign-in-form",
        custom_attrs={"data-ready": rx.cond(LoginState.ready, "true", "false")},
    )


def code_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.text(
                rx.cond(
                    LoginState.use_recovery,
                    "Enter one of your recovery keys.",
                    "Enter the 6-digit code from your authenticator app.",
                ),
                size="2",
                color=rx.color("gray", 11),
            ),
            _general_error(),
            _labelled(
                rx.cond(LoginState.use_recovery, "Recovery key", "Authentication code"),  # type: ignore[arg-type]
                "code",
                _input(
                    "code",
                    auto_complete="one-time-code",
                    auto_focus=True,
                    required=True,
                    input_mode=rx.cond(LoginState.use_recovery, "text", "numeric"),
                ),
            ),
            rx.button(
                rx.cond(LoginState.busy, rx.spinner(size="2"), rx.fragment()),
                "Verify",
                type="submit",
                size="3",
                width="100%",
                disabled=LoginState.busy,
                id="verify",
            ),
            rx.hstack(
                rx.cond(
                    LoginState.can_switch_factor,
                    rx.button(
                        rx.cond(
                            LoginState.use_recovery,
                            "Use an authentication code",
                            "Use a recovery key",
                        ),
                        type="button",
                        variant="ghost",
                        on_click=LoginState.toggle_recovery,
                    ),
                    rx.fragment(),
                ),
                rx.spacer(),
                rx.button(
                    "Start over",
                    type="button",
                    variant="ghost",
                    color_scheme="gray",
                    on_click=LoginState.start_over,
                ),
                width="100%",
            ),
            spacing="4",
            width="100%",
        ),
        on_submit=LoginState.submit_code,
        width="100%",
    )


def page() -> rx.Component:
    return rx.center(
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.image(src="/favicon.svg", width="36px", height="36px", alt=""),
                    rx.heading("LXC Manager", size="6", as_="h1"),
                    align="center",
                    spacing="3",
                ),
                rx.text(
                    rx.cond(
                        LoginState.step == "tfa",
                        "Two-factor authentication",
                        "Sign in with your Proxmox VE account",
                    ),
                    size="2",
                    color=rx.color("gray", 11),
                ),
                rx.cond(
                    LoginState.notice != "",
                    rx.callout(
                        LoginState.notice, icon="info", color_scheme="blue", id="login-notice"
                    ),
                ),
                rx.cond(LoginState.step == "tfa", code_form(), credentials_form()),
                spacing="4",
                width="100%",
            ),
            size="4",
            width="100%",
            max_width="30rem",
        ),
        min_height="100vh",
        padding="1rem",
        background=rx.color("gray", 2),
    )
