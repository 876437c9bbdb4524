"""Credentials for the Proxmox API. Their reprs never show a secret."""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field

from .models import LoginResult

__all__ = ["Auth", "TicketAuth", "TokenAuth"]

_TOKEN_ID = re.compile(r"^[^\s:/@!]+@[A-Za-z][A-Za-z0-9.\-_]+![A-Za-z][A-Za-z0-9.\-_]+$")
# RFC 6265 cookie-octet punctuation a ticket may contain unescaped; pveproxy URI-unescapes.
_COOKIE_SAFE = "!#$&'()*+-./:<=>?@[]^_`{|}~"


@dataclass(frozen=True)
class TokenAuth:
    """An API token: `token_id` is `USER@REALM!TOKENID`, `secret` the UUID Proxmox showed once."""

    token_id: str
    secret: str = field(repr=False)

    def __post_init__(self) -> None:
        if not _TOKEN_ID.match(self.token_id):
            raise ValueError("an API token id looks like user@realm!name")
        if not self.secret or any(c in self.secret for c in "\r\n"):
            raise ValueError("the API token secret is empty or malformed")

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.secret,)

    def headers(self, method: str) -> dict[str, str]:
        return {"Authorization": f"PVEAPIToken={self.token_id}={self.secret}"}


@dataclass(frozen=True)
class TicketAuth:
    """A login ticket (sent as the `PVEAuthCookie` cookie) and the CSRF token that every
    non-GET request must carry. Tickets live two hours."""

    ticket: str = field(repr=False)
    csrf_token: str = field(repr=False)
    username: str | None = None

    def __post_init__(self) -> None:
        if not self.ticket or any(c in self.ticket for c in "\r\n;"):
            raise ValueError("the ticket is empty or malformed")
        if any(c in self.csrf_token for c in "\r\n"):
            raise ValueError("the CSRF token is malformed")

    @classmethod
    def from_login(cls, login: LoginResult) -> TicketAuth:
        return cls(ticket=login.ticket, csrf_token=login.csrf_token, username=login.username)

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.ticket, self.csrf_token)

    def headers(self, method: str) -> dict[str, str]:
        headers = {"Cookie": "PVEAuthCookie=" + urllib.parse.quote(self.ticket, safe=_COOKIE_SAFE)}
        if method.upper() not in ("GET", "HEAD") and self.csrf_token:
            headers["CSRFPreventionToken"] = self.csrf_token
        return headers


Auth = TokenAuth | TicketAuth
