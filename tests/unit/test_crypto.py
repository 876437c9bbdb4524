"""AES-256-GCM keyring: round trip, tampering, binding to row and field, key file."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest

from lxc_manager.security.crypto import DecryptionError, Keyring, load_keyring, new_key_entry
from lxc_manager.settings import SettingsError, load_settings, parse_keyring


def ring(*entries: str) -> Keyring:
    return Keyring(parse_keyring("test", ",".join(entries)))


def test_round_trip_and_fresh_nonces() -> None:
    keyring = ring(new_key_entry("a"))
    first = keyring.encrypt("s3cret", "proxmox_node:1:token_secret")
    second = keyring.encrypt("s3cret", "proxmox_node:1:token_secret")
    assert first != second and first.startswith("v1:a:")
    assert "s3cret" not in first
    assert keyring.decrypt(first, "proxmox_node:1:token_secret") == "s3cret"


def test_tampered_ciphertext_fails() -> None:
    keyring = ring(new_key_entry("a"))
    token = keyring.encrypt("s3cret", "row:1:f")
    raw = bytearray(base64.b64decode(token.split(":", 2)[2]))
    raw[-1] ^= 1
    tampered = "v1:a:" + base64.b64encode(bytes(raw)).decode()
    with pytest.raises(DecryptionError):
        keyring.decrypt(tampered, "row:1:f")


@pytest.mark.parametrize("other", ["row:2:f", "row:1:g"])
def test_ciphertext_bound_to_row_and_field(other: str) -> None:
    keyring = ring(new_key_entry("a"))
    with pytest.raises(DecryptionError):
        keyring.decrypt(keyring.encrypt("s3cret", "row:1:f"), other)


def test_rotation_keeps_old_ciphertexts_readable() -> None:
    old = new_key_entry("old")
    token = ring(old).encrypt("s3cret", "row:1:f")
    rotated = ring(new_key_entry("new"), old)
    assert rotated.needs_rotation(token)
    assert rotated.decrypt(token, "row:1:f") == "s3cret"
    assert not rotated.needs_rotation(rotated.encrypt("s3cret", "row:1:f"))
    with pytest.raises(DecryptionError):
        ring(new_key_entry("new")).decrypt(token, "row:1:f")


def test_key_file_created_once_with_mode_0600(tmp_path: Path) -> None:
    settings = load_settings({"LXCM_DATA_DIR": str(tmp_path / "data")}, cwd=tmp_path)
    first = load_keyring(settings)
    assert stat.S_IMODE(settings.key_file.stat().st_mode) == 0o600
    token = first.encrypt("x", "ad")
    assert load_keyring(settings).decrypt(token, "ad") == "x"


def test_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    settings = load_settings({"LXCM_DATA_DIR": str(tmp_path)}, cwd=tmp_path)
    load_keyring(settings)
    settings.key_file.chmod(0o644)
    with pytest.raises(SettingsError, match="chmod 600"):
        load_keyring(settings)


def test_environment_keyring_wins_over_file(tmp_path: Path) -> None:
    entry = new_key_entry("env")
    settings = load_settings(
        {"LXCM_DATA_DIR": str(tmp_path), "LXCM_SECRET_KEY": entry}, cwd=tmp_path
    )
    assert load_keyring(settings).active_kid == "env"
    assert not settings.key_file.exists()


def test_concurrent_first_use_agrees_on_one_key(tmp_path: Path) -> None:
    """Web and workers may start together: they must all end up with the same key."""
    import concurrent.futures

    settings = load_settings({"LXCM_DATA_DIR": str(tmp_path / "race")}, cwd=tmp_path)
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        kids = set(pool.map(lambda _: load_keyring(settings).keys, range(32)))
    assert len(kids) == 1
    assert [p.name for p in settings.key_file.parent.iterdir()] == [
        "secret.key"
    ]  # no temp files left
