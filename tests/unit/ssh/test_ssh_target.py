"""SshTarget (secrets out of repr), fingerprint normalisation, typed errors."""

from __future__ import annotations

import base64
import hashlib

import pytest

from lxc_manager.ssh import (
    HostKeyMismatch,
    HostKeyNotPinned,
    SshAuthFailed,
    SshError,
    SshTarget,
    SshTimeout,
    SshUnreachable,
    normalize_fingerprint,
)

DIGEST = hashlib.sha256(b"host key blob").digest()
FINGERPRINT = "SHA256:" + base64.b64encode(DIGEST).decode().rstrip("=")
PASSWORD = "pw-Secret-123"
KEY_TEXT = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAsecretkeymaterial\n-----END"


def test_secrets_are_not_in_the_repr() -> None:
    target = SshTarget("pve1", password=PASSWORD, private_key=KEY_TEXT, passphrase="pass-phrase-9")
    text = repr(target) + str(target)
    assert "pve1" in text
    for secret in (PASSWORD, "secretkeymaterial", "pass-phrase-9"):
        assert secret not in text


def test_defaults() -> None:
    target = SshTarget("10.0.0.5", password="x")
    assert (target.port, target.username, target.host_key_fingerprint) == (22, "root", None)
    assert target.address == "10.0.0.5:22"
    assert SshTarget("fe80::1", 2222, password="x").address == "[fe80::1]:2222"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"host": "", "password": "x"},
        {"host": "a b", "password": "x"},
        {"host": "h", "port": 0, "password": "x"},
        {"host": "h", "port": 70000, "password": "x"},
        {"host": "h", "port": True, "password": "x"},
        {"host": "h", "username": "", "password": "x"},
        {"host": "h"},
        {"host": "h", "password": "x", "host_key_fingerprint": "MD5:aa:bb"},
    ],
)
def test_invalid_targets_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        SshTarget(**kwargs)  # type: ignore[arg-type]


def test_the_pinned_fingerprint_is_normalised() -> None:
    target = SshTarget("h", password="x", host_key_fingerprint=f"  sha256:{FINGERPRINT[7:]}=\n")
    assert target.host_key_fingerprint == FINGERPRINT


@pytest.mark.parametrize(
    "text",
    [
        "",
        "SHA256:",
        "SHA256:not base64!",
        "SHA256:" + base64.b64encode(b"short").decode(),
        "MD5:" + FINGERPRINT[7:],
        FINGERPRINT[7:],
    ],
)
def test_malformed_fingerprints_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        normalize_fingerprint(text)


def test_credential_digest_depends_on_every_secret_and_the_salt() -> None:
    salt = b"s" * 32
    base = SshTarget("h", password="a")
    digests = {
        base.credential_digest(salt),
        SshTarget("h", password="b").credential_digest(salt),
        SshTarget("h", password="a", private_key="k").credential_digest(salt),
        SshTarget("h", private_key="a").credential_digest(salt),
        SshTarget("h", password="a", passphrase="").credential_digest(salt),
        base.credential_digest(b"t" * 32),
    }
    assert len(digests) == 6
    assert base.credential_digest(salt) == SshTarget("h", password="a").credential_digest(salt)


def test_errors_have_generic_user_messages_and_detailed_text() -> None:
    mismatch = HostKeyMismatch(FINGERPRINT, "SHA256:other", "pve1:22")
    assert (mismatch.expected, mismatch.actual) == (FINGERPRINT, "SHA256:other")
    assert FINGERPRINT in str(mismatch) and "pve1:22" in str(mismatch)
    assert "SHA256" not in mismatch.user_message
    not_pinned = HostKeyNotPinned("SHA256:new", "pve1:22")
    assert not_pinned.actual == "SHA256:new"
    classes = [SshUnreachable, SshAuthFailed, SshTimeout]
    messages = {cls.user_message for cls in classes} | {
        mismatch.user_message,
        SshError.user_message,
    }
    assert len(messages) == 5
    for cls in classes:
        assert issubclass(cls, SshError)
    assert isinstance(mismatch, SshError) and isinstance(not_pinned, SshError)
