"""Who is the client: the connecting address, or what a trusted reverse proxy says it is.

`X-Forwarded-For` is written by the client as much as by proxies, so it is believed only
when the connection comes from a proxy named in `LXCM_TRUSTED_PROXIES`, and then only up
to the first (right-most) address that is not itself a trusted proxy: everything left of
that was written by someone we do not trust.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from lxc_manager.settings import IpNetwork, Settings

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
UNKNOWN = "unknown"


def parse_address(text: str) -> IpAddress | None:
    """An IP address (IPv4-mapped IPv6 unwrapped, brackets and zone dropped), or None."""
    value = text.strip().strip("[]").split("%", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: IpAddress, proxies: tuple[IpNetwork, ...]) -> bool:
    return any(address.version == net.version and address in net for net in proxies)


def _forwarded_for(headers: Mapping[str, str]) -> list[str]:
    raw = next((v for k, v in headers.items() if k.lower() == "x-forwarded-for"), "")
    return [item.strip() for item in raw.split(",") if item.strip()]


def client_address(peer: str, headers: Mapping[str, str], settings: Settings) -> str:
    """The client's address for rate limits and the audit trail.

    `peer` is the address the connection came from; `headers` the request's headers
    (lower-case names, repeated headers joined with ", " as ASGI servers do).
    """
    address = parse_address(peer)
    if address is None:
        return UNKNOWN
    if not _trusted(address, settings.trusted_proxies):
        return str(address)
    for item in reversed(_forwarded_for(headers)):
        hop = parse_address(item)
        if hop is None:  # garbage after a trusted hop: stop at the proxy that passed it
            return str(address)
        address = hop
        if not _trusted(hop, settings.trusted_proxies):
            return str(hop)
    return str(address)  # every hop is a trusted proxy: the left-most one is the client


def rate_limit_subject(client: str) -> str:
    """IPv6 clients are limited per /64 (one host usually holds the whole /64)."""
    address = parse_address(client)
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address) if address is not None else UNKNOWN
