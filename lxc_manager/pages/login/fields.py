"""The login page's two forms, as their submitted fields (control names; Reflex-free)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CredentialsForm:
    host: str = ""
    port: str = ""
    username: str = ""
    password: str = ""  # passes through to the sign-in service, never kept in state
    realm: str = "pam"
    confirmed_fingerprint: str = ""  # the fingerprint the user was shown and trusts


@dataclass(frozen=True)
class CodeForm:
    code: str = ""
