"""`proxmox.shared`: one client per owner and event loop, replaced when what it was built
from changes, closed on `forget`, after idleness, never shared between loops."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import httpx
import pytest

from lxc_manager.proxmox import ProxmoxClient, TlsPolicy, TokenAuth, shared

PIN = "AB:" * 31 + "AB"


def make(secret: str = "s3cret-value") -> ProxmoxClient:
    return ProxmoxClient(
        "pve.example",
        8006,
        tls=TlsPolicy(fingerprint=PIN),
        auth=TokenAuth("root@pam!lxcm", secret),
        transport=httpx.MockTransport(lambda request: httpx.Response(200, json={"data": 1})),
    )


def closed(client: ProxmoxClient) -> bool:
    return client._http.is_closed


@pytest.fixture(autouse=True)
def quick_close(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(shared, "GRACE_SECONDS", 0.05)
    yield


async def settle() -> None:
    await asyncio.sleep(0.2)  # past the grace period: scheduled closes have run


async def test_the_same_key_gives_the_same_client_and_it_works() -> None:
    key = ("pve.example", 8006, PIN, shared.credential_digest("root@pam!x", "a"))
    first = shared.shared_client(("test", 1), key, make)
    assert shared.shared_client(("test", 1), key, make) is first
    assert await first.get("/version") == 1
    await shared.close_all()
    assert closed(first)


async def test_a_new_key_replaces_the_client_and_closes_the_old_one_later() -> None:
    old = shared.shared_client(("test", 2), ("k", "pin-1"), make)
    new = shared.shared_client(("test", 2), ("k", "pin-2"), make)
    assert new is not old
    assert not closed(old)  # requests in flight may finish
    await settle()
    assert closed(old) and not closed(new)
    await shared.close_all()


async def test_forget_closes_an_owners_client_from_another_thread() -> None:
    client = shared.shared_client(("test", 3), "k", make)
    other = shared.shared_client(("test", 4), "k", make)
    thread = threading.Thread(target=shared.forget, args=(("test", 3),))
    thread.start()
    thread.join()
    await settle()
    assert closed(client) and not closed(other)
    assert shared.shared_client(("test", 3), "k", make) is not client
    await shared.close_all()


async def test_idle_clients_are_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    idle = shared.shared_client(("test", 5), "k", make)
    monkeypatch.setattr(shared, "IDLE_SECONDS", 0.0)
    await asyncio.sleep(0.01)
    shared.shared_client(("test", 6), "k", make)  # any use sweeps the idle ones
    await settle()
    assert closed(idle)
    await shared.close_all()


def test_clients_are_not_shared_between_event_loops() -> None:
    async def get() -> ProxmoxClient:
        return shared.shared_client(("test", 7), "k", make)

    first, second = asyncio.run(get()), asyncio.run(get())
    assert first is not second


def test_the_credential_digest_is_keyed_and_hides_the_secret() -> None:
    digest = shared.credential_digest("root@pam!x", "s3cret-value")
    assert digest == shared.credential_digest("root@pam!x", "s3cret-value")
    assert digest != shared.credential_digest("root@pam!x", "s3cret-valuf")
    assert digest != shared.credential_digest("root@pam!y", "s3cret-value")
    assert "s3cret" not in digest and len(digest) == 64


def test_idle_clients_are_closed_even_without_further_use(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shared, "SWEEP_SECONDS", 0.05)
    monkeypatch.setattr(shared, "IDLE_SECONDS", 0.1)

    async def open_and_wait() -> tuple[ProxmoxClient, bool]:
        client = shared.shared_client(("test", 8), "k", make)
        await asyncio.sleep(0.05)
        still_open = not closed(client)
        await asyncio.sleep(0.4)
        return client, still_open

    client, was_open = asyncio.run(open_and_wait())
    assert was_open and closed(client)
