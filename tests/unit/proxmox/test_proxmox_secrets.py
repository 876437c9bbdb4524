"""No token secret, ticket, CSRF token or password in any repr, exception text or log line."""

from __future__ import annotations

import logging
import traceback
import urllib.parse
from collections.abc import Iterator

import httpx
import pytest

from lxc_manager.proxmox import (
    AuthenticationError,
    ParameterError,
    ProxmoxClient,
    ProxmoxError,
    TicketAuth,
    TlsPolicy,
    TokenAuth,
    TwoFactorRequired,
    Unreachable,
)
from lxc_manager.proxmox.models import LoginResult

PIN = "AB:" * 31 + "AB"
SECRET = "0d3c6f8a-91e2-4b7d-a5c4-5e6f7a8b9c0d"
TICKET = "PVE:root@pam:6654A1B2::dGlja2V0LXNpZ25hdHVyZS1zZWNyZXQ="
CSRF = "6654A1B2:Y3NyZi1zZWNyZXQtdmFsdWU"
PASSWORD = "correct horse battery staple"
TFA_TICKET = "PVE:!tfa!%7B%22totp%22%3Atrue%7D:6654A1B2::cGVuZGluZy1zZWNyZXQ="
RAW_SECRETS = (SECRET, TICKET, CSRF, PASSWORD, TFA_TICKET)
# as they travel: form-encoded bodies, quoted cookies
SECRETS = {
    variant
    for secret in RAW_SECRETS
    for variant in (secret, urllib.parse.quote_plus(secret), urllib.parse.quote(secret, safe=""))
} | {"dGlja2V0LXNpZ25hdHVyZS1zZWNyZXQ", "cGVuZGluZy1zZWNyZXQ"}


def assert_clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"secret leaked into: {text!r}"


def exception_texts(exc: BaseException) -> Iterator[str]:
    yield str(exc)
    yield repr(exc)
    yield "".join(traceback.format_exception(exc))
    for value in vars(exc).values():
        if isinstance(value, str | dict):
            yield str(value)


def test_reprs_hide_secrets() -> None:
    login = LoginResult(username="root@pam", ticket=TICKET, csrf_token=CSRF, cap={})
    objects = [
        TokenAuth("root@pam!lxcm", SECRET),
        TicketAuth(TICKET, CSRF, "root@pam"),
        TicketAuth.from_login(login),
        login,
        ProxmoxClient(
            "pve", tls=TlsPolicy(fingerprint=PIN), auth=TokenAuth("root@pam!lxcm", SECRET)
        ),
    ]
    for obj in objects:
        assert_clean(repr(obj))
        assert_clean(str(obj))


def echoing_handler(request: httpx.Request) -> httpx.Response:
    """A hostile or buggy server that echoes every credential back in its error texts."""
    echoed = " ".join(
        [request.headers.get("Authorization", ""), request.headers.get("Cookie", ""),
         request.headers.get("CSRFPreventionToken", ""), request.content.decode()]
    )  # fmt: skip
    if request.url.path.endswith("/access/ticket"):
        status = 400 if b"tfa-challenge" in request.content else 401
    else:
        status = 500
    body = {"data": None, "message": f"failed: {echoed}\n", "errors": {"password": echoed}}
    # (the body only: the status line is logged by httpx itself, which the app keeps at WARNING)
    return httpx.Response(status, json=body)


def raising_handler(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError(f"refused {request.headers.get('Authorization')}")


async def test_errors_and_logs_are_scrubbed(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[BaseException] = []
    tls = TlsPolicy(fingerprint=PIN)
    for auth in (TokenAuth("root@pam!lxcm", SECRET), TicketAuth(TICKET, CSRF)):
        for handler in (echoing_handler, raising_handler):
            transport = httpx.MockTransport(handler)
            async with ProxmoxClient(
                "pve", tls=tls, auth=auth, transport=transport, retry_backoff=0.001
            ) as pve:
                for call in (
                    pve.get("/nodes"),
                    pve.post("/nodes/pve1/lxc", {"password": PASSWORD}),
                ):
                    with pytest.raises(ProxmoxError) as info:
                        await call
                    errors.append(info.value)
                with pytest.raises((AuthenticationError, Unreachable)) as login_info:
                    await pve.login("root@pam", PASSWORD)
                errors.append(login_info.value)
                with pytest.raises((ParameterError, Unreachable)) as tfa_info:
                    await pve.complete_two_factor("tfa@pve", TFA_TICKET, "recovery:" + PASSWORD)
                errors.append(tfa_info.value)
    assert {type(e) for e in errors} >= {
        ProxmoxError,
        AuthenticationError,
        ParameterError,
        Unreachable,
    }
    for error in errors:
        for text in exception_texts(error):
            assert_clean(text)
    assert any("***" in str(e) for e in errors)  # the echo was there, and was scrubbed
    assert caplog.records, "the client logs its failures"
    for record in caplog.records:
        assert_clean(record.getMessage())


def test_two_factor_required_is_clean() -> None:
    for text in exception_texts(TwoFactorRequired(TFA_TICKET, "tfa@pve")):
        if text == TFA_TICKET:  # the attribute itself, by design
            continue
        assert_clean(text)
