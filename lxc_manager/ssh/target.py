"""Where to connect and how to prove who we are: `SshTarget`, fingerprint helpers."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass, field

FINGERPRINT_PREFIX = "SHA256:"


@dataclass(frozen=True)
class SshTarget:
    """One Proxmox host as seen over SSH.

    `private_key` is the text of a PEM / OpenSSH private key, `passphrase` its optional
    passphrase. `host_key_fingerprint` is the pinned `SHA256:...` fingerprint; connecting with
    None is refused (`HostKeyNotPinned`) after the key exchange and before any credential is
    sent. Secrets are left out of `repr()`.
    """

    host: str
    port: int = 22
    username: str = "root"
    password: str | None = field(default=None, repr=False)
    private_key: str | None = field(default=None, repr=False)
    passphrase: str | None = field(default=None, repr=False)
    host_key_fingerprint: str | None = None

    def __post_init__(self) -> None:
        if not self.host or any(ch.isspace() for ch in self.host):
            raise ValueError("host must be a non-empty host name or address")
        if isinstance(self.port, bool) or not isinstance(self.port, int):
            raise ValueError("port must be an integer")
        if not 1 <= self.port <= 65535:
            raise ValueError("port must be between 1 and 65535")
        if not self.username:
            raise ValueError("username must not be empty")
        if self.password is None and self.private_key is None:
            raise ValueError("a password or a private key is required")
        if self.host_key_fingerprint is not None:
            object.__setattr__(
                self, "host_key_fingerprint", normalize_fingerprint(self.host_key_fingerprint)
            )

    @property
    def address(self) -> str:
        """host:port for messages and logs."""
        return format_address(self.host, self.port)

    def credential_digest(self, salt: bytes) -> bytes:
        """A keyed digest of the secrets, so two targets with other credentials never share a
        connection without the pool keeping the secrets themselves as dictionary keys."""
        mac = hmac.new(salt, digestmod=hashlib.sha256)
        for secret in (self.password, self.private_key, self.passphrase):
            mac.update(b"\x01" + secret.encode() if secret is not None else b"\x00")
            mac.update(b"\x00\xff")
        return mac.digest()


def format_address(host: str, port: int) -> str:
    """host:port, an IPv6 address in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def normalize_fingerprint(text: str) -> str:
    """`SHA256:<base64 without padding>` as `ssh-keygen -lf` prints it.

    Accepts the same with surrounding blanks, a lower-case prefix, or `=` padding.
    Raises ValueError for anything else (MD5 fingerprints included).
    """
    value = text.strip()
    if value[: len(FINGERPRINT_PREFIX)].upper() != FINGERPRINT_PREFIX.upper():
        raise ValueError("an SSH host key fingerprint looks like SHA256:<base64>")
    body = value[len(FINGERPRINT_PREFIX) :].rstrip("=")
    try:
        digest = base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("an SSH host key fingerprint looks like SHA256:<base64>") from None
    if len(digest) != hashlib.sha256().digest_size:
        raise ValueError("an SSH host key fingerprint is a SHA-256 digest (43 characters)")
    return FINGERPRINT_PREFIX + base64.b64encode(digest).decode().rstrip("=")


def fingerprints_equal(left: str, right: str) -> bool:
    return hmac.compare_digest(left.encode(), right.encode())
