"""Fingerprint formats, `TlsPolicy`, and the pin check in the network stream (with fakes)."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import httpcore
import pytest

from lxc_manager.proxmox import (
    CertificateInvalid,
    CertificateMismatch,
    TlsPolicy,
    fingerprint_of,
    normalize_fingerprint,
)
from lxc_manager.proxmox.tls import CheckingBackend, CheckingStream

DER = b"0\x82\x01\x00 not really a certificate, but bytes to hash"
PIN = fingerprint_of(DER)
OTHER = "AB:" * 31 + "AB"


def test_fingerprint_format_matches_proxmox() -> None:
    # SHA-256("abc"), the FIPS 180-2 test vector
    assert fingerprint_of(b"abc") == (
        "BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:"
        "B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD"
    )


@pytest.mark.parametrize(
    "text",
    [
        PIN.lower(),
        PIN.replace(":", ""),
        " sha256:" + PIN + " ",
        PIN.replace(":", " "),
    ],
)
def test_normalize_fingerprint(text: str) -> None:
    assert normalize_fingerprint(text) == PIN


@pytest.mark.parametrize("text", ["", "AB:CD", PIN + ":00", PIN.replace("A", "G", 1)])
def test_normalize_rejects_bad_fingerprints(text: str) -> None:
    with pytest.raises(ValueError, match="SHA-256"):
        normalize_fingerprint(text)


def test_policy_needs_exactly_one_trust_anchor() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        TlsPolicy()
    with pytest.raises(ValueError, match="exactly one"):
        TlsPolicy(fingerprint=PIN, ca_bundle="/etc/ssl/ca.pem")
    assert TlsPolicy(fingerprint=PIN.lower()).fingerprint == PIN


def test_unreadable_ca_bundle(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="CA bundle"):
        TlsPolicy(ca_bundle=tmp_path / "missing.pem").ssl_context()
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    with pytest.raises(ValueError, match="CA bundle"):
        TlsPolicy(ca_bundle=junk).ssl_context()


def test_pinned_context_hands_over_the_certificate_and_bundle_context_verifies() -> None:
    pinned = TlsPolicy(fingerprint=PIN).ssl_context()
    assert pinned.verify_mode == ssl.CERT_NONE and not pinned.check_hostname
    assert pinned.minimum_version == ssl.TLSVersion.TLSv1_2
    certifi = pytest.importorskip("certifi")
    verified = TlsPolicy(ca_bundle=certifi.where()).ssl_context()
    assert verified.verify_mode == ssl.CERT_REQUIRED and verified.check_hostname


class FakeSSLObject:
    """Stands in for `ssl.SSLObject` (only `getpeercert` is used)."""

    def __init__(self, der: bytes | None) -> None:
        self.der = der

    def getpeercert(self, binary_form: bool = False) -> bytes | None:
        assert binary_form
        return self.der


class FakeStream(httpcore.AsyncNetworkStream):
    def __init__(self, der: bytes | None = DER, fail: Exception | None = None) -> None:
        self.der = der
        self.fail = fail
        self.written: list[bytes] = []
        self.closed = False
        self.tls: FakeStream | None = None

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.written.append(buffer)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return b""

    async def aclose(self) -> None:
        self.closed = True

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if self.fail is not None:
            raise self.fail
        self.tls = FakeStream(self.der)
        return self.tls

    def get_extra_info(self, info: str) -> Any:
        return FakeSSLObject(self.der) if info == "ssl_object" else None


async def test_matching_pin_returns_the_tls_stream() -> None:
    raw = FakeStream()
    tls = await CheckingStream(raw, PIN).start_tls(ssl.create_default_context())
    assert tls is raw.tls and not raw.tls.closed


async def test_mismatch_closes_before_anything_is_written() -> None:
    raw = FakeStream()
    with pytest.raises(CertificateMismatch) as info:
        await CheckingStream(raw, OTHER).start_tls(ssl.create_default_context())
    assert (info.value.expected, info.value.actual) == (OTHER, PIN)
    assert raw.tls is not None and raw.tls.closed
    assert raw.written == [] and raw.tls.written == []


async def test_no_certificate_is_a_mismatch() -> None:
    raw = FakeStream(der=None)
    with pytest.raises(CertificateMismatch) as info:
        await CheckingStream(raw, PIN).start_tls(ssl.create_default_context())
    assert info.value.actual == "no certificate"


async def test_verification_failure_becomes_certificate_invalid() -> None:
    cause = ssl.SSLCertVerificationError(1, "certificate verify failed")
    cause.verify_message = "self-signed certificate"
    failure = httpcore.ConnectError("handshake failed")
    failure.__cause__ = cause
    with pytest.raises(CertificateInvalid, match="self-signed certificate") as info:
        await CheckingStream(FakeStream(fail=failure), None).start_tls(ssl.create_default_context())
    assert not isinstance(info.value, CertificateMismatch)


async def test_other_handshake_errors_pass_through() -> None:
    failure = httpcore.ConnectError("connection reset")
    with pytest.raises(httpcore.ConnectError):
        await CheckingStream(FakeStream(fail=failure), PIN).start_tls(ssl.create_default_context())


class FakeBackend(httpcore.AsyncNetworkBackend):
    def __init__(self) -> None:
        self.connected: list[tuple[str, int, float | None]] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        self.connected.append((host, port, timeout))
        return FakeStream()


async def test_backend_wraps_every_tcp_stream() -> None:
    inner = FakeBackend()
    stream = await CheckingBackend(PIN, inner).connect_tcp("10.0.0.1", 8006, timeout=3.0)
    assert isinstance(stream, CheckingStream)
    assert inner.connected == [("10.0.0.1", 8006, 3.0)]
    with pytest.raises(httpcore.UnsupportedProtocol):
        await CheckingBackend(PIN, inner).connect_unix_socket("/run/pve.sock")
