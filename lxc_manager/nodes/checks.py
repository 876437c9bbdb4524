"""The connection test run before a node is saved, and the quick reachability probe.

Order of the API test: TLS fingerprint (first contact: only the handshake, nothing is sent)
-> `/version` with the token -> `/access/permissions` against what the app needs ->
`/cluster/status`. The SSH test (when credentials are given) runs alongside: host key
(first contact: only the key exchange) -> sign in with the pinned key -> `pct list`. When
both pass, the host key of every other cluster member is read at its `/cluster/status`
address (`members`): pinned on first use, a changed one refused until confirmed.
Answers are short texts for the page; what really happened goes to the log. An SSH test
with newly typed credentials (possibly someone else's, on a host the form names) answers
one message whether the password was wrong or `pct` failed after signing in: telling them
apart would confirm a guessed password. Only a re-test of the user's own saved node with
its stored, already verified secret gets the precise message (`SshCheck.precise`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum

from lxc_manager.proxmox import (
    AuthenticationError,
    CertificateMismatch,
    PermissionDenied,
    ProxmoxClient,
    ProxmoxError,
    Timeouts,
    TlsPolicy,
    TokenAuth,
    Unreachable,
    fetch_fingerprint,
)
from lxc_manager.proxmox import normalize_fingerprint as normalize_tls
from lxc_manager.ssh import (
    HostKeyMismatch,
    HostKeyNotPinned,
    RetryPolicy,
    SshAuthFailed,
    SshError,
    SshPool,
    SshTarget,
    SshTimeout,
    SshUnreachable,
    fetch_host_key,
)
from lxc_manager.ssh import normalize_fingerprint as normalize_ssh

from . import members
from .members import MemberKey
from .types import CheckResult
from .validation import (
    PRIVSEP_HINT,
    cluster_key,
    format_address,
    missing_privileges,
    missing_privileges_message,
)

log = logging.getLogger(__name__)

SSH_CONNECT_TIMEOUT = 10.0
SSH_COMMAND_TIMEOUT = 20.0
SSH_CHECK_COMMAND = ("pct", "list")

MSG_TOKEN_REFUSED = "The token was refused"
MSG_SSH_SIGN_IN = "SSH sign-in failed"
MSG_SSH_GENERIC = "SSH sign-in failed or the user cannot run pct"
MSG_SSH_KEY_UNREADABLE = (
    "The private key could not be read (unsupported format, or it has a passphrase)"
)

__all__ = [
    "MSG_SSH_GENERIC",
    "MSG_SSH_SIGN_IN",
    "MSG_TOKEN_REFUSED",
    "PRIVSEP_HINT",
    "ApiCheck",
    "SshCheck",
    "check_connection",
    "probe_api",
    "probe_ssh",
]


def ssh_unreachable_message(address: str) -> str:
    return f"Unable to reach SSH at {address}"


def tls_changed_message(address: str, pinned: str, presented: str) -> str:
    return (
        f"The certificate of {address} changed: pinned {pinned}, the server now presents "
        f"{presented}. Confirm the new fingerprint only if the certificate was renewed."
    )


def ssh_changed_message(address: str, pinned: str, presented: str) -> str:
    return (
        f"The SSH host key of {address} changed: pinned {pinned}, the server now presents "
        f"{presented}. Confirm the new key only if the host was reinstalled."
    )


@dataclass(frozen=True)
class ApiCheck:
    """What the API test needs. `pinned`: the stored fingerprint when editing a node whose
    host:port did not change; `confirmed`: what the user confirmed in the form."""

    host: str
    port: int
    token_id: str
    token_secret: str = field(repr=False)
    confirmed: str | None
    pinned: str | None
    timeouts: Timeouts


@dataclass(frozen=True)
class SshCheck:
    """What the SSH test needs. `precise`: the secret is the stored one of the user's own
    saved node (same host, port and user), so a failure may say whether the sign-in or
    `pct` failed; otherwise both get `MSG_SSH_GENERIC`."""

    host: str
    port: int
    user: str
    secret: str = field(repr=False)
    kind: str  # "password" | "key"
    confirmed: str | None
    pinned: str | None
    precise: bool = False
    pinned_members: Mapping[str, MemberKey] = field(default_factory=dict)
    confirmed_members: Mapping[str, str] = field(default_factory=dict)

    def target(self, pin: str) -> SshTarget:
        key = self.kind == "key"
        return SshTarget(
            host=self.host,
            port=self.port,
            username=self.user,
            password=None if key else self.secret,
            private_key=self.secret if key else None,
            host_key_fingerprint=pin,
        )


class PinDecision(Enum):
    USE = "use"  # connect with the returned pin
    CONFIRM = "confirm"  # first contact: show the presented fingerprint
    CHANGED = "changed"  # a pinned fingerprint differs and the user did not confirm the new one


def decide_pin(
    presented: str,
    pinned: str | None,
    confirmed: str | None,
    normalize: Callable[[str], str],
) -> PinDecision:
    """First contact needs the user's confirmation of exactly what the server presents; a
    stored pin is kept, and replaced only by an explicit confirmation of the new value."""
    confirmed_value = _normalized_or_none(confirmed, normalize)
    if pinned is not None and _normalized_or_none(pinned, normalize) == presented:
        return PinDecision.USE
    if confirmed_value == presented:
        return PinDecision.USE
    return PinDecision.CHANGED if pinned is not None else PinDecision.CONFIRM


def _normalized_or_none(value: str | None, normalize: Callable[[str], str]) -> str | None:
    if value is None:
        return None
    try:
        return normalize(value)
    except ValueError:
        return None


async def check_connection(api: ApiCheck, ssh: SshCheck | None) -> CheckResult:
    """Run the API test and (if SSH credentials are given) the SSH test concurrently, so
    that both fingerprints can be confirmed in one round."""
    if ssh is None:
        return _merge(api, await check_api(api), None)
    api_result, ssh_result = await asyncio.gather(check_api(api), check_ssh(ssh))
    if api_result.ok and ssh_result.ok:
        ssh_result = await check_members(ssh, api_result, ssh_result)
    return _merge(api, api_result, ssh_result)


async def check_members(c: SshCheck, api: CheckResult, ssh: CheckResult) -> CheckResult:
    """The host keys of the cluster's other members (`api.member_keys`: their addresses),
    read on the node's SSH port; a changed pinned key fails the test until confirmed."""
    found = await members.check_member_keys(
        [(m.name, m.ip, m.state != members.UNREACHABLE) for m in api.member_keys],
        c.port,
        c.pinned_members,
        c.confirmed_members,
    )
    changed = [m for m in found if m.state == members.CHANGED]
    for member in changed:
        log.warning(
            "node check ssh: member %s at %s changed its host key (%s -> %s)",
            member.name,
            member.ip,
            member.key,
            member.presented,
        )
    if not changed:
        return CheckResult(ok=True, ssh_host_key=ssh.ssh_host_key, member_keys=found)
    message = " ".join(
        members.member_changed_message(
            m.name, format_address(m.ip, c.port), normalize_ssh(m.key), m.presented
        )
        for m in changed
    )
    return CheckResult(
        ok=False,
        field_errors={"ssh_secret": message},
        ssh_host_key=ssh.ssh_host_key,
        member_keys=found,
        needs_member_confirmation=True,
    )


def _merge(api: ApiCheck, a: CheckResult, s: CheckResult | None) -> CheckResult:
    errors = {**a.field_errors, **(s.field_errors if s else {})}
    ok = a.ok and (s is None or s.ok)
    return CheckResult(
        ok=ok,
        field_errors=errors,
        error=a.error or (s.error if s else ""),
        tls_fingerprint=a.tls_fingerprint,
        needs_tls_confirmation=a.needs_tls_confirmation,
        ssh_host_key=s.ssh_host_key if s else "",
        needs_ssh_confirmation=bool(s and s.needs_ssh_confirmation),
        member_keys=s.member_keys if s else (),
        needs_member_confirmation=bool(s and s.needs_member_confirmation),
        version=a.version,
        cluster_name=a.cluster_name,
        pve_nodes=a.pve_nodes,
        missing_privileges=a.missing_privileges,
        privsep_hint=a.privsep_hint,
        cluster_key=cluster_key(a.cluster_name, a.pve_nodes, api.host, api.port) if a.ok else "",
    )


def _field(
    name: str, message: str, *, tls_fingerprint: str = "", ssh_host_key: str = ""
) -> CheckResult:
    return CheckResult(
        ok=False,
        field_errors={name: message},
        tls_fingerprint=tls_fingerprint,
        ssh_host_key=ssh_host_key,
    )


async def check_api(c: ApiCheck) -> CheckResult:
    address = format_address(c.host, c.port)
    try:
        presented = await fetch_fingerprint(c.host, c.port, timeout=c.timeouts.connect)
    except ProxmoxError as exc:
        log.info("node check %s: no TLS handshake: %s", address, exc)
        return _field("host", exc.user_message)
    decision = decide_pin(presented, c.pinned, c.confirmed, normalize_tls)
    if decision is PinDecision.CONFIRM:
        return CheckResult(ok=False, tls_fingerprint=presented, needs_tls_confirmation=True)
    if decision is PinDecision.CHANGED:
        assert c.pinned is not None
        log.warning("node check %s: certificate changed (%s -> %s)", address, c.pinned, presented)
        return _field(
            "host",
            tls_changed_message(address, normalize_tls(c.pinned), presented),
            tls_fingerprint=presented,
        )
    try:
        async with ProxmoxClient(
            c.host,
            c.port,
            tls=TlsPolicy(fingerprint=presented),
            auth=TokenAuth(c.token_id, c.token_secret),
            timeouts=c.timeouts,
            retries=0,
        ) as pve:
            version = await pve.version()
            permissions = await pve.permissions()
            missing = missing_privileges(permissions)
            if missing:
                log.info("node check %s: %s lacks %s", address, c.token_id, missing)
                return CheckResult(
                    ok=False,
                    error=missing_privileges_message(missing),
                    tls_fingerprint=presented,
                    version=version.version,
                    missing_privileges=missing,
                    privsep_hint=True,
                )
            status = await pve.cluster_status()
    except CertificateMismatch as exc:  # the certificate changed between two handshakes
        log.warning("node check %s: %s", address, exc)
        return _field(
            "host",
            tls_changed_message(address, exc.expected, exc.actual),
            tls_fingerprint=exc.actual,
        )
    except AuthenticationError as exc:
        log.info("node check %s: token %s refused: %s", address, c.token_id, exc.detail)
        return _field("token_secret", MSG_TOKEN_REFUSED, tls_fingerprint=presented)
    except Unreachable as exc:
        log.info("node check %s: %s", address, exc)
        return _field("host", exc.user_message, tls_fingerprint=presented)
    except PermissionDenied as exc:
        log.info("node check %s: %s", address, exc)
        return CheckResult(
            ok=False,
            error=f"The API token may not read the cluster status ({exc.detail or exc.user_message})",
            tls_fingerprint=presented,
            privsep_hint=True,
        )
    except ProxmoxError as exc:
        log.warning("node check %s: %s", address, exc)
        return CheckResult(ok=False, error=exc.user_message, tls_fingerprint=presented)
    return CheckResult(
        ok=True,
        tls_fingerprint=presented,
        version=version.version,
        cluster_name=status.name or "",
        pve_nodes=list(status.node_names),
        member_keys=tuple(
            MemberKey(n.name, n.ip or "", "", "" if n.online else members.UNREACHABLE)
            for n in status.nodes
            if not n.local and len(status.nodes) > 1
        ),
    )


def _ssh_pool(connect_timeout: float = SSH_CONNECT_TIMEOUT) -> SshPool:
    return SshPool(
        retry=RetryPolicy(attempts=1),
        connect_timeout=connect_timeout,
        command_timeout=SSH_COMMAND_TIMEOUT,
    )


async def check_ssh(c: SshCheck) -> CheckResult:
    address = format_address(c.host, c.port)
    try:
        presented = await fetch_host_key(c.host, c.port, timeout=SSH_CONNECT_TIMEOUT)
    except SshError as exc:
        log.info("node check ssh %s: %s", address, exc)
        return _field("ssh_port", ssh_unreachable_message(address))
    decision = decide_pin(presented, c.pinned, c.confirmed, normalize_ssh)
    if decision is PinDecision.CONFIRM:
        return CheckResult(ok=False, ssh_host_key=presented, needs_ssh_confirmation=True)
    if decision is PinDecision.CHANGED:
        assert c.pinned is not None
        log.warning("node check ssh %s: host key changed (%s -> %s)", address, c.pinned, presented)
        return _field(
            "ssh_secret",
            ssh_changed_message(address, normalize_ssh(c.pinned), presented),
            ssh_host_key=presented,
        )
    try:
        async with _ssh_pool() as pool:
            result = await pool.run(c.target(presented), list(SSH_CHECK_COMMAND))
    except HostKeyMismatch as exc:  # the key changed between two key exchanges
        log.warning("node check ssh %s: %s", address, exc)
        return _field(
            "ssh_secret",
            ssh_changed_message(address, exc.expected, exc.actual),
            ssh_host_key=exc.actual,
        )
    except SshAuthFailed as exc:
        log.info("node check ssh %s: %s", address, exc)
        unreadable = c.kind == "key" and "could not be loaded" in exc.detail
        if unreadable:  # read here, before any sign-in: it tells nothing about the host
            return _field("ssh_secret", MSG_SSH_KEY_UNREADABLE, ssh_host_key=presented)
        message = MSG_SSH_SIGN_IN if c.precise else MSG_SSH_GENERIC
        return _field("ssh_secret", message, ssh_host_key=presented)
    except (SshUnreachable, SshTimeout) as exc:
        log.info("node check ssh %s: %s", address, exc)
        return _field("ssh_port", ssh_unreachable_message(address), ssh_host_key=presented)
    except SshError as exc:
        log.warning("node check ssh %s: %s", address, exc)
        return CheckResult(ok=False, error=exc.user_message, ssh_host_key=presented)
    if not result.ok:
        log.info(
            "node check ssh %s: pct list exit %s: %s", address, result.exit_status, result.stderr
        )
        if not c.precise:
            return _field("ssh_secret", MSG_SSH_GENERIC, ssh_host_key=presented)
        return _field(
            "ssh_user",
            f"`pct list` failed on the host (exit status {result.exit_status}): "
            "the SSH user must be allowed to run pct (usually root)",
            ssh_host_key=presented,
        )
    return CheckResult(ok=True, ssh_host_key=presented)


# -- probe -------------------------------------------------------------------------------


async def probe_api(
    client: ProxmoxClient,
    timeout: float,  # noqa: ASYNC109
) -> tuple[bool, float | None, str]:
    """(reachable, latency in ms, error): one authenticated GET /version within `timeout`.
    Closes `client`."""
    started = time.monotonic()
    try:
        async with client, asyncio.timeout(timeout):
            await client.version()
    except TimeoutError:
        return False, None, f"No answer within {timeout:g} s"
    except AuthenticationError:
        return False, None, MSG_TOKEN_REFUSED
    except CertificateMismatch:
        return False, None, "The server's certificate changed"
    except ProxmoxError as exc:
        return False, None, exc.user_message
    return True, round((time.monotonic() - started) * 1000, 1), ""


async def probe_ssh(
    pool: SshPool,
    target: SshTarget | None,
    timeout: float,  # noqa: ASYNC109
) -> str:
    """ "ok", "not configured" or a short error, within `timeout`."""
    if target is None:
        return "not configured"
    try:
        async with asyncio.timeout(timeout):
            await pool.verify(target)
    except TimeoutError:
        return "timed out"
    except (HostKeyMismatch, HostKeyNotPinned):
        return "host key changed"
    except SshAuthFailed:
        return "sign-in failed"
    except SshUnreachable:
        return "unreachable"
    except SshError:
        return "failed"
    return "ok"


def probe_pool(timeout: float) -> SshPool:
    return _ssh_pool(connect_timeout=timeout)
