"""Typed errors of the Proxmox client.

Every error carries two texts: `user_message`, short and generic, fit for the browser, and
`detail`, what Proxmox (or the network) said, for the log. `str(error)` joins both, so a
log line or a traceback is useful; show only `user_message` to users. No error text ever
holds a token secret, ticket, CSRF token or password: the client scrubs known secrets from
`detail` before raising.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .models import TaskStatus

__all__ = [
    "MSG_RUNNING",
    "MSG_UNEXPECTED",
    "AnswerTooLarge",
    "AuthenticationError",
    "CertificateInvalid",
    "CertificateMismatch",
    "ClientUnavailable",
    "NotFound",
    "ParameterError",
    "PermissionDenied",
    "ProxmoxError",
    "ProxmoxTimeout",
    "TaskFailed",
    "TwoFactorRequired",
    "Unreachable",
    "error_from_response",
    "failure_message",
    "failure_reason",
    "short_message",
]


class ProxmoxError(Exception):
    """Base class: something went wrong talking to Proxmox."""

    default_message = "Proxmox reported an error"

    def __init__(
        self, detail: str = "", *, status: int | None = None, user_message: str | None = None
    ) -> None:
        self.detail = detail.strip()
        self.status = status
        self.user_message = user_message or self.default_message
        super().__init__(self._text())

    def refresh_text(self) -> str:
        """Recompute the exception text (after `detail` or `errors` changed)."""
        text = self._text()
        self.args = (text,)
        return text

    def _text(self) -> str:
        if self.detail and self.detail != self.user_message:
            return f"{self.user_message}: {self.detail}"
        return self.user_message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, detail={self.detail!r})"


class AuthenticationError(ProxmoxError):
    """401: wrong credentials, an expired ticket, a bad token or a bad CSRF token."""

    default_message = "Authentication failed"


class PermissionDenied(ProxmoxError):
    """403: authenticated, but the user or token lacks a privilege."""

    default_message = "Permission denied"


class NotFound(ProxmoxError):
    """404, or a 500 with which Proxmox reports a missing guest, config file or task."""

    default_message = "Not found"


class ParameterError(ProxmoxError):
    """400: parameter verification failed; `errors` maps each bad parameter to its text."""

    default_message = "Invalid parameters"

    def __init__(
        self,
        detail: str = "",
        *,
        errors: Mapping[str, str] | None = None,
        status: int | None = 400,
        user_message: str | None = None,
    ) -> None:
        self.errors: dict[str, str] = dict(errors or {})
        super().__init__(detail, status=status, user_message=user_message)

    def _text(self) -> str:
        text = super()._text()
        if self.errors:
            fields = "; ".join(f"{name}: {problem}" for name, problem in self.errors.items())
            text = f"{text} ({fields})"
        return text


class RouteMissing(ProxmoxError):
    """501 "Method 'GET /...' not implemented": this Proxmox VE release has no such API
    route (e.g. `/nodes/{node}/lxc/{vmid}/interfaces` before PVE 8.1)."""

    default_message = "This Proxmox VE version does not offer this"


class Unreachable(ProxmoxError):
    """The endpoint (or, with 595/596, a cluster member behind it) cannot be reached.

    Connect errors, timeouts and broken connections end here after any retries.
    `node` names the PVE node when Proxmox itself could not reach a cluster member.
    """

    def __init__(
        self,
        host: str,
        port: int,
        detail: str = "",
        *,
        status: int | None = None,
        node: str | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.node = node
        where = f"[{host}]" if ":" in host else host
        if node:
            # pveproxy at host:port took the call; the cluster member behind it did not answer.
            why = f"{status} {detail}".strip() if status else detail.strip()
            message = f"PVE node {node} is not answering" + (f" ({why})" if why else "")
            message += f", reached through {where}:{port}"
        else:
            message = f"Unable to reach Proxmox at {where}:{port}"
        super().__init__(detail, status=status, user_message=message)


class AnswerTooLarge(ProxmoxError):
    """The answer was larger than the client's `max_response_bytes`
    (LXCM_MAX_PROXMOX_RESPONSE_BYTES): reading stopped there and the answer was dropped.
    A server may send anything; a flood must not fill the app's memory."""

    def __init__(self, host: str, port: int, path: str, limit: int) -> None:
        self.host = host
        self.port = port
        self.limit = limit
        where = f"[{host}]" if ":" in host else host
        super().__init__(
            f"the answer to {path} exceeds {limit} bytes",
            user_message=f"The answer of {where}:{port} was larger than {size_text(limit)}",
        )


def size_text(size: int) -> str:
    """`16 MiB`, `64 KiB` or `1000 bytes`: a limit as a person reads it."""
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} bytes"


class CertificateInvalid(ProxmoxError):
    """CA-bundle mode: the server's certificate did not verify against the chosen CA."""

    default_message = "The server's certificate could not be verified"


class CertificateMismatch(CertificateInvalid):
    """The leaf certificate's SHA-256 fingerprint differs from the pinned one.

    Raised right after the TLS handshake, before any request byte is sent.
    """

    default_message = "The server's certificate changed"

    def __init__(self, expected: str, actual: str) -> None:
        self.expected = expected
        self.actual = actual
        super().__init__(f"expected fingerprint {expected}, got {actual}")


class TaskFailed(ProxmoxError):
    """A Proxmox task ended with an exit status other than OK (or `WARNINGS: N`)."""

    default_message = "The Proxmox task failed"

    def __init__(self, upid: str, exitstatus: str, task: TaskStatus | None = None) -> None:
        self.upid = upid
        self.exitstatus = exitstatus
        self.task = task
        super().__init__(f"task {upid} ended with: {exitstatus}")


class ProxmoxTimeout(ProxmoxError):
    """`wait_for_task` gave up: the task was still running when its overall timeout passed."""

    default_message = "Proxmox did not finish in time"

    def __init__(self, upid: str, timeout: float) -> None:
        self.upid = upid
        self.timeout = timeout
        super().__init__(f"task {upid} still running after {timeout:g} s")


class TwoFactorRequired(Exception):
    """The password was right and the user has a second factor: ask for it.

    Not a `ProxmoxError` (nothing failed). `pending_ticket` is the signed challenge for
    `complete_two_factor`; it is never part of the exception's text or repr.
    `methods` lists what the challenge offers, e.g. {"totp", "recovery"}.
    """

    user_message = "A second factor is required"

    def __init__(self, pending_ticket: str, username: str) -> None:
        self.pending_ticket = pending_ticket
        self.username = username
        self.challenge = parse_tfa_challenge(pending_ticket)
        self.methods = tfa_methods(self.challenge)
        # indices of the unused recovery keys (proxmox-tfa `RecoveryState`); [] = all used
        recovery = self.challenge.get("recovery")
        self.recovery_left = len(recovery) if isinstance(recovery, list) else None
        super().__init__(f"{self.user_message} for {username}")

    def __repr__(self) -> str:
        return f"TwoFactorRequired(username={self.username!r}, methods={sorted(self.methods)!r})"


TFA_METHODS = ("totp", "recovery", "webauthn", "u2f", "yubico")


def tfa_methods(challenge: dict[str, Any]) -> frozenset[str]:
    """The second factors a `TfaChallenge` (proxmox-tfa) offers: `totp`/`yubico` are
    booleans, `recovery` the list of unused key indices, `webauthn`/`u2f` challenge objects.
    Absent, false or empty means the user does not have (or has used up) that method."""
    offered = set()
    for name in TFA_METHODS:
        value = challenge.get(name)
        if value is True or (isinstance(value, list | dict) and value):
            offered.add(name)
    return frozenset(offered)


def parse_tfa_challenge(ticket: str) -> dict[str, Any]:
    """The challenge of a `PVE:!tfa!<url-encoded JSON>:...` ticket (empty when not JSON)."""
    match = re.match(r"^PVE:!tfa!([^:]*):", ticket)
    if match is None:
        return {}
    try:
        value = json.loads(urllib.parse.unquote(match.group(1)))
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


# Proxmox answers 500 for several "missing" conditions (e.g. "Configuration file
# 'nodes/pve1/lxc/105.conf' does not exist", "no such task 'UPID:...'").
_MISSING = re.compile(r"does not exist|^no such ", re.IGNORECASE)
_NODE_IN_PATH = re.compile(r"^/nodes/([^/]+)")
# pve-http-server's answer to a route it does not have (src/PVE/APIServer/AnyEvent.pm).
_NO_ROUTE = re.compile(r"^Method '[A-Z]+ [^']*' not implemented")


def node_of_path(path: str) -> str | None:
    """The PVE node a `/nodes/{node}/...` call is proxied to by pveproxy."""
    match = _NODE_IN_PATH.match(path)
    return match.group(1) if match else None


def error_from_response(
    status: int,
    body: Any,
    reason: str,
    *,
    host: str,
    port: int,
    path: str = "",
) -> ProxmoxError:
    """Map a non-2xx Proxmox answer to a typed error.

    `body` is the decoded JSON body (or None); `reason` the HTTP reason phrase, which
    pveproxy sets to the error message (all that older servers send).
    """
    message, errors = _message_and_errors(body)
    detail = message or reason
    if status == 400:
        if errors.get("upid") == "no such task":  # pve-manager PVE/API2/Tasks.pm
            return NotFound("no such task", status=status)
        return ParameterError(detail, errors=errors)
    if status == 401:
        return AuthenticationError(detail, status=status)
    if status == 403:
        return PermissionDenied(detail, status=status)
    if status == 404:
        return NotFound(detail, status=status)
    if status in (595, 596):  # pveproxy could not get an answer from the member: its fault
        return Unreachable(host, port, detail, status=status, node=node_of_path(path))
    if status == 501 and _NO_ROUTE.match(detail):
        return RouteMissing(detail, status=status)
    if status == 500 and _MISSING.search(detail):
        return NotFound(detail, status=status)
    return ProxmoxError(detail, status=status)


def _message_and_errors(body: Any) -> tuple[str, dict[str, str]]:
    if not isinstance(body, dict):
        return "", {}
    message = body.get("message")
    raw_errors = body.get("errors")
    errors: dict[str, str] = {}
    if isinstance(raw_errors, dict):
        errors = {str(k): str(v).strip() for k, v in raw_errors.items()}
    return (message.strip() if isinstance(message, str) else ""), errors


class ClientUnavailable(Exception):
    """No client can be made for an endpoint (its stored credentials do not decrypt, ...):
    a subclass's `user_message` is fit for the browser as it is."""

    user_message = "No connection to this node can be made"


# -- texts for the user ---------------------------------------------------------------------

MSG_UNEXPECTED = "Unexpected error; see the server log"
MSG_RUNNING = "The container is running: stop it first, or choose to stop it before deleting"
REASON_LIMIT = 300  # characters of a failed task's reason in a message
REASON_LINES = 3  # log lines before the exit status that a failed task's reason quotes
# The lines a PVE worker writes last (pve-common src/PVE/RESTEnvironment.pm fork_worker).
_END_LINES = ("TASK OK", "TASK ERROR:", "TASK WARNINGS:")
# Proxmox's texts (detail) -> what the user is shown. First match wins.
_KNOWN_ERRORS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"already running", re.I), "The container is already running"),
    (re.compile(r"\bnot running\b", re.I), "The container is not running"),
    (re.compile(r"container is running", re.I), MSG_RUNNING),
    (re.compile(r"is locked \((?P<lock>[\w-]+)\)", re.I), "The container is locked ({lock})"),
    (re.compile(r"protection mode enabled", re.I), "The container is protected (protection)"),
    (
        re.compile(r"(?P<kind>CT|VM) (?P<vmid>\d+) already exists on node '(?P<node>[^']+)'"),
        "{kind} {vmid} already exists on node '{node}'",
    ),
    (re.compile(r"does not exist|no such", re.I), "The container does not exist"),
    (re.compile(r"timeout|timed out", re.I), "Proxmox timed out"),
)


def short_message(error: BaseException) -> str:
    """Proxmox's error made short and generic for the user (the detail is logged)."""
    if isinstance(error, TaskFailed):
        return f"The task failed: {_one_line(error.exitstatus)}"
    if isinstance(error, ProxmoxTimeout):
        return "Proxmox did not finish in time; the task may still be running"
    if isinstance(error, Unreachable | CertificateInvalid | AnswerTooLarge):
        return error.user_message
    if isinstance(error, AuthenticationError):
        return "Proxmox refused the node's API token"
    if isinstance(error, PermissionDenied):
        return "Permission denied: the node's API token may not do this"
    if isinstance(error, ProxmoxError):
        for pattern, text in _KNOWN_ERRORS:
            match = pattern.search(error.detail)
            if match is not None:
                return text.format(**match.groupdict())
        if isinstance(error, NotFound):
            return "The container does not exist"
        if isinstance(error, ParameterError):
            return "Proxmox refused the request's parameters"
        return "Proxmox reported an error"
    if isinstance(error, ClientUnavailable):
        return error.user_message
    return MSG_UNEXPECTED


def failure_message(error: BaseException, log_lines: Sequence[str] = ()) -> str:
    """`short_message`, except that a failed task gives its reason as its log tells it: the
    exit status and the last lines before it (Proxmox checks locks and templates inside the
    worker, so the reason is only there)."""
    if isinstance(error, TaskFailed):
        reason = failure_reason(error.exitstatus, log_lines)
        return f"The task failed: {_one_line(reason, REASON_LIMIT)}"
    return short_message(error)


def failure_reason(exitstatus: str, log_lines: Sequence[str], keep: int = REASON_LINES) -> str:
    """Why a task failed, as its log tells it: the exit status, followed by up to `keep` of
    the last lines the worker printed before it (where Proxmox puts the cause, e.g. lxc-start's
    messages before `startup for container '105' failed`).

    Many checks run inside the worker and die before printing anything (pve-container
    src/PVE/API2/LXC/Status.pm: "CT is locked (backup)"): then it is the exit status alone."""
    status = " ".join(exitstatus.split())
    context: list[str] = []
    for raw in log_lines:
        line = " ".join(str(raw).split())
        if not line or line.startswith(_END_LINES) or line == status:
            continue
        context.append(line)
    tail = context[-keep:] if keep > 0 else []
    return f"{status} ({'; '.join(tail)})" if tail else status


def _one_line(text: str, limit: int = 200) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
