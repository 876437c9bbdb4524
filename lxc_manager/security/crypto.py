"""Secrets at rest: AES-256-GCM with a keyring (DESIGN §3.4).

Ciphertext format: ``v1:<kid>:<base64(nonce || ciphertext+tag)>``. The key id says which
key of the keyring decrypts it, so rotation is: put a new key first, re-encrypt, drop the
old key. Associated data binds a ciphertext to its row and field (e.g.
``proxmox_node:42:token_secret``): a ciphertext copied elsewhere does not decrypt.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from lxc_manager.settings import Settings, SettingsError, parse_keyring

FORMAT_VERSION = "v1"
NONCE_BYTES = 12


class DecryptionError(Exception):
    """The ciphertext is malformed, tampered with, bound to other data, or its key is gone."""


@dataclass(frozen=True)
class Keyring:
    keys: tuple[tuple[str, bytes], ...]

    @property
    def active_kid(self) -> str:
        return self.keys[0][0]

    def key(self, kid: str) -> bytes | None:
        return next((key for k, key in self.keys if k == kid), None)

    def encrypt(self, plaintext: str, associated_data: str) -> str:
        kid, key = self.keys[0]
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), associated_data.encode())
        return f"{FORMAT_VERSION}:{kid}:{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str, associated_data: str) -> str:
        version, _, rest = token.partition(":")
        kid, _, payload = rest.partition(":")
        key = self.key(kid)
        if version != FORMAT_VERSION or key is None:
            raise DecryptionError("unknown ciphertext version or key id")
        try:
            raw = base64.b64decode(payload, validate=True)
            return (
                AESGCM(key)
                .decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], associated_data.encode())
                .decode()
            )
        except (InvalidTag, ValueError) as exc:
            raise DecryptionError("ciphertext does not verify") from exc

    def needs_rotation(self, token: str) -> bool:
        return token.split(":", 2)[1:2] != [self.active_kid]


def new_key_entry(kid: str | None = None) -> str:
    """A fresh `kid:base64key` keyring entry."""
    kid = kid or "k" + secrets.token_hex(4)
    return f"{kid}:{base64.b64encode(os.urandom(32)).decode()}"


def load_keyring(settings: Settings) -> Keyring:
    """The keyring from LXCM_SECRET_KEY, else from the key file (created once, mode 0600)."""
    if settings.secret_keyring:
        return Keyring(settings.secret_keyring)
    return Keyring(
        parse_keyring(str(settings.key_file), _read_or_create_key_file(settings.key_file))
    )


def _read_or_create_key_file(path: Path) -> str:
    """Create the key file once, atomically: concurrent first starts all read the same key.

    The key is written to a private temporary file which is then hard-linked into place;
    `link` fails if the file exists, so the first writer wins and nobody reads a half file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd, temporary = tempfile.mkstemp(prefix=".secret-key-", dir=path.parent)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(new_key_entry() + "\n")
            os.chmod(temporary, 0o600)
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
        finally:
            os.unlink(temporary)
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise SettingsError(
            str(path), "a key file readable only by its owner (chmod 600)", oct(mode)
        )
    return path.read_text().strip()
