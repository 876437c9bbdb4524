"""The sign-in flow, free of Reflex: credentials → (fingerprint confirmation) → (two-factor) → session.

Every answer to the user is one of a few fixed texts; what really happened goes to the log
and the audit trail. The password is used once and never stored; the Proxmox ticket is
not kept after sign-in.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
from dataclasses import asdict, dataclass
from typing import Any

from redis.asyncio import Redis

from lxc_manager.proxmox import (
    AuthenticationError,
    CertificateMismatch,
    LoginResult,
    ProxmoxClient,
    ProxmoxError,
    TicketAuth,
    Timeouts,
    TlsPolicy,
    TwoFactorRequired,
    Unreachable,
    fetch_fingerprint,
)
from lxc_manager.security import audit, clients, ratelimit, refusals
from lxc_manager.security.sessions import create_grant, create_session
from lxc_manager.settings import Settings, split_host_port
from lxc_manager.signin import endpoints
from lxc_manager.signin.endpoints import Admission

log = logging.getLogger(__name__)

INVALID_CREDENTIALS = "Invalid credentials"
NOT_ENABLED = "This Proxmox host is not enabled for sign-in"
CERTIFICATE_CHANGED = "The server's certificate changed"
EXPIRED_SIGN_IN = "The sign-in has expired: enter your credentials again"
TOO_MANY_CODES = "Too many wrong codes: enter your credentials again"
UNKNOWN_ENDPOINT_TARGET = "endpoint:(not trusted)"  # audit target of refusals at other hosts
TFA_PREFIX = "tfa-challenge:"  # a hash: record (JSON), tries
MAX_CODE_ATTEMPTS = 5  # per pending two-factor challenge
# KEYS[1]: the pending challenge (a hash: record, tries); ARGV[1]: the attempts it allows.
# Counts one attempt and returns {tries, record}; deletes a used-up challenge and returns nil.
TAKE_CODE_ATTEMPT_SCRIPT = """
local record = redis.call('HGET', KEYS[1], 'record')
if not record then return false end
local tries = redis.call('HINCRBY', KEYS[1], 'tries', 1)
if tries > tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[1])
  return false
end
return {tries, record}
"""
ADMIN_PRIVILEGE = "Sys.Modify"  # on "/": who administers LXC Manager (DESIGN §3.2)
REALMS = {"pam": "Linux PAM", "pve": "Proxmox VE"}
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9._-][A-Za-z0-9._@-]{0,63}$")
TOTP_PATTERN = re.compile(r"^\d{6,8}$")
RECOVERY_PATTERN = re.compile(r"^[A-Za-z0-9-]{4,64}$")


def too_many_attempts(minutes: int) -> str:
    return f"Too many attempts, try again in {minutes} minute{'s' if minutes != 1 else ''}"


def unreachable_message(host: str, port: int) -> str:
    return f"Unable to reach Proxmox at {host}:{port}"


@dataclass(frozen=True)
class Credentials:
    host: str
    port: int
    username: str  # as typed, without the realm unless the user typed one
    realm: str
    client_ip: str

    @property
    def label(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def login_name(self) -> str:
        return self.username if "@" in self.username else f"{self.username}@{self.realm}"


@dataclass(frozen=True)
class SignedIn:
    grant: str  # goes in the /auth/complete URL
    nonce: str  # only for the tab that signed in, as the lxc-grant-nonce cookie


@dataclass(frozen=True)
class ConfirmFingerprint:
    fingerprint: str


@dataclass(frozen=True)
class TwoFactorNeeded:
    pending_id: str
    methods: tuple[str, ...] = ("totp", "recovery")  # what the user may answer with, in order


# Second factors this sign-in form can take (typed); WebAuthn, U2F and Yubico OTP need the
# Proxmox web UI's own browser flows against the Proxmox origin.
TYPED_FACTORS = ("totp", "recovery")
FACTOR_NAMES = {"webauthn": "WebAuthn", "u2f": "U2F", "yubico": "Yubico OTP"}


def no_usable_factor_message(methods: frozenset[str], recovery_left: int | None) -> str:
    """Why a correct password still cannot lead to a session here."""
    others = [FACTOR_NAMES[m] for m in FACTOR_NAMES if m in methods]
    if others:
        return (
            f"This account's second factor is {' / '.join(others)}, which LXC Manager cannot "
            "ask for. Add a TOTP authenticator or recovery keys to the account in Proxmox "
            "(Datacenter > Permissions > Two Factor), then sign in here with those."
        )
    if recovery_left == 0:
        return (
            "All recovery keys of this account are used up. Create new ones in Proxmox "
            "(Datacenter > Permissions > Two Factor)."
        )
    return "This account's second factor is not one LXC Manager can ask for."


@dataclass(frozen=True)
class Failed:
    message: str
    field: str | None = None  # the form field the message belongs next to, if any


Outcome = SignedIn | ConfirmFingerprint | TwoFactorNeeded | Failed


def parse_endpoint(host: str, port: str) -> tuple[str, int] | Failed:
    """Validate a host (name, IPv4, IPv6 with or without brackets) and a port."""
    text = host.strip()
    if not text:
        return Failed("Enter the Proxmox host", "host")
    bracketed = text if text.startswith("[") or ":" not in text else f"[{text}]"
    parsed_host, _ = split_host_port(bracketed, 8006)
    if parsed_host is None:
        return Failed("Enter a host name or IP address", "host")
    if not port.strip().isdigit() or not 1 <= int(port.strip()) <= 65535:
        return Failed("Enter a port between 1 and 65535", "port")
    return endpoints.normalise_host(parsed_host), int(port.strip())


def parse_form(
    host: str, port: str, username: str, realm: str, client_ip: str
) -> Credentials | Failed:
    """Validate the visible fields; the first problem is returned next to its field."""
    endpoint = parse_endpoint(host, port)
    if isinstance(endpoint, Failed):
        return endpoint
    if not USERNAME_PATTERN.match(username.strip()):
        return Failed("Enter your Proxmox user name", "username")
    if realm not in REALMS:
        return Failed("Choose a realm", "realm")
    return Credentials(endpoint[0], endpoint[1], username.strip(), realm, client_ip)


@dataclass
class SignInService:
    settings: Settings
    redis: Redis

    # ---- limits ---------------------------------------------------------------------
    def _client_limit(self, client_ip: str) -> ratelimit.Limit:
        s = self.settings
        return ratelimit.Limit(
            "client",
            clients.rate_limit_subject(client_ip),
            s.login_limit_per_client,
            s.login_limit_window,
        )

    def _user_limit(self, creds: Credentials) -> ratelimit.Limit:
        s = self.settings
        subject = f"{creds.host}:{creds.port}:{creds.login_name.lower()}"
        return ratelimit.Limit("user", subject, s.login_limit_per_user, s.login_limit_window)

    async def _consume(
        self, creds: Credentials, known: bool, *limits: ratelimit.Limit
    ) -> Failed | None:
        """Count this attempt before anything reaches Proxmox; a refusal when none is left."""
        try:
            await ratelimit.consume(self.redis, *limits)
        except ratelimit.RateLimited as exc:
            await self._audit_failure(creds, known, "rate limited")
            return Failed(too_many_attempts(exc.minutes))
        return None

    @property
    def _timeouts(self) -> Timeouts:
        return Timeouts(
            connect=self.settings.proxmox_connect_timeout, read=self.settings.proxmox_read_timeout
        )

    # ---- step 1: credentials ------------------------------------------------------------
    async def sign_in(
        self, creds: Credentials, password: str, confirmed_fingerprint: str = ""
    ) -> Outcome:
        if not password:
            return Failed("Enter your password", "password")
        client_limit = self._client_limit(creds.client_ip)
        admission, endpoint = await asyncio.to_thread(
            endpoints.admission, self.settings, creds.host, creds.port
        )
        if admission is Admission.REFUSED:  # no contact, but a probe: costs the client
            if refused := await self._consume(creds, False, client_limit):
                return refused
            await self._audit_failure(creds, False, "endpoint not enabled for sign-in")
            return Failed(NOT_ENABLED, "host")
        # Every attempt (a first contact too) is counted here, before Proxmox sees it.
        known = admission is Admission.KNOWN
        if refused := await self._consume(creds, known, client_limit, self._user_limit(creds)):
            return refused

        if admission is Admission.FIRST_USE:
            try:
                fingerprint = await fetch_fingerprint(
                    creds.host, creds.port, timeout=self.settings.proxmox_connect_timeout
                )
            except ProxmoxError as exc:
                log.info("sign-in: first contact with %s failed: %s", creds.label, exc.detail)
                return Failed(unreachable_message(creds.host, creds.port), "host")
            if confirmed_fingerprint != fingerprint:
                return ConfirmFingerprint(fingerprint)
            pin = fingerprint
        else:
            assert endpoint is not None
            pin = endpoint.tls_fingerprint

        tls = TlsPolicy(fingerprint=pin)
        try:
            async with ProxmoxClient(
                creds.host, creds.port, tls=tls, timeouts=self._timeouts
            ) as pve:
                result = await pve.login(creds.username, password, creds.realm)
        except TwoFactorRequired as pending:
            # The attempt that led here stays counted: a pending challenge is an attempt.
            usable = tuple(m for m in TYPED_FACTORS if m in pending.methods)
            if not usable:
                await self._audit_failure(creds, known, "no usable second factor")
                return Failed(no_usable_factor_message(pending.methods, pending.recovery_left))
            pending_id = await self._store_pending(
                creds, pin, admission is Admission.FIRST_USE, pending, usable
            )
            return TwoFactorNeeded(pending_id, usable)
        except Exception as exc:
            return await self._login_error(creds, known, exc)
        return await self._finish(creds, pin, admission is Admission.FIRST_USE, result)

    # ---- step 2: two-factor -------------------------------------------------------------
    async def _store_pending(
        self,
        creds: Credentials,
        pin: str,
        first_use: bool,
        pending: TwoFactorRequired,
        methods: tuple[str, ...],
    ) -> str:
        pending_id = secrets.token_urlsafe(24)
        record = {
            "creds": asdict(creds),
            "pin": pin,
            "first_use": first_use,
            "ticket": pending.pending_ticket,
            "username": pending.username or creds.login_name,
            "methods": list(methods),
        }
        key = TFA_PREFIX + pending_id
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"record": json.dumps(record), "tries": 0})
            pipe.expire(key, self.settings.tfa_pending_ttl)
            await pipe.execute()
        return pending_id

    async def _take_code_attempt(self, pending_id: str) -> tuple[dict[str, Any], int] | None:
        """The pending record and this attempt's number (1-based), counted atomically.

        None when the challenge has expired or its attempts are used up (it is then gone).
        """
        if not pending_id or len(pending_id) > 64:
            return None
        answer = await self.redis.eval(  # type: ignore[misc]  # redis-py's sync/async union
            TAKE_CODE_ATTEMPT_SCRIPT, 1, TFA_PREFIX + pending_id, MAX_CODE_ATTEMPTS
        )
        if not answer:
            return None
        tries, raw = answer
        return json.loads(raw), int(tries)

    async def complete_two_factor(
        self, pending_id: str, code: str, recovery: bool, client_ip: str
    ) -> Outcome:
        code = code.strip().replace(" ", "")
        if not (RECOVERY_PATTERN if recovery else TOTP_PATTERN).match(code):
            return Failed(
                "Enter the recovery key" if recovery else "Enter the 6-digit code", "code"
            )
        taken = await self._take_code_attempt(pending_id)
        if taken is None:
            return Failed(EXPIRED_SIGN_IN)
        record, attempt = taken
        if ("recovery" if recovery else "totp") not in record.get("methods", TYPED_FACTORS):
            return Failed(
                "This account has no recovery keys left"
                if recovery
                else "This account has no authenticator app: enter a recovery key",
                "code",
            )
        creds = Credentials(**{**record["creds"], "client_ip": client_ip})
        known = not record["first_use"]
        if refused := await self._consume(
            creds, known, self._client_limit(client_ip), self._user_limit(creds)
        ):
            return refused
        answer = f"recovery:{code}" if recovery else f"totp:{code}"
        try:
            async with ProxmoxClient(
                creds.host,
                creds.port,
                tls=TlsPolicy(fingerprint=record["pin"]),
                timeouts=self._timeouts,
            ) as pve:
                result = await pve.complete_two_factor(record["username"], record["ticket"], answer)
        except Exception as exc:
            if attempt >= MAX_CODE_ATTEMPTS:  # the last one failed: start again from the password
                await self.redis.delete(TFA_PREFIX + pending_id)
            failed = await self._login_error(creds, known, exc, two_factor=True)
            if attempt >= MAX_CODE_ATTEMPTS and isinstance(exc, AuthenticationError):
                return Failed(TOO_MANY_CODES)
            return failed
        await self.redis.delete(TFA_PREFIX + pending_id)
        return await self._finish(creds, record["pin"], record["first_use"], result)

    # ---- endings ------------------------------------------------------------------------
    async def _login_error(
        self, creds: Credentials, known: bool, exc: Exception, two_factor: bool = False
    ) -> Failed:
        if isinstance(exc, AuthenticationError):
            await self._audit_failure(
                creds, known, "wrong second factor" if two_factor else "authentication failure"
            )
            return Failed(
                "Invalid code" if two_factor else INVALID_CREDENTIALS,
                "code" if two_factor else None,
            )
        if isinstance(exc, CertificateMismatch):
            await self._audit_failure(
                creds,
                known,
                "certificate changed",
                f"pinned {exc.expected}, presented {exc.actual}",
            )
            return Failed(
                f"{CERTIFICATE_CHANGED}: the pinned fingerprint is {exc.expected} but the server presented "
                f"{exc.actual}. If the change is expected, an administrator re-trusts it with "
                f"`lxc-manager trust-endpoint {creds.label}`.",
            )
        if isinstance(exc, Unreachable):
            await self._audit_failure(creds, known, "unreachable")
            return Failed(unreachable_message(creds.host, creds.port), "host")
        detail = exc.detail if isinstance(exc, ProxmoxError) else type(exc).__name__
        log.warning("sign-in to %s failed unexpectedly: %s", creds.label, detail)
        await self._audit_failure(creds, known, "error", detail)
        return Failed(unreachable_message(creds.host, creds.port), "host")

    async def _is_admin(self, creds: Credentials, pin: str, result: LoginResult) -> bool:
        """Sys.Modify on / at the sign-in endpoint, read with the user's own ticket, or
        LXCM_ADMINS naming the user at this endpoint (DESIGN §3.2)."""
        username = result.username or creds.login_name
        if self.settings.names_admin(username, creds.host, creds.port):
            return True
        try:
            async with ProxmoxClient(
                creds.host,
                creds.port,
                tls=TlsPolicy(fingerprint=pin),
                auth=TicketAuth.from_login(result),
                timeouts=self._timeouts,
            ) as pve:
                permissions = await pve.permissions("/")
        except ProxmoxError as exc:
            log.warning("sign-in: permissions of %s unreadable: %s", username, exc.detail)
            return False
        return permissions.allows("/", ADMIN_PRIVILEGE)

    async def _finish(
        self, creds: Credentials, pin: str, first_use: bool, result: LoginResult
    ) -> Outcome:
        username = result.username or creds.login_name
        cluster_name = result.clustername or ""
        if first_use:
            try:
                endpoint = await asyncio.to_thread(
                    endpoints.trust,
                    creds.host,
                    creds.port,
                    pin,
                    trusted_by=username,
                    cluster_name=cluster_name,
                    first_use=not self.settings.login_allowed_hosts,
                )
            except endpoints.FirstTrustTaken as exc:
                log.info("sign-in: first-use trust of %s refused: %s", creds.label, exc)
                await self._audit_failure(creds, False, "another endpoint was trusted first")
                return Failed(NOT_ENABLED, "host")
        else:
            found = await asyncio.to_thread(endpoints.find, creds.host, creds.port)
            if found is None or not found.enabled:  # disabled while this sign-in ran
                await self._audit_failure(
                    creds, found is not None, "endpoint not enabled for sign-in"
                )
                return Failed(NOT_ENABLED, "host")
            endpoint = found
            await asyncio.to_thread(endpoints.set_cluster_name, found.id, cluster_name)
        is_admin = await self._is_admin(creds, pin, result)
        session_id = await create_session(
            self.redis,
            self.settings,
            username=username,
            endpoint_id=endpoint.id,
            endpoint_label=creds.label,
            is_admin=is_admin,
        )
        await ratelimit.reset(self.redis, self._user_limit(creds))
        await asyncio.to_thread(
            audit.record,
            "login",
            user_id=f"{username}@{endpoint.id}",
            target=f"endpoint:{creds.label}",
            detail="administrator" if is_admin else "",
        )
        grant = await create_grant(self.redis, session_id)
        return SignedIn(grant.token, grant.nonce)

    async def _audit_failure(
        self, creds: Credentials, known: bool, reason: str, detail: str = ""
    ) -> None:
        """Counted per (reason, endpoint), one audit row at the 1st, 10th, 100th, ...:
        anyone can send refused sign-ins, and one row each would flood the audit trail.

        Only an endpoint in the table (`known`) has a counter of its own: any other host
        name is the sender's choice, so those share one, or new names would mean new rows.
        """
        client = f"client {creds.client_ip or 'unknown'}"
        about = f"{detail}; {client}" if detail else client
        await refusals.record_refusal(
            self.redis,
            "login",
            reason=reason,
            target=f"endpoint:{creds.label}" if known else UNKNOWN_ENDPOINT_TARGET,
            window=self.settings.login_limit_window,
            user_id=creds.login_name,
            detail=about if known else f"endpoint {creds.label}; {about}",
        )
