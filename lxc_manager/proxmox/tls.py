"""TLS for Proxmox endpoints: certificate pinning or a CA bundle, never "verify=False".

Proxmox serves certificates from its own cluster CA, usually for names that do not match
the address users type, so we pin the leaf certificate's SHA-256 fingerprint instead
(DESIGN §3.5). The check runs inside the httpcore network backend, right after the TLS
handshake and before httpcore writes a single request byte: a server with the wrong
certificate never sees a request line, let alone a credential.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import httpcore

from .errors import CertificateInvalid, CertificateMismatch, Unreachable

__all__ = [
    "CheckingBackend",
    "TlsPolicy",
    "fetch_fingerprint",
    "fingerprint_of",
    "normalize_fingerprint",
]

_HEX_PAIRS = re.compile(r"^[0-9A-F]{64}$")


def fingerprint_of(der: bytes) -> str:
    """SHA-256 of a DER certificate as Proxmox shows it: `AB:CD:...` (uppercase)."""
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def normalize_fingerprint(text: str) -> str:
    """Accepts `ab:cd:..`, `ABCD..`, `sha256:..` or spaced pairs; returns `AB:CD:..`."""
    cleaned = text.strip().upper()
    cleaned = cleaned.removeprefix("SHA256:").removeprefix("SHA-256:")
    cleaned = re.sub(r"[\s:]", "", cleaned)
    if not _HEX_PAIRS.match(cleaned):
        raise ValueError("a SHA-256 fingerprint is 32 hexadecimal byte pairs")
    return ":".join(cleaned[i : i + 2] for i in range(0, 64, 2))


def strip_brackets(host: str) -> str:
    """`[::1]` -> `::1` (what sockets want); other hosts unchanged."""
    if host.startswith("[") and host.endswith("]"):
        return host[1:-1]
    return host


@dataclass(frozen=True)
class TlsPolicy:
    """How to trust an endpoint: exactly one of a pinned leaf fingerprint or a CA bundle.

    With `fingerprint`, the chain and host name are not checked (Proxmox's cluster CA is
    unknown to us and its names rarely match); the leaf certificate's SHA-256 must equal
    the pin. With `ca_bundle`, ordinary verification: chain to that CA and host name.
    """

    fingerprint: str | None = None
    ca_bundle: str | Path | None = None

    def __post_init__(self) -> None:
        if (self.fingerprint is None) == (self.ca_bundle is None):
            raise ValueError("TlsPolicy needs exactly one of fingerprint or ca_bundle")
        if self.fingerprint is not None:
            object.__setattr__(self, "fingerprint", normalize_fingerprint(self.fingerprint))

    def ssl_context(self) -> ssl.SSLContext:
        if self.ca_bundle is not None:
            try:
                context = ssl.create_default_context(cafile=str(self.ca_bundle))
            except (OSError, ssl.SSLError) as exc:
                raise ValueError(f"cannot load the CA bundle {self.ca_bundle}: {exc}") from exc
        else:
            context = pinning_context()
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context


def pinning_context() -> ssl.SSLContext:
    """A client context that hands us the peer certificate without judging it.

    Chain and host-name checks are replaced by the fingerprint comparison in
    `CheckingStream.start_tls`; this context is never used without it (or by
    `fetch_fingerprint`, which sends nothing but the handshake).
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def peer_fingerprint(stream: httpcore.AsyncNetworkStream) -> str | None:
    """The leaf certificate fingerprint of a TLS stream (None without a certificate)."""
    ssl_object = stream.get_extra_info("ssl_object")
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    return fingerprint_of(der) if isinstance(der, bytes) and der else None


class CheckingStream(httpcore.AsyncNetworkStream):
    """A TCP stream whose `start_tls` refuses a certificate that fails the policy."""

    def __init__(self, stream: httpcore.AsyncNetworkStream, pin: str | None) -> None:
        self._stream = stream
        self._pin = pin

    # `timeout` arguments below: httpcore's AsyncNetworkStream/Backend interface
    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        return await self._stream.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        await self._stream.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._stream.aclose()

    def get_extra_info(self, info: str) -> object:
        return self._stream.get_extra_info(info)

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore interface)
    ) -> httpcore.AsyncNetworkStream:
        try:
            tls = await self._stream.start_tls(ssl_context, server_hostname, timeout)
        except httpcore.ConnectError as exc:
            if isinstance(exc.__cause__, ssl.SSLCertVerificationError):
                raise CertificateInvalid(exc.__cause__.verify_message or str(exc)) from None
            raise
        if self._pin is not None:
            actual = peer_fingerprint(tls)
            if actual != self._pin:
                with contextlib.suppress(Exception):  # the mismatch is the error to report
                    await tls.aclose()
                raise CertificateMismatch(self._pin, actual or "no certificate")
        return tls


class CheckingBackend(httpcore.AsyncNetworkBackend):
    """Wraps httpcore's AnyIO backend so that every TLS connection is checked (see module)."""

    def __init__(self, pin: str | None, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._pin = pin
        self._inner = inner if inner is not None else httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_tcp(
            host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )
        return CheckingStream(stream, self._pin)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore interface)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.UnsupportedProtocol("Proxmox endpoints are reached over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


async def fetch_fingerprint(
    host: str,
    port: int = 8006,
    timeout: float = 3.0,  # noqa: ASYNC109 (part of the documented API)
) -> str:
    """The SHA-256 fingerprint (`AB:CD:...`) of the leaf certificate HOST:PORT presents.

    Only the TLS handshake is exchanged: no HTTP request, no credential. For showing the
    fingerprint to a user on first contact so they can confirm and pin it.
    Raises `Unreachable` when the handshake cannot be completed within `timeout`.
    """
    address = strip_brackets(host)
    context = pinning_context()
    context.set_alpn_protocols(["http/1.1"])
    backend = httpcore.AnyIOBackend()
    deadline = time.monotonic() + timeout
    try:
        stream = await backend.connect_tcp(address, port, timeout=timeout)
        remaining = max(deadline - time.monotonic(), 0.001)
        # start_tls closes the TCP stream itself when the handshake fails
        tls = await stream.start_tls(context, server_hostname=address, timeout=remaining)
        try:
            fingerprint = peer_fingerprint(tls)
        finally:
            await tls.aclose()
    except (httpcore.ConnectError, httpcore.ConnectTimeout, OSError) as exc:
        raise Unreachable(address, port, describe_exception(exc)) from None
    if fingerprint is None:
        raise Unreachable(address, port, "the server presented no certificate")
    return fingerprint


def describe_exception(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
