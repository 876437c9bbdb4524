"""Parsing what commands in a container print (detail page services, IP, credentials)."""

from __future__ import annotations

import json

import pytest

from lxc_manager.containers.detail import snapshot_name_error
from lxc_manager.containers.detail_parsing import (
    Listener,
    UnitRow,
    assemble_services,
    credential_name,
    first_ipv4_from_ip_json,
    is_system_unit,
    parse_credentials,
    parse_list_units,
    parse_ps_parents,
    parse_show_main_pids,
    parse_ss_listeners,
    service_from_dict,
    service_to_dict,
    service_urls,
    valid_unit,
)

# systemd 252 (Debian 12): `systemctl list-units --type=service --state=running --output=json`
LIST_UNITS = json.dumps(
    [
        {"unit": "cron.service", "load": "loaded", "active": "active", "sub": "running",
         "description": "Regular background program processing daemon"},
        {"unit": "dbus.service", "load": "loaded", "active": "active", "sub": "running",
         "description": "D-Bus System Message Bus"},
        {"unit": "console-getty.service", "load": "loaded", "active": "active",
         "sub": "running", "description": "Console Getty"},
        {"unit": "myapp.service", "load": "loaded", "active": "active", "sub": "running",
         "description": "My Node app"},
        {"unit": "nginx.service", "load": "loaded", "active": "active", "sub": "running",
         "description": "A high performance web server and a reverse proxy server"},
        {"unit": "postgresql@15-main.service", "load": "loaded", "active": "active",
         "sub": "running", "description": "PostgreSQL Cluster 15-main"},
        {"unit": "ssh.service", "load": "loaded", "active": "active", "sub": "running",
         "description": "OpenBSD Secure Shell server"},
        {"unit": "systemd-journald.service", "load": "loaded", "active": "active",
         "sub": "running", "description": "Journal Service"},
        {"unit": "systemd-networkd.service", "load": "loaded", "active": "active",
         "sub": "running", "description": "Network Configuration"},
        {"unit": "bad unit;rm.service", "load": "loaded", "active": "active", "sub": "running",
         "description": "junk"},
        {"unit": "user@0.service", "load": "loaded", "active": "active", "sub": "running",
         "description": "User Manager for UID 0"},
    ]
)  # fmt: skip

SS = """\
LISTEN 0      511          0.0.0.0:80        0.0.0.0:*    users:(("nginx",pid=1236,fd=6),("nginx",pid=1235,fd=6),("nginx",pid=1234,fd=6))
LISTEN 0      4096   127.0.0.53%lo:53        0.0.0.0:*    users:(("systemd-resolve",pid=300,fd=14))
LISTEN 0      128          0.0.0.0:22        0.0.0.0:*    users:(("sshd",pid=400,fd=3))
LISTEN 0      200        127.0.0.1:5432      0.0.0.0:*    users:(("postgres",pid=700,fd=6))
LISTEN 0      511                *:3000            *:*    users:(("node",pid=901,fd=20))
LISTEN 0      511             [::]:80           [::]:*    users:(("nginx",pid=1236,fd=7),("nginx",pid=1234,fd=7))
LISTEN 0      128             [::]:22           [::]:*    users:(("sshd",pid=400,fd=4))
LISTEN 0      4096               *:9100            *:*
"""

SHOW = """\
Id=cron.service
MainPID=120

Id=myapp.service
MainPID=900

Id=nginx.service
MainPID=1234

Id=postgresql@15-main.service
MainPID=0

Id=ssh.service
MainPID=400
"""

PS = """\
      1       0
    120       1
    400       1
    700       1
    900       1
    901     900
   1234       1
   1235    1234
   1236    1234
"""

IP_J = json.dumps(
    [
        {"ifindex": 1, "ifname": "lo", "flags": ["LOOPBACK", "UP"], "addr_info": [
            {"family": "inet", "local": "127.0.0.1", "prefixlen": 8, "scope": "host"},
            {"family": "inet6", "local": "::1", "prefixlen": 128, "scope": "host"}]},
        {"ifindex": 2, "ifname": "eth0", "link_index": 9, "flags": ["UP"], "addr_info": [
            {"family": "inet6", "local": "fe80::1", "prefixlen": 64, "scope": "link"},
            {"family": "inet", "local": "192.168.50.23", "prefixlen": 24, "scope": "global",
             "dynamic": True}]},
    ]
)  # fmt: skip


def test_list_units_keeps_valid_service_rows() -> None:
    rows = parse_list_units(LIST_UNITS)
    units = [r.unit for r in rows]
    assert "bad unit;rm.service" not in units
    assert rows[3] == UnitRow("myapp.service", "My Node app", "active", "running")
    assert len(rows) == 10
    assert parse_list_units("") == [] and parse_list_units("not json") == []
    assert parse_list_units('{"unit": "x"}') == []


def test_ss_listeners_with_processes() -> None:
    listeners = parse_ss_listeners(SS)
    assert [entry.port for entry in listeners] == [80, 53, 22, 5432, 3000, 80, 22, 9100]
    assert listeners[0] == Listener(
        80, "0.0.0.0", (("nginx", 1236), ("nginx", 1235), ("nginx", 1234))
    )
    assert listeners[1].address == "127.0.0.53%lo"
    assert listeners[5].address == "::"
    assert listeners[7].processes == ()
    assert parse_ss_listeners("garbage\n\n") == []


def test_show_and_ps() -> None:
    assert parse_show_main_pids(SHOW) == {
        "cron.service": 120,
        "myapp.service": 900,
        "nginx.service": 1234,
        "ssh.service": 400,
    }
    parents = parse_ps_parents(PS)
    assert parents[901] == 900 and parents[1235] == 1234
    # the simulator's / busybox's header lines are skipped
    assert parse_ps_parents("UID PID PPID C\nroot 12 1 0 x\n") == {}


def test_credentials_file() -> None:
    text = (
        "# created by the template\n"
        "ADMIN_USER=admin\n"
        'ADMIN_PASSWORD="p=ss word#1"\n'
        "export API_TOKEN='tok'\n"
        "\n"
        "no equals sign\n"
        "bad key=1\n"
        "ADMIN_USER=second\n"
        "EMPTY=\n"
    )
    assert parse_credentials(text) == (
        ("ADMIN_USER", "admin"),
        ("ADMIN_PASSWORD", "p=ss word#1"),
        ("API_TOKEN", "tok"),
        ("EMPTY", ""),
    )
    assert parse_credentials("") == ()


def test_ip_json() -> None:
    assert first_ipv4_from_ip_json(IP_J) == "192.168.50.23"
    assert first_ipv4_from_ip_json(json.dumps([json.loads(IP_J)[0]])) is None
    assert first_ipv4_from_ip_json("oops") is None


def test_units_and_kinds() -> None:
    for unit in ("nginx", "nginx.service", "getty@tty1.service", "postgresql@15-main.service"):
        assert valid_unit(unit), unit
    for unit in ("", "-f", "a b", "x;y", "nginx.socket.service/..", "../etc", "a\nb"):
        assert not valid_unit(unit), unit
    assert credential_name("postgresql@15-main.service") == "postgresql"
    assert credential_name("nginx") == "nginx"
    for unit in ("cron.service", "ssh.service", "dbus.service", "systemd-journald.service",
                 "console-getty.service", "getty@tty1.service", "user@0.service",
                 "rsyslog.service", "systemd-networkd.service"):  # fmt: skip
        assert is_system_unit(unit), unit
    for unit in ("nginx.service", "myapp.service", "postgresql@15-main.service"):
        assert not is_system_unit(unit), unit


def test_urls() -> None:
    assert service_urls("nginx.service", [443, 80, 8081], "10.0.0.5") == (
        "http://10.0.0.5",
        "https://10.0.0.5",
        "http://10.0.0.5:8081",
    )
    assert service_urls("myapp.service", [3000, 5432], "10.0.0.5") == ("http://10.0.0.5:3000",)
    assert service_urls("nginx.service", [8123], "10.0.0.5") == ("http://10.0.0.5:8123",)
    assert service_urls("postgresql.service", [5432], "10.0.0.5") == ()
    assert service_urls("nginx.service", [80], None) == ()


def test_assemble_services() -> None:
    services = assemble_services(
        parse_list_units(LIST_UNITS),
        parse_ss_listeners(SS),
        parse_show_main_pids(SHOW),
        parse_ps_parents(PS),
        {
            "nginx": (("ADMIN_USER", "admin"),),
            "postgresql": (("DB_PASSWORD", "pw"),),
            "grafana": (("TOKEN", "t"),),
        },
        "10.0.0.5",
    )
    by_unit = {s.unit: s for s in services}
    nginx = by_unit["nginx.service"]
    assert (nginx.kind, nginx.ports, nginx.urls) == ("application", (80,), ("http://10.0.0.5",))
    assert nginx.credentials == (("ADMIN_USER", "admin"),)
    myapp = by_unit["myapp.service"]  # the port is its child's (pid 901, parent 900)
    assert (myapp.ports, myapp.urls) == ((3000,), ("http://10.0.0.5:3000",))
    postgres = by_unit["postgresql@15-main.service"]  # no MainPID: none of its ports known
    assert postgres.ports == () and postgres.credentials == (("DB_PASSWORD", "pw"),)
    ssh = by_unit["ssh.service"]
    assert (ssh.kind, ssh.ports, ssh.urls) == ("system", (22,), ())
    grafana = by_unit["grafana.service"]
    assert (grafana.active, grafana.sub, grafana.kind) == ("inactive", "dead", "application")
    kinds = [s.kind for s in services]
    assert kinds == sorted(kinds)  # applications first
    assert all(service_from_dict(service_to_dict(s)) == s for s in services)


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("before_upgrade", True),
        ("Snap1", True),
        ("ab", True),
        ("a", False),
        ("1snap", False),
        ("with-dash", False),
        ("with space", False),
        ("current", False),
        ("x" * 40, True),
        ("x" * 41, False),
    ],
)
def test_snapshot_names(name: str, ok: bool) -> None:
    assert (snapshot_name_error(name) is None) is ok
