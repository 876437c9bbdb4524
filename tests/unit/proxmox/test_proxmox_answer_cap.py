"""The answer cap of `ProxmoxClient` (LXCM_MAX_PROXMOX_RESPONSE_BYTES) on the paths the
simulator does not take: no Content-Length (a stream that never ends), a Content-Length
over the cap, and a small gzip body that inflates past the cap. The real-server case is
in tests/integration/containers/test_answer_cap.py."""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from lxc_manager.containers.lifecycle import short_message
from lxc_manager.proxmox import AnswerTooLarge, ProxmoxClient, TlsPolicy, TokenAuth
from lxc_manager.settings import get_settings

PIN = "AB:" * 31 + "AB"
CAP = 64 * 1024
CHUNK = 8 * 1024
MESSAGE = "The answer of pve.example:8006 was larger than 64 KiB"


class Endless(httpx.AsyncByteStream):
    """A body that never ends; counts what the client pulled from it."""

    def __init__(self) -> None:
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b'{"data": ["'
        while True:
            self.sent += CHUNK
            yield b"x" * CHUNK


def pve(handler: httpx.MockTransport, cap: int | None = CAP) -> ProxmoxClient:
    return ProxmoxClient(
        "pve.example",
        8006,
        tls=TlsPolicy(fingerprint=PIN),
        auth=TokenAuth("root@pam!lxcm", "5f0c2d9e-3b1a-4c8e-9d7f-0a1b2c3d4e5f"),
        transport=handler,
        max_response_bytes=cap,
        retry_backoff=0.001,
    )


async def test_a_stream_without_length_is_cut_at_the_cap() -> None:
    body = Endless()
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(200, stream=body)

    async with pve(httpx.MockTransport(handler)) as client:
        with pytest.raises(AnswerTooLarge) as caught:
            await client.get("/cluster/resources")
    assert caught.value.user_message == MESSAGE
    assert short_message(caught.value) == MESSAGE
    assert body.sent <= CAP + CHUNK  # reading stopped right there
    assert calls == 1  # never retried


async def test_a_declared_length_over_the_cap_is_refused_before_reading() -> None:
    body = Endless()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Length": str(CAP + 1)}, stream=body)

    async with pve(httpx.MockTransport(handler)) as client:
        with pytest.raises(AnswerTooLarge):
            await client.get("/nodes")
    assert body.sent == 0


async def test_the_cap_counts_the_inflated_body() -> None:
    """A 300 KiB answer that gzip squeezes to a few hundred bytes is still too large."""
    inflated = json.dumps({"data": ["x" * (300 * 1024)]}).encode()
    squeezed = gzip.compress(inflated)
    assert len(squeezed) < CAP

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Encoding": "gzip"}, content=squeezed)

    async with pve(httpx.MockTransport(handler)) as client:
        with pytest.raises(AnswerTooLarge):
            await client.get("/nodes")


async def test_answers_up_to_the_cap_are_read_as_before() -> None:
    data = ["y" * (CAP - 100)]
    encoded = json.dumps({"data": data}).encode()
    assert len(encoded) <= CAP

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"Content-Encoding": "gzip"}, content=gzip.compress(encoded)
        )

    async with pve(httpx.MockTransport(handler)) as client:
        assert await client.get("/nodes") == data


def test_the_default_cap_comes_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LXCM_MAX_PROXMOX_RESPONSE_BYTES", str(2 * 1024 * 1024))
    get_settings.cache_clear()
    try:
        client = pve(httpx.MockTransport(lambda r: httpx.Response(200)), cap=None)
        assert client.max_response_bytes == 2 * 1024 * 1024
    finally:
        get_settings.cache_clear()
