"""Who the client is (LXCM_TRUSTED_PROXIES) and which origins may open the event socket."""

from __future__ import annotations

from pathlib import Path

import pytest

from lxc_manager.security.clients import client_address, rate_limit_subject
from lxc_manager.security.origins import (
    allowed_origins,
    browsers_send_fetch_metadata,
    origin_of,
)
from lxc_manager.settings import Settings, SettingsError, load_settings


def settings(tmp_path: Path, **env: str) -> Settings:
    return load_settings(env, cwd=tmp_path)


def test_without_trusted_proxies_the_peer_is_the_client(tmp_path: Path) -> None:
    s = settings(tmp_path)
    spoofed = {"x-forwarded-for": "203.0.113.9"}
    assert client_address("192.0.2.10", spoofed, s) == "192.0.2.10"
    assert client_address("::ffff:192.0.2.10", {}, s) == "192.0.2.10"
    assert client_address("", spoofed, s) == "unknown"
    assert client_address("not an address", spoofed, s) == "unknown"


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        # a direct connection, not from a proxy: its header is the client's own words
        ("192.0.2.10", "203.0.113.9", "192.0.2.10"),
        # through the trusted proxy: the address it appended
        ("10.0.0.2", "203.0.113.9", "203.0.113.9"),
        # the client wrote a fake first entry; the proxy appended the real one
        ("10.0.0.2", "1.2.3.4, 203.0.113.9", "203.0.113.9"),
        # two trusted proxies in a row: the right-most untrusted address
        ("10.0.0.2", "1.2.3.4, 203.0.113.9, 10.1.2.3", "203.0.113.9"),
        # a trusted proxy without the header: the proxy itself
        ("10.0.0.2", "", "10.0.0.2"),
        # garbage right of the client part: stop at the proxy that passed it
        ("10.0.0.2", "203.0.113.9, bogus", "10.0.0.2"),
        # every hop trusted: the left-most one
        ("10.0.0.2", "10.1.0.1, 10.1.0.2", "10.1.0.1"),
        # IPv6 hops, bracketed or mapped
        ("::1", "[2001:db8::7]", "2001:db8::7"),
        ("10.0.0.2", "::ffff:203.0.113.9", "203.0.113.9"),
    ],
)
def test_forwarded_for_is_believed_only_from_trusted_proxies(
    tmp_path: Path, peer: str, forwarded: str, expected: str
) -> None:
    s = settings(tmp_path, LXCM_TRUSTED_PROXIES="10.0.0.2, 10.1.0.0/16, ::1")
    headers = {"x-forwarded-for": forwarded} if forwarded else {}
    assert client_address(peer, headers, s) == expected


def test_trusted_proxies_setting(tmp_path: Path) -> None:
    s = settings(tmp_path, LXCM_TRUSTED_PROXIES=" 10.0.0.2 ,192.168.0.0/24,fd00::/8,")
    assert [str(n) for n in s.trusted_proxies] == ["10.0.0.2/32", "192.168.0.0/24", "fd00::/8"]
    assert settings(tmp_path).trusted_proxies == ()
    with pytest.raises(SettingsError, match="LXCM_TRUSTED_PROXIES"):
        settings(tmp_path, LXCM_TRUSTED_PROXIES="proxy.lan")


def test_ipv6_clients_are_limited_per_64() -> None:
    assert rate_limit_subject("2001:db8:1:2:aaaa::1") == rate_limit_subject("2001:db8:1:2::ffff")
    assert rate_limit_subject("2001:db8:1:2::1") != rate_limit_subject("2001:db8:1:3::1")
    assert rate_limit_subject("192.0.2.1") == "192.0.2.1"
    assert rate_limit_subject("") == "unknown"


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://LXC.example.org/", "https://lxc.example.org"),
        ("https://lxc.example.org:443/app", "https://lxc.example.org"),
        ("http://lxc.example.org:8080", "http://lxc.example.org:8080"),
        ("http://[fd00::5]:3000", "http://[fd00::5]:3000"),
    ],
)
def test_origin_of(url: str, origin: str) -> None:
    assert origin_of(url) == origin


def test_allowed_origins(tmp_path: Path) -> None:
    assert allowed_origins(settings(tmp_path)) == (
        "http://127.0.0.1:3000",
        "http://localhost:3000",
    )
    assert allowed_origins(
        settings(tmp_path, LXCM_PUBLIC_URL="https://lxc.example.org", LXCM_PORT="8080")
    ) == ("https://lxc.example.org", "http://127.0.0.1:8080", "http://localhost:8080")
    assert allowed_origins(
        settings(tmp_path, LXCM_HOST="10.1.2.3", LXCM_PUBLIC_URL="https://lxc.example.org")
    ) == ("https://lxc.example.org", "http://10.1.2.3:3000")
    assert allowed_origins(settings(tmp_path, LXCM_HOST="fd00::5")) == ("http://[fd00::5]:3000",)
    assert allowed_origins(settings(tmp_path, LXCM_HOST="0.0.0.0")) == (
        "http://127.0.0.1:3000",
        "http://localhost:3000",
    )
    assert "*" not in allowed_origins(settings(tmp_path, LXCM_HOST="::"))


@pytest.mark.parametrize(
    ("public_url", "sent"),
    [
        ("https://lxc.example.org", True),
        ("http://127.0.0.1:3000", True),
        ("http://localhost:3000", True),
        ("http://[::1]:3000", True),
        ("http://lxc.lan:3000", False),
        ("http://10.0.0.5:3000", False),
    ],
)
def test_browsers_send_fetch_metadata_only_to_trustworthy_origins(
    tmp_path: Path, public_url: str, sent: bool
) -> None:
    assert browsers_send_fetch_metadata(settings(tmp_path, LXCM_PUBLIC_URL=public_url)) is sent
