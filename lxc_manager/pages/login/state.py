"""The login page's State. Not guarded: it runs before anyone is signed in (the sign-in
service rate-limits it instead). The password is read from the submitted form and never
kept in state."""

from __future__ import annotations

from collections.abc import AsyncIterator

import reflex as rx
from reflex.event import EventSpec

from lxc_manager.pages.components.form_data import read_form
from lxc_manager.pages.login.fields import CodeForm, CredentialsForm
from lxc_manager.pages.login.redeem import redeem_script
from lxc_manager.redis_client import async_client
from lxc_manager.security.clients import client_address
from lxc_manager.security.sessions import get_session, safe_next, session_id_from_cookie_header
from lxc_manager.settings import get_settings
from lxc_manager.signin.service import (
    EXPIRED_SIGN_IN,
    TOO_MANY_CODES,
    ConfirmFingerprint,
    Failed,
    Outcome,
    SignedIn,
    SignInService,
    TwoFactorNeeded,
    parse_form,
)


class LoginState(rx.State):
    host: str = ""
    port: str = "8006"
    username: str = "root"
    realm: str = "pam"
    step: str = "credentials"  # credentials | confirm | tfa
    fingerprint: str = ""
    error: str = ""
    field: str = ""  # the field `error` belongs to, "" for the whole form
    notice: str = ""
    busy: bool = False
    ready: bool = False  # the page's state has loaded: typing is safe
    use_recovery: bool = False
    can_switch_factor: bool = False  # the account has both an authenticator and recovery keys
    _pending_id: str = ""
    _next: str = "/"

    @rx.var
    def field_errors(self) -> dict[str, str]:
        """The error of one field, for the form kit (empty for a form-wide error)."""
        return {self.field: self.error} if self.field and self.error else {}

    def _service(self) -> SignInService:
        return SignInService(get_settings(), async_client())

    def _client_ip(self) -> str:
        """The connecting address, or what a trusted reverse proxy forwarded (LXCM_TRUSTED_PROXIES)."""
        return client_address(
            self.router.session.client_ip, self.router.headers.raw_headers, get_settings()
        )

    @rx.event
    async def load(self) -> EventSpec | None:
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

    def _apply(self, outcome: Outcome) -> EventSpec | None:
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
    async def submit_credentials(self, form: dict[str, str]) -> AsyncIterator[EventSpec | None]:
        """Sign in with the form's fields; the password only passes through."""
        if self.busy:
            return
        submitted = read_form(CredentialsForm, form)
        self.host = submitted.host.strip()
        self.port = submitted.port.strip()
        self.username = submitted.username.strip()
        self.realm = submitted.realm
        parsed = parse_form(self.host, self.port, self.username, self.realm, self._client_ip())
        if isinstance(parsed, Failed):
            self._apply(parsed)
            return
        self.busy, self.error, self.field = True, "", ""
        yield None
        try:
            confirmed = submitted.confirmed_fingerprint if self.step == "confirm" else ""
            outcome = await self._service().sign_in(parsed, submitted.password, confirmed)
        finally:
            self.busy = False
        if isinstance(outcome, Failed) and outcome.message.startswith("Invalid credentials"):
            yield rx.set_value("password", "")
        yield self._apply(outcome)

    @rx.event
    async def submit_code(self, form: dict[str, str]) -> AsyncIterator[EventSpec | None]:
        if self.busy:
            return
        self.busy, self.error, self.field = True, "", ""
        yield None
        try:
            outcome = await self._service().complete_two_factor(
                self._pending_id,
                read_form(CodeForm, form).code,
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
