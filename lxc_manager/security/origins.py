"""The web origins whose pages may open the event socket (DESIGN §3.1).

A websocket is not subject to CORS, and the browser sends the session cookie with it
from any page of the same site (SameSite=Strict stops only cross-site pages: a sibling
host such as `blog.example.org` is the same site as `lxc.example.org`). So the socket
refuses every `Origin` but the app's own: that of `LXCM_PUBLIC_URL` and of the configured
host:port. Reflex hands this list to its Socket.IO server (`cors_allowed_origins` in
rxconfig.py), which then refuses the handshake of any other origin.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from lxc_manager.settings import Settings

DEFAULT_PORTS = {"http": 80, "https": 443}
WILDCARD_HOSTS = ("0.0.0.0", "::", "[::]")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
# A page at http://localhost:PORT on this machine can only be served by whatever listens
# on PORT here, i.e. this app: for a loopback or wildcard binding both names are its own.
LOCAL_NAMES = ("127.0.0.1", "localhost")


def origin_of(url: str) -> str:
    """`scheme://host[:port]` as a browser writes it in `Origin` (no default port)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    if port is None or port == DEFAULT_PORTS.get(scheme):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def allowed_origins(settings: Settings) -> tuple[str, ...]:
    """The public URL's origin, then the bound host:port (and the local names of a
    loopback or wildcard binding)."""
    hosts = [] if settings.host in WILDCARD_HOSTS else [settings.host]
    if settings.host in WILDCARD_HOSTS + LOOPBACK_HOSTS:
        hosts += LOCAL_NAMES
    origins = [origin_of(settings.public_url)]
    for host in hosts:
        bracketed = f"[{host.strip('[]')}]" if ":" in host else host
        origins.append(origin_of(f"http://{bracketed}:{settings.port}"))
    return tuple(dict.fromkeys(origins))


def browsers_send_fetch_metadata(settings: Settings) -> bool:
    """True when browsers send `Sec-Fetch-Site` to the app: they do so only to potentially
    trustworthy origins (https, or http on a loopback host), never to plain http elsewhere."""
    parts = urlsplit(settings.public_url)
    if parts.scheme == "https":
        return True
    host = (parts.hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
