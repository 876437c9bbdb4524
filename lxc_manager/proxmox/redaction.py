"""Keeping credentials out of error texts and logs of the Proxmox client.

Every form a secret may take in a text (as sent, form-encoded in a body, percent-encoded in
a cookie) is replaced by `***`, for the client's credentials and for sensitive request
parameters (`SENSITIVE_PARAMETERS`) alike.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from typing import Any

from .auth import Auth
from .errors import ParameterError, ProxmoxError

_REDACTED = "***"


def _secret_variants(*sources: Auth | set[str] | None) -> list[str]:
    """Every secret of the credentials and sensitive parameters of a call, also as they
    travel (form-encoded in bodies, percent-encoded in cookies); longest first, so that a
    secret containing another is replaced whole."""
    raw: set[str] = set()
    for source in sources:
        if isinstance(source, set):
            raw.update(source)
        elif source is not None:
            raw.update(source.secrets)
    variants = {
        variant
        for secret in raw
        for variant in (secret, urllib.parse.quote_plus(secret), urllib.parse.quote(secret))
    }
    # (shorter values would mangle every text they happen to occur in)
    return sorted((v for v in variants if len(v) >= 4), key=len, reverse=True)


def _scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, _REDACTED)
    return text


def _scrub_error(error: ProxmoxError, secrets: list[str]) -> None:
    error.detail = _scrub(error.detail, secrets)
    if isinstance(error, ParameterError):
        error.errors = {key: _scrub(value, secrets) for key, value in error.errors.items()}
    error.refresh_text()


# Parameters whose values are scrubbed from error texts and logs like the credentials.
SENSITIVE_PARAMETERS = frozenset({"password", "new-password", "otp", "tfa-challenge", "secret"})


def _sensitive_values(*mappings: Mapping[str, Any] | None) -> set[str]:
    return {
        str(value)
        for mapping in mappings
        if mapping
        for key, value in mapping.items()
        if key in SENSITIVE_PARAMETERS and value
    }
