"""Pure parsers for the container detail page: what commands run inside a container print
(`systemctl list-units --output=json`, `systemctl show`, `ss -tlnpH`, `ip -j addr`,
`ps -e -o pid=,ppid=`, credentials files) and how services, ports and URLs fit together.
No I/O here: `detail.py` runs the argv lists and hands their output to these functions."""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lxc_manager.proxmox.models import LxcInterface

__all__ = [
    "Listener",
    "Service",
    "UnitRow",
    "assemble_services",
    "credential_name",
    "first_ipv4_from_ip_json",
    "ipv4_from_interfaces",
    "is_system_unit",
    "parse_credentials",
    "parse_list_units",
    "parse_ps_parents",
    "parse_show_main_pids",
    "parse_ss_listeners",
    "service_urls",
    "valid_unit",
]

_UNIT = re.compile(r"^[A-Za-z0-9@._:-]+$")
_CRED_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_SS_USER = re.compile(r'\("(?P<name>[^"]*)",pid=(?P<pid>\d+)')

# Units every Debian/Ubuntu container runs: shown, but as "system".
_SYSTEM_NAMES = frozenset(
    {
        "cron",
        "crond",
        "ssh",
        "sshd",
        "dbus",
        "dbus-broker",
        "rsyslog",
        "syslog",
        "networking",
        "ifupdown-pre",
        "postfix",
        "exim4",
        "chrony",
        "chronyd",
        "ntp",
        "ntpsec",
        "unattended-upgrades",
        "polkit",
        "polkitd",
        "udev",
        "atd",
        "apparmor",
        "console-setup",
        "keyboard-setup",
        "kmod-static-nodes",
        "ufw",
        "resolvconf",
        "user-runtime-dir",
        "apt-daily",
        "apt-daily-upgrade",
        "man-db",
        "e2scrub_reap",
        "logrotate",
        "qemu-guest-agent",
    }
)
_SYSTEM_PREFIXES = (
    "systemd-",
    "getty@",
    "console-getty",
    "container-getty@",
    "serial-getty@",
    "user@",
    "networkd",
    "lvm2",
    "dm-event",
)
_HTTPS_PORTS = frozenset({443, 8443, 9443})
_HTTP_PORTS = frozenset({80, 81, 3000, 5000, 5601, 8000, 8008, 8080, 8081, 8088, 8888, 9000})
_WEB_SERVERS = frozenset({"nginx", "apache2", "httpd", "caddy", "lighttpd", "haproxy"})


@dataclass(frozen=True)
class UnitRow:
    unit: str
    description: str
    active: str
    sub: str


@dataclass(frozen=True)
class Listener:
    port: int
    address: str
    processes: tuple[tuple[str, int], ...]  # (name, pid)


@dataclass(frozen=True)
class Service:
    unit: str
    description: str
    active: str
    sub: str
    kind: str  # "system" | "application"
    ports: tuple[int, ...]
    urls: tuple[str, ...]
    credentials: tuple[tuple[str, str], ...]


def valid_unit(unit: str) -> bool:
    """`nginx`, `nginx.service`, `getty@tty1.service`; nothing else (no other unit types)."""
    if not isinstance(unit, str) or not 0 < len(unit) <= 256:
        return False
    base = unit[: -len(".service")] if unit.endswith(".service") else unit
    return bool(base) and _UNIT.fullmatch(base) is not None and not base.startswith("-")


def _base(unit: str) -> str:
    return unit[: -len(".service")] if unit.endswith(".service") else unit


def credential_name(unit: str) -> str:
    """The credentials file name of a unit: suffix and `@instance` stripped."""
    return _base(unit).partition("@")[0]


def is_system_unit(unit: str) -> bool:
    base = _base(unit)
    if base.startswith(_SYSTEM_PREFIXES):
        return True
    return base.partition("@")[0] in _SYSTEM_NAMES


def parse_list_units(text: str) -> list[UnitRow]:
    """`systemctl list-units --type=service --output=json` -> rows (bad entries skipped)."""
    try:
        data = json.loads(text or "[]")
    except ValueError:
        return []
    if not isinstance(data, list):
        return []
    rows: list[UnitRow] = []
    for entry in data:
        if not isinstance(entry, dict):
            continue
        unit = str(entry.get("unit", ""))
        if not unit.endswith(".service") or not valid_unit(unit):
            continue
        rows.append(
            UnitRow(
                unit=unit,
                description=str(entry.get("description", "")),
                active=str(entry.get("active", "")),
                sub=str(entry.get("sub", "")),
            )
        )
    return rows


def parse_show_main_pids(text: str) -> dict[str, int]:
    """`systemctl show -p Id -p MainPID u1 u2 ...` (blocks separated by blank lines)
    -> {unit: main pid}; units without a running main process are left out."""
    found: dict[str, int] = {}
    for block in re.split(r"\n\s*\n", text or ""):
        props: dict[str, str] = {}
        for line in block.splitlines():
            name, sep, value = line.partition("=")
            if sep:
                props[name.strip()] = value.strip()
        unit, pid = props.get("Id", ""), props.get("MainPID", "")
        if unit and pid.isdigit() and int(pid) > 0:
            found[unit] = int(pid)
    return found


def parse_ss_listeners(text: str) -> list[Listener]:
    """`ss -tlnpH` -> listening TCP sockets with their processes.

    A line: `LISTEN 0 511 0.0.0.0:80 0.0.0.0:* users:(("nginx",pid=12,fd=6),...)`."""
    listeners: list[Listener] = []
    for line in (text or "").splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        local = next((f for f in fields[1:] if _port_of(f) is not None), None)
        if local is None:
            continue
        port = _port_of(local)
        assert port is not None
        address = local.rpartition(":")[0].strip("[]")
        processes = tuple((m["name"], int(m["pid"])) for m in _SS_USER.finditer(line))
        listeners.append(Listener(port, address, processes))
    return listeners


def _port_of(field: str) -> int | None:
    host, sep, port = field.rpartition(":")
    if not sep or not host or not port.isdigit() or "(" in field:
        return None
    number = int(port)
    return number if 0 < number < 65536 else None


def parse_ps_parents(text: str) -> dict[int, int]:
    """`ps -e -o pid=,ppid=` -> {pid: ppid}; lines that are not two numbers are skipped."""
    parents: dict[int, int] = {}
    for line in (text or "").splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0].isdigit() and fields[1].isdigit():
            parents[int(fields[0])] = int(fields[1])
    return parents


def parse_credentials(text: str) -> tuple[tuple[str, str], ...]:
    """`KEY=VALUE` lines; blank lines and `#` comments skipped, surrounding quotes of the
    value removed, the first of a duplicated key kept."""
    pairs: dict[str, str] = {}
    for raw in (text or "").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or _CRED_KEY.fullmatch(key) is None:
            continue
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        pairs.setdefault(key, value)
    return tuple(pairs.items())


def first_ipv4_from_ip_json(text: str) -> str | None:
    """`ip -j addr` -> the first global IPv4 address of a non-loopback interface."""
    try:
        data = json.loads(text or "[]")
    except ValueError:
        return None
    if not isinstance(data, list):
        return None
    for link in data:
        if not isinstance(link, dict) or link.get("ifname") == "lo":
            continue
        for info in link.get("addr_info") or ():
            if isinstance(info, dict) and info.get("family") == "inet":
                address = usable_ipv4(str(info.get("local", "")))
                if address:
                    return address
    return None


def ipv4_from_interfaces(interfaces: Iterable[LxcInterface]) -> str | None:
    """The first usable IPv4 of Proxmox's `/interfaces` answer, skipping `lo`."""
    for interface in interfaces:
        if interface.name == "lo":
            continue
        for address in interface.addresses:
            found = usable_ipv4(address)
            if found:
                return found
    return None


def usable_ipv4(text: str) -> str | None:
    """`10.0.0.5/24` or `10.0.0.5` -> `10.0.0.5`; loopback, link-local and junk -> None."""
    try:
        address = ipaddress.ip_address(text.split("/", 1)[0].strip())
    except ValueError:
        return None
    if address.version != 4 or address.is_loopback or address.is_link_local:
        return None
    return str(address)


def _owners(
    listeners: Iterable[Listener],
    main_pids: Mapping[str, int],
    parents: Mapping[int, int],
    units: Iterable[str],
) -> dict[str, set[int]]:
    """Ports per unit: a listener belongs to the unit whose main PID is the process or one
    of its ancestors; failing that, to the unit named like the process (`nginx`)."""
    by_pid = {pid: unit for unit, pid in main_pids.items()}
    by_name = {_base(unit): unit for unit in units}
    owned: dict[str, set[int]] = {}
    for listener in listeners:
        owner: str | None = None
        for name, pid in listener.processes:
            owner = _unit_of_pid(pid, by_pid, parents) or by_name.get(name)
            if owner:
                break
        if owner:
            owned.setdefault(owner, set()).add(listener.port)
    return owned


def _unit_of_pid(pid: int, by_pid: Mapping[int, str], parents: Mapping[int, int]) -> str | None:
    seen: set[int] = set()
    while pid > 1 and pid not in seen:
        if pid in by_pid:
            return by_pid[pid]
        seen.add(pid)
        pid = parents.get(pid, 0)
    return None


def service_urls(unit: str, ports: Iterable[int], ip: str | None) -> tuple[str, ...]:
    """http(s) links for the ports that serve the web (known web ports, or any port of a
    web server such as nginx)."""
    if not ip:
        return ()
    web_server = credential_name(unit) in _WEB_SERVERS
    urls: list[str] = []
    for port in sorted(set(ports)):
        if port in _HTTPS_PORTS:
            urls.append(f"https://{ip}" if port == 443 else f"https://{ip}:{port}")
        elif port in _HTTP_PORTS or web_server:
            urls.append(f"http://{ip}" if port == 80 else f"http://{ip}:{port}")
    return tuple(urls)


def assemble_services(
    units: Iterable[UnitRow],
    listeners: Iterable[Listener],
    main_pids: Mapping[str, int],
    parents: Mapping[int, int],
    credentials: Mapping[str, tuple[tuple[str, str], ...]],
    ip: str | None,
) -> tuple[Service, ...]:
    """The page's list: applications first, then system services, each by name; a
    credentials file without a running unit becomes a stopped entry."""
    rows = list(units)
    owned = _owners(list(listeners), main_pids, parents, [r.unit for r in rows])
    services: list[Service] = []
    matched: set[str] = set()
    for row in rows:
        ports = tuple(sorted(owned.get(row.unit, ())))
        name = credential_name(row.unit)
        creds = credentials.get(name, ())
        if creds:
            matched.add(name)
        system = is_system_unit(row.unit)
        services.append(
            Service(
                unit=row.unit,
                description=row.description,
                active=row.active,
                sub=row.sub,
                kind="system" if system else "application",
                ports=ports,
                urls=service_urls(row.unit, ports, ip),
                credentials=creds,
            )
        )
    for name, creds in sorted(credentials.items()):
        if name not in matched:
            services.append(
                Service(f"{name}.service", "", "inactive", "dead", "application", (), (), creds)
            )
    services.sort(key=lambda s: (s.kind != "application", s.unit))
    return tuple(services)


def service_to_dict(service: Service) -> dict[str, Any]:
    return {
        "unit": service.unit,
        "description": service.description,
        "active": service.active,
        "sub": service.sub,
        "kind": service.kind,
        "ports": list(service.ports),
        "urls": list(service.urls),
        "credentials": [list(pair) for pair in service.credentials],
    }


def service_from_dict(data: Mapping[str, Any]) -> Service:
    return Service(
        unit=str(data["unit"]),
        description=str(data["description"]),
        active=str(data["active"]),
        sub=str(data["sub"]),
        kind=str(data["kind"]),
        ports=tuple(int(p) for p in data["ports"]),
        urls=tuple(str(u) for u in data["urls"]),
        credentials=tuple((str(k), str(v)) for k, v in data["credentials"]),
    )
