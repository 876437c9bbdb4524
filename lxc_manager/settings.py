"""Every environment variable of LXC Manager, typed, with defaults, in one place.

A bad value stops start-up with one line naming the variable and what is expected
(`SettingsError`). Later features add their knobs here and a row in the README's
configuration table (`VARIABLES` below is the source of that table).
"""

from __future__ import annotations

import base64
import binascii
import functools
import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
KEY_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
HOST_PATTERN = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$|^\[?[0-9A-Fa-f:.]+\]?$")


class SettingsError(ValueError):
    """A configuration value is missing or malformed; the message is one printable line."""

    def __init__(self, variable: str, expected: str, got: str | None = None) -> None:
        shown = "" if got is None else f", got {got!r}"
        super().__init__(f"{variable}: expected {expected}{shown}")
        self.variable = variable


@dataclass(frozen=True)
class Variable:
    """One documented environment variable (drives parsing docs and the README table)."""

    name: str
    default: str
    description: str


VARIABLES: tuple[Variable, ...] = (
    Variable(
        "LXCM_DATA_DIR",
        "./data",
        "Directory for the SQLite database, the key file, embedded Redis data and the built frontend.",
    ),
    Variable(
        "DATABASE_URL",
        "sqlite:///$LXCM_DATA_DIR/lxc-manager.db",
        "SQLAlchemy URL: `sqlite:///PATH` or `postgresql://USER:PASS@HOST/DB`.",
    ),
    Variable(
        "REDIS_URL",
        "(embedded)",
        "`redis://HOST:PORT/N`; unset = an embedded `redis-server` child. Uses databases N (app), N+1 (RQ), N+2 (Reflex state).",
    ),
    Variable(
        "LXCM_SECRET_KEY",
        "(key file)",
        "Keyring `kid:base64key[,kid:base64key...]` (32-byte keys, first is active); unset = `$LXCM_DATA_DIR/secret.key`, created once with mode 0600.",
    ),
    Variable("LXCM_HOST", "127.0.0.1", "Address the web server binds to."),
    Variable(
        "LXCM_PORT",
        "3000",
        "Port of the web server (frontend, backend and HTTP routes on one port).",
    ),
    Variable("LXCM_WORKERS", "2", "Number of RQ workers `serve` supervises (0-32)."),
    Variable("LXCM_WEB_WORKERS", "1", "Number of web server worker processes (1-32)."),
    Variable(
        "LXCM_PUBLIC_URL",
        "http://$LXCM_HOST:$LXCM_PORT",
        "URL users open; `https://...` makes cookies Secure. The frontend is built for it.",
    ),
    Variable(
        "LXCM_LOGIN_ALLOWED_HOSTS",
        "(empty)",
        "Comma-separated `host[:port]` Proxmox sign-in endpoints; empty = first-use trust.",
    ),
    Variable("LXCM_LOG_LEVEL", "INFO", "DEBUG, INFO, WARNING or ERROR."),
    Variable(
        "LXCM_SHUTDOWN_TIMEOUT",
        "8",
        "Seconds `serve` waits for children to stop before killing them.",
    ),
    Variable(
        "LXCM_SESSION_LIFETIME", "7200", "Absolute lifetime of a session in seconds (at most 2 h)."
    ),
    Variable(
        "LXCM_SESSION_IDLE_TIMEOUT", "1800", "Seconds without activity after which a session ends."
    ),
    Variable(
        "LXCM_LOGIN_LIMIT_PER_USER",
        "5",
        "Sign-in attempts (passwords and two-factor codes sent to Proxmox) allowed per (endpoint, user) within the window; a successful sign-in resets it.",
    ),
    Variable(
        "LXCM_LOGIN_LIMIT_PER_CLIENT",
        "20",
        "Sign-in attempts (successful or not, first contacts and refused hosts included) allowed per client address (per /64 for IPv6) within the window.",
    ),
    Variable(
        "LXCM_LOGIN_LIMIT_WINDOW", "900", "Rate-limit window for sign-in attempts, in seconds."
    ),
    Variable(
        "LXCM_TRUSTED_PROXIES",
        "(empty)",
        "Comma-separated IPs or CIDRs of reverse proxies whose `X-Forwarded-For` is believed (the right-most address not in this list is the client); empty = the connecting address is the client.",
    ),
    Variable(
        "LXCM_TFA_PENDING_TTL", "300", "Seconds a pending two-factor sign-in waits for its code."
    ),
    Variable(
        "LXCM_PROXMOX_CONNECT_TIMEOUT", "3", "Seconds to connect to a Proxmox API (TCP + TLS)."
    ),
    Variable("LXCM_PROXMOX_READ_TIMEOUT", "10", "Seconds to wait for a Proxmox API answer."),
    Variable(
        "LXCM_SSH_SESSIONS_PER_NODE",
        "4",
        "SSH sessions the provisioning workers open at once per Proxmox node, all workers together (1-64).",
    ),
    Variable(
        "LXCM_NODE_CHECKS_PER_MINUTE",
        "10",
        "Node connection tests (saving or testing a node) one user may run per minute (1-10000).",
    ),
    Variable(
        "LXCM_MAX_NODES_PER_USER",
        "50",
        "Nodes one user may add (1-10000).",
    ),
    Variable(
        "LXCM_MAX_PROXMOX_RESPONSE_BYTES",
        "16777216",
        "Largest Proxmox API answer read, in bytes (16 MiB); a larger one is refused with a message, never held in memory.",
    ),
    Variable(
        "LXCM_MAX_SSH_OUTPUT_BYTES",
        "4194304",
        "Largest output (stdout and stderr together) collected from one command over SSH, in bytes (4 MiB); a command printing more is stopped with a message. Streamed output (provisioning logs, log follow) is not limited in total, but each line is cut at 64 KiB.",
    ),
    Variable(
        "LXCM_MAX_CREDENTIAL_FILE_BYTES",
        "65536",
        "Largest credentials file read from a container's /etc/lxc-manager/credentials, in bytes (64 KiB); larger files are skipped.",
    ),
    Variable(
        "LXCM_MAX_CREDENTIAL_FILES",
        "50",
        "Most credentials files read from one container (the first N by name); the others are skipped.",
    ),
    Variable(
        "LXCM_TEMPLATES_DIR",
        "(shipped catalog)",
        'Directory of filesystem templates read by "Sync catalog" (`template.toml` or `template.conf` layout, see docs/templates.md); unset = the templates shipped with the package.',
    ),
    Variable(
        "LXCM_MAX_TEMPLATES_PER_USER",
        "100",
        "Templates a user may own, and separately package buckets a user may own (1-100000; catalog templates do not count).",
    ),
    Variable(
        "LXCM_MAX_QUEUED_JOBS_PER_USER",
        "10",
        "Container creations a user may have queued or running at once (1-1000).",
    ),
    Variable(
        "LXCM_CONSOLE_IDLE_MINUTES",
        "30",
        "Minutes without input after which a browser console closes (0.05-1440; decimals allowed).",
    ),
    Variable(
        "LXCM_CONSOLE_MAX_PER_USER",
        "4",
        "Browser consoles one user may have open at once, all web processes and replicas together (1-100).",
    ),
    Variable(
        "LXCM_CONSOLE_RECORDING",
        "off",
        "`on` records every browser console (output and input), encrypted with the app's keyring, replayable by its user and administrators; `off` records nothing.",
    ),
    Variable(
        "LXCM_CONSOLE_RECORDING_DAYS",
        "30",
        "Days a console recording is kept before it is purged (1-3650).",
    ),
)


def _parse_int(name: str, raw: str, low: int, high: int) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise SettingsError(name, f"an integer between {low} and {high}", raw) from None
    if not low <= value <= high:
        raise SettingsError(name, f"an integer between {low} and {high}", raw)
    return value


def _parse_float(name: str, raw: str, low: float, high: float) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        raise SettingsError(name, f"a number between {low:g} and {high:g}", raw) from None
    if not low <= value <= high:
        raise SettingsError(name, f"a number between {low:g} and {high:g}", raw)
    return value


def _parse_host(name: str, raw: str) -> str:
    value = raw.strip()
    if not value or not HOST_PATTERN.match(value):
        raise SettingsError(name, "a host name or IP address", raw)
    return value


def _parse_log_level(name: str, raw: str) -> str:
    value = raw.strip().upper()
    if value not in LOG_LEVELS:
        raise SettingsError(name, "one of " + ", ".join(LOG_LEVELS), raw)
    return value


def _parse_public_url(name: str, raw: str) -> str:
    value = raw.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(name, "an http:// or https:// URL such as https://lxc.example.org", raw)
    if parts.query or parts.fragment:
        raise SettingsError(name, "a URL without query or fragment", raw)
    return value


def _parse_database_url(name: str, raw: str) -> str:
    value = raw.strip()
    scheme = value.split("://", 1)[0] if "://" in value else ""
    if scheme in ("postgres", "postgresql", "postgresql+psycopg"):
        return "postgresql+psycopg://" + value.split("://", 1)[1]
    if scheme == "sqlite" and value.startswith("sqlite:///") and len(value) > len("sqlite:///"):
        return value
    raise SettingsError(
        name, "sqlite:///PATH or postgresql://USER:PASSWORD@HOST/DATABASE", _redact_url(raw)
    )


def _parse_redis_url(name: str, raw: str) -> str:
    value = raw.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("redis", "rediss", "unix") or (
        parts.scheme != "unix" and not parts.hostname
    ):
        raise SettingsError(
            name, "redis://HOST:PORT/DB, rediss://... or unix:///PATH", _redact_url(raw)
        )
    path = parts.path.strip("/")
    if parts.scheme != "unix" and path and (not path.isdigit() or int(path) > 13):
        raise SettingsError(
            name, "a database number between 0 and 13 in the URL path", _redact_url(raw)
        )
    return value


def _redact_url(raw: str) -> str:
    """Hide the password part of a URL so an error line never shows a credential."""
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", raw)


def parse_keyring(name: str, raw: str) -> tuple[tuple[str, bytes], ...]:
    """Parse `kid:base64key[,kid:base64key...]`; every key must decode to 32 bytes."""
    entries: list[tuple[str, bytes]] = []
    expected = "a keyring kid:base64key[,kid:base64key...] of 32-byte keys"
    for part in raw.strip().split(","):
        kid, sep, encoded = part.strip().partition(":")
        if not sep or not KEY_ID_PATTERN.match(kid):
            raise SettingsError(name, expected, "<redacted>")
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise SettingsError(name, expected + " (bad base64)", "<redacted>") from None
        if len(key) != 32:
            raise SettingsError(
                name, expected + f" (key {kid!r} is {len(key)} bytes)", "<redacted>"
            )
        if any(existing == kid for existing, _ in entries):
            raise SettingsError(name, expected + f" (key id {kid!r} repeated)", "<redacted>")
        entries.append((kid, key))
    return tuple(entries)


def _parse_allowed_hosts(name: str, raw: str) -> tuple[tuple[str, int], ...]:
    endpoints: list[tuple[str, int]] = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        host, port = split_host_port(item, default_port=8006)
        if host is None or port is None:
            raise SettingsError(
                name, "comma-separated host[:port] entries such as pve1.lan:8006", raw
            )
        endpoints.append((host.lower(), port))
    return tuple(endpoints)


def _parse_admins(name: str, raw: str) -> tuple[tuple[str, str, int], ...]:
    """`user@realm@host[:port]` entries: a Proxmox user at a sign-in endpoint."""
    admins: list[tuple[str, str, int]] = []
    expected = "comma-separated user@realm@host[:port] entries such as root@pam@pve1.lan:8006"
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        user, realm, rest = [*item.split("@", 2), "", ""][:3]
        host, port = split_host_port(rest, default_port=8006)
        if not user or not realm or host is None or port is None:
            raise SettingsError(name, expected, raw)
        admins.append((f"{user}@{realm}".lower(), host.lower(), port))
    return tuple(admins)


IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _parse_networks(name: str, raw: str) -> tuple[IpNetwork, ...]:
    """Comma-separated IP addresses or CIDR networks, e.g. `10.0.0.2, 192.168.0.0/24, ::1`."""
    networks: list[IpNetwork] = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise SettingsError(
                name,
                "comma-separated IP addresses or CIDR networks such as 10.0.0.2,10.1.0.0/16",
                raw,
            ) from None
    return tuple(networks)


def split_host_port(text: str, default_port: int) -> tuple[str | None, int | None]:
    """Split `host`, `host:port`, `[v6]` or `[v6]:port`; (None, None) when malformed."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ("" if not rest else None)
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, ""
    if port_text is None or not host or not HOST_PATTERN.match(host):
        return None, None
    if not port_text:
        return host, default_port
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        return None, None
    return host, int(port_text)


KIB = 1024
MIB = 1024 * KIB

NO_HOSTS: tuple[tuple[str, int], ...] = ()
NO_ADMINS: tuple[tuple[str, str, int], ...] = ()
NO_NETWORKS: tuple[IpNetwork, ...] = ()


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    redis_url: str | None
    secret_keyring: tuple[tuple[str, bytes], ...] | None = field(repr=False)
    host: str
    port: int
    workers: int
    web_workers: int
    public_url: str
    login_allowed_hosts: tuple[tuple[str, int], ...]
    log_level: str
    shutdown_timeout: float
    session_lifetime: int
    session_idle_timeout: int
    login_limit_per_user: int
    login_limit_per_client: int
    login_limit_window: int
    tfa_pending_ttl: int
    proxmox_connect_timeout: float
    proxmox_read_timeout: float
    templates_dir: Path | None = None
    ssh_sessions_per_node: int = 4
    admins: tuple[tuple[str, str, int], ...] = NO_ADMINS
    trusted_proxies: tuple[IpNetwork, ...] = NO_NETWORKS
    node_checks_per_minute: int = 10
    max_nodes_per_user: int = 50
    max_proxmox_response_bytes: int = 16 * MIB
    max_ssh_output_bytes: int = 4 * MIB
    max_credential_file_bytes: int = 64 * KIB
    max_credential_files: int = 50
    max_templates_per_user: int = 100
    max_queued_jobs_per_user: int = 10
    console_idle_minutes: float = 30.0
    console_max_per_user: int = 4
    console_recording: bool = False
    console_recording_days: int = 30
    api_rate_limit: int = 120
    api_rate_window: int = 60

    def names_admin(self, username: str, host: str, port: int) -> bool:
        """True when LXCM_ADMINS names this Proxmox user at this sign-in endpoint."""
        return (username.lower(), host.strip("[]").lower(), port) in self.admins

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")

    @property
    def embedded_redis(self) -> bool:
        return self.redis_url is None

    @property
    def key_file(self) -> Path:
        return self.data_dir / "secret.key"


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    return value if value is not None and value.strip() != "" else None


def _opt(env: Mapping[str, str], name: str, parse: Callable[[str, str], T], default: T) -> T:
    raw = _get(env, name)
    return default if raw is None else parse(name, raw)


def _int(env: Mapping[str, str], name: str, low: int, high: int, default: int) -> int:
    return _opt(env, name, lambda n, r: _parse_int(n, r, low, high), default)


def _float(env: Mapping[str, str], name: str, low: float, high: float, default: float) -> float:
    return _opt(env, name, lambda n, r: _parse_float(n, r, low, high), default)


def _parse_on_off(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value not in ("on", "off"):
        raise SettingsError(name, "on or off", raw)
    return value == "on"


def _parse_dir(name: str, raw: str, base: Path) -> Path:
    path = (base / Path(raw).expanduser()).resolve()
    if path.exists() and not path.is_dir():
        raise SettingsError(name, "a directory path", raw)
    return path


def load_settings(env: Mapping[str, str] | None = None, cwd: Path | None = None) -> Settings:
    """Read and validate every variable; raise `SettingsError` on the first bad one."""
    env = os.environ if env is None else env
    base = cwd or Path.cwd()
    raw_dir = _get(env, "LXCM_DATA_DIR") or "./data"
    data_dir = (base / Path(raw_dir).expanduser()).resolve()
    if data_dir.exists() and not data_dir.is_dir():
        raise SettingsError("LXCM_DATA_DIR", "a directory path", raw_dir)

    host = _opt(env, "LXCM_HOST", _parse_host, "127.0.0.1")
    port = _opt(env, "LXCM_PORT", lambda n, r: _parse_int(n, r, 1, 65535), 3000)
    display_host = "127.0.0.1" if host in ("0.0.0.0", "::", "[::]") else host
    if ":" in display_host and not display_host.startswith("["):
        display_host = f"[{display_host}]"  # an IPv6 address in a URL
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "database_url": _opt(
            env, "DATABASE_URL", _parse_database_url, f"sqlite:///{data_dir / 'lxc-manager.db'}"
        ),
        "redis_url": _opt(env, "REDIS_URL", _parse_redis_url, None),
        "secret_keyring": _opt(env, "LXCM_SECRET_KEY", parse_keyring, None),
        "host": host,
        "port": port,
        "workers": _opt(env, "LXCM_WORKERS", lambda n, r: _parse_int(n, r, 0, 32), 2),
        "web_workers": _opt(env, "LXCM_WEB_WORKERS", lambda n, r: _parse_int(n, r, 1, 32), 1),
        "public_url": _opt(
            env, "LXCM_PUBLIC_URL", _parse_public_url, f"http://{display_host}:{port}"
        ),
        "login_allowed_hosts": _opt(
            env, "LXCM_LOGIN_ALLOWED_HOSTS", _parse_allowed_hosts, NO_HOSTS
        ),
        "admins": _opt(env, "LXCM_ADMINS", _parse_admins, NO_ADMINS),
        "trusted_proxies": _opt(env, "LXCM_TRUSTED_PROXIES", _parse_networks, NO_NETWORKS),
        "log_level": _opt(env, "LXCM_LOG_LEVEL", _parse_log_level, "INFO"),
        "shutdown_timeout": _opt(
            env, "LXCM_SHUTDOWN_TIMEOUT", lambda n, r: _parse_float(n, r, 1, 60), 8.0
        ),
        "session_lifetime": _int(env, "LXCM_SESSION_LIFETIME", 10, 7200, 7200),
        "session_idle_timeout": _int(env, "LXCM_SESSION_IDLE_TIMEOUT", 5, 7200, 1800),
        "login_limit_per_user": _int(env, "LXCM_LOGIN_LIMIT_PER_USER", 1, 1000, 5),
        "login_limit_per_client": _int(env, "LXCM_LOGIN_LIMIT_PER_CLIENT", 1, 10000, 20),
        "login_limit_window": _int(env, "LXCM_LOGIN_LIMIT_WINDOW", 1, 86400, 900),
        "tfa_pending_ttl": _int(env, "LXCM_TFA_PENDING_TTL", 10, 900, 300),
        "proxmox_connect_timeout": _float(env, "LXCM_PROXMOX_CONNECT_TIMEOUT", 0.1, 60, 3.0),
        "proxmox_read_timeout": _float(env, "LXCM_PROXMOX_READ_TIMEOUT", 0.5, 300, 10.0),
        "ssh_sessions_per_node": _int(env, "LXCM_SSH_SESSIONS_PER_NODE", 1, 64, 4),
        "node_checks_per_minute": _int(env, "LXCM_NODE_CHECKS_PER_MINUTE", 1, 10000, 10),
        "max_nodes_per_user": _int(env, "LXCM_MAX_NODES_PER_USER", 1, 10000, 50),
        "max_proxmox_response_bytes": _int(
            env, "LXCM_MAX_PROXMOX_RESPONSE_BYTES", 64 * KIB, 1024 * MIB, 16 * MIB
        ),
        "max_ssh_output_bytes": _int(
            env, "LXCM_MAX_SSH_OUTPUT_BYTES", 64 * KIB, 256 * MIB, 4 * MIB
        ),
        "max_credential_file_bytes": _int(
            env, "LXCM_MAX_CREDENTIAL_FILE_BYTES", 1 * KIB, 4 * MIB, 64 * KIB
        ),
        "max_credential_files": _int(env, "LXCM_MAX_CREDENTIAL_FILES", 1, 1000, 50),
        "templates_dir": _opt(env, "LXCM_TEMPLATES_DIR", lambda n, r: _parse_dir(n, r, base), None),
        "max_templates_per_user": _int(env, "LXCM_MAX_TEMPLATES_PER_USER", 1, 100_000, 100),
        "max_queued_jobs_per_user": _int(env, "LXCM_MAX_QUEUED_JOBS_PER_USER", 1, 1000, 10),
        "console_idle_minutes": _float(env, "LXCM_CONSOLE_IDLE_MINUTES", 0.05, 1440, 30.0),
        "console_max_per_user": _int(env, "LXCM_CONSOLE_MAX_PER_USER", 1, 100, 4),
        "console_recording": _opt(env, "LXCM_CONSOLE_RECORDING", _parse_on_off, False),
        "console_recording_days": _int(env, "LXCM_CONSOLE_RECORDING_DAYS", 1, 3650, 30),
        "api_rate_limit": _int(env, "LXCM_API_RATE_LIMIT", 1, 100_000, 120),
        "api_rate_window": _int(env, "LXCM_API_RATE_WINDOW", 1, 3600, 60),
    }
    return Settings(**values)


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
