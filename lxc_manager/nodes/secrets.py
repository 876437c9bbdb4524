"""Node secrets at rest (DESIGN §3.4): AES-256-GCM bound to `proxmox_node:{id}:{field}`.

A ciphertext is only valid in the row and column it was written for, so a node row must
exist (have an id) before its secrets are sealed: the service inserts, flushes, then seals
in the same transaction.
"""

from __future__ import annotations

import threading
from typing import Literal

from lxc_manager.security.crypto import DecryptionError, Keyring, load_keyring
from lxc_manager.settings import get_settings

from .types import NodeSecretError

SecretField = Literal["token_secret", "ssh_secret"]
SECRET_FIELDS: tuple[SecretField, ...] = ("token_secret", "ssh_secret")


def associated_data(node_id: int, field: SecretField) -> str:
    return f"proxmox_node:{node_id}:{field}"


_key_file_lock = threading.Lock()


def keyring() -> Keyring:
    """The app's keyring (LXCM_SECRET_KEY, else the key file).

    Serialized: the key file is created on first use, and a concurrent reader could see it
    created but still empty (`security.crypto` creates it with O_EXCL, then writes)."""
    with _key_file_lock:
        return load_keyring(get_settings())


def seal(node_id: int, field: SecretField, plaintext: str, ring: Keyring | None = None) -> str:
    return (ring or keyring()).encrypt(plaintext, associated_data(node_id, field))


def unseal(node_id: int, field: SecretField, ciphertext: str, ring: Keyring | None = None) -> str:
    try:
        return (ring or keyring()).decrypt(ciphertext, associated_data(node_id, field))
    except DecryptionError as exc:
        raise NodeSecretError(f"node {node_id}: the {field} does not decrypt ({exc})") from None
