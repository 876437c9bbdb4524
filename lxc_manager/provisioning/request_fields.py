"""The checks of single fields of a create request, each answering an error text or None.

VMID, hostname, SSH public keys, static IPv4 address and gateway, name servers, search
domain and the numeric ranges; `request.validate_request` combines them, and `request`
re-exports the public ones.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import struct
from typing import Final

VMID_MIN: Final = 100
VMID_MAX: Final = 999_999_999


SSH_KEYS_MAX: Final = 32
SSH_KEYS_MAX_BYTES: Final = 64 * 1024
SEARCHDOMAIN_MAX: Final = 255

MSG_VMID = f"Enter a whole number between {VMID_MIN} and {VMID_MAX}"


_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


_KEY_TYPES: Final = frozenset(
    {
        "ssh-ed25519",
        "ssh-rsa",
        "ssh-dss",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
    }
)


def vmid_error(vmid: object) -> str | None:
    if isinstance(vmid, bool) or not isinstance(vmid, int) or not VMID_MIN <= vmid <= VMID_MAX:
        return MSG_VMID
    return None


def hostname_error(hostname: str) -> str | None:
    """RFC 1123 host name (what Proxmox's `dns-name` format accepts)."""
    if not hostname:
        return "Enter a host name, e.g. web-1"
    if len(hostname) > 253:
        return "A host name is at most 253 characters"
    for label in hostname.split("."):
        if not label:
            return "A host name has no empty parts (no leading, trailing or double dots)"
        if len(label) > 63:
            return "Each part of a host name is at most 63 characters"
        if not _LABEL.match(label):
            return (
                "Use letters, digits and hyphens (not at the start or end of a part), "
                "parts separated by dots, e.g. web-1 or web-1.example.org"
            )
    return None


_PRIVATE_KEY = "This is a private key: paste the public key (the .pub file) instead"


def _ssh_key_line_error(line: str) -> str | None:
    parts = line.split(None, 2)
    if len(parts) < 2 or parts[0] not in _KEY_TYPES:
        return "Each line must be an OpenSSH public key, e.g. ssh-ed25519 AAAA... user@host"
    try:
        blob = base64.b64decode(parts[1], validate=True)
        (length,) = struct.unpack(">I", blob[:4])
        embedded = blob[4 : 4 + length].decode("ascii")
    except (binascii.Error, ValueError, struct.error, UnicodeDecodeError):
        return f"The key data of a {parts[0]} key is not valid base64"
    if embedded != parts[0] or len(blob) < 4 + length + 8:
        return f"The key data does not belong to a {parts[0]} key"
    return None


def ssh_keys_error(text: str) -> str | None:
    """One OpenSSH public key per line (blank lines and # comments are fine)."""
    if len(text.encode()) > SSH_KEYS_MAX_BYTES:
        return f"At most {SSH_KEYS_MAX_BYTES // 1024} KiB of public keys"
    if "PRIVATE KEY" in text:
        return _PRIVATE_KEY
    lines = [line.strip() for line in text.splitlines()]
    keys = [line for line in lines if line and not line.startswith("#")]
    if len(keys) > SSH_KEYS_MAX:
        return f"At most {SSH_KEYS_MAX} public keys"
    for number, line in enumerate(keys, start=1):
        problem = _ssh_key_line_error(line)
        if problem is not None:
            return f"Key {number}: {problem}" if len(keys) > 1 else problem
    return None


def static_address(ipv4: str) -> ipaddress.IPv4Interface | None:
    """The static address of `ipv4` ("10.0.0.5/24"), None for dhcp or anything invalid."""
    if ipv4.strip().lower() == "dhcp":
        return None
    try:
        interface = ipaddress.IPv4Interface(ipv4.strip())
    except ValueError:
        return None
    if "/" not in ipv4 or interface.network.prefixlen == 0:
        return None
    return interface


def _ipv4_error(ipv4: str) -> str | None:
    text = ipv4.strip()
    if text.lower() == "dhcp":
        return None
    interface = static_address(text)
    if interface is None:
        return "Enter dhcp or an address with its prefix length, e.g. 10.0.0.5/24"
    address = interface.ip
    if address.is_loopback or address.is_multicast or address.is_unspecified:
        return "This address cannot be given to a container"
    network = interface.network
    if network.prefixlen < 31 and address in (network.network_address, network.broadcast_address):
        return f"{address} is the network's own or broadcast address"
    return None


def _gateway_error(gateway: str, ipv4: str) -> str | None:
    text = gateway.strip()
    if not text:
        return None
    interface = static_address(ipv4)
    if interface is None:
        return "A gateway is only set with a static address (DHCP brings its own)"
    try:
        address = ipaddress.IPv4Address(text)
    except ValueError:
        return "Enter the gateway as an IPv4 address, e.g. 10.0.0.1"
    if address == interface.ip:
        return "The gateway cannot be the container's own address"
    return None


def _nameservers(text: str) -> list[str]:
    return [part for part in re.split(r"[\s,;]+", text.strip()) if part]


def _nameserver_error(text: str) -> str | None:
    for part in _nameservers(text):
        try:
            ipaddress.ip_address(part)
        except ValueError:
            return f"{part!r} is not an IP address (separate several with spaces)"
    return None


def _searchdomain_error(text: str) -> str | None:
    if len(text) > SEARCHDOMAIN_MAX:
        return f"At most {SEARCHDOMAIN_MAX} characters"
    for part in text.split():
        if hostname_error(part) is not None:
            return f"{part!r} is not a DNS domain (separate several with spaces)"
    return None


def _range_error(value: object, bounds: tuple[int, int], label: str) -> str | None:
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return f"{label} must be a whole number between {low} and {high}"
    return None
