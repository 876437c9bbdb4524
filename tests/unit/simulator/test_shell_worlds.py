"""The worlds the cluster model creates: seeding, start/stop, addresses, sockets."""

from __future__ import annotations

import json
import random

from shell_helpers import ALPINE, DEBIAN, NET_STATIC, UBUNTU, container, run

from lxc_manager_simulator.shell.world import ContainerWorld, HostWorld, link_local


def test_seeded_os_release_matches_the_template() -> None:
    debian = container(DEBIAN, running=False)
    ubuntu = container(UBUNTU, running=False)
    alpine = container(ALPINE, running=False)
    assert 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"' in debian.vfs.read_text("/etc/os-release")
    assert "ID=ubuntu" in ubuntu.vfs.read_text("/etc/os-release")
    assert 'VERSION_ID="24.04"' in ubuntu.vfs.read_text("/etc/os-release")
    assert 'PRETTY_NAME="Alpine Linux v3.20"' in alpine.vfs.read_text("/etc/os-release")
    assert debian.vfs.read_text("/etc/hostname") == "web-01\n"


def test_seeding_is_deterministic() -> None:
    first = container(DEBIAN, seed=3)
    second = container(DEBIAN, seed=3)
    other = container(DEBIAN, seed=4, net0="name=eth0,bridge=vmbr0,ip=dhcp")
    assert first.interfaces() == second.interfaces()
    assert first.vfs.read_text("/etc/machine-id") == second.vfs.read_text("/etc/machine-id")
    assert [p.pid for p in first.services.processes()] == [
        p.pid for p in second.services.processes()
    ]
    assert other.interfaces()[1]["hwaddr"].startswith("bc:24:11:")


def test_contract_start_stop_and_interfaces() -> None:
    world = ContainerWorld.seeded(
        hostname="db-01", ostemplate=DEBIAN, rng=random.Random(1), net0=NET_STATIC
    )
    assert world.interfaces() == []
    assert world.services.sockets() == []
    world.on_start()
    assert world.interfaces() == [
        {"name": "lo", "hwaddr": "00:00:00:00:00:00", "inet": "127.0.0.1/8", "inet6": "::1/128"},
        {
            "name": "eth0",
            "hwaddr": "bc:24:11:01:02:03",
            "inet": "10.10.1.5/16",
            "inet6": "fe80::be24:11ff:fe01:203/64",
        },
    ]
    assert {(s.address, s.port) for s in world.services.sockets()} == {
        ("0.0.0.0", 22),
        ("::", 22),
        ("127.0.0.1", 25),
        ("::1", 25),
    }
    world.on_stop()
    assert world.interfaces() == []
    assert world.services.sockets() == []
    assert world.services.processes() == []
    world.on_start()
    assert world.services.is_active("ssh.service")


def test_no_network_device_means_loopback_only() -> None:
    world = container(DEBIAN, net0=None)
    assert [i["name"] for i in world.interfaces()] == ["lo"]


def test_link_local_address() -> None:
    assert link_local("BC:24:11:AA:BB:CC") == "fe80::be24:11ff:feaa:bbcc/64"


async def test_ip_addr_variants(debian: ContainerWorld) -> None:
    address = debian.nets[0].ipv4
    assert address is not None
    result = await run("ip -4 -o addr", debian)
    assert result.out.splitlines() == [
        "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever",
        f"2: eth0    inet {address} brd 192.168.1.255 scope global dynamic eth0\\       "
        "valid_lft 86000sec preferred_lft 86000sec",
    ]
    parsed = json.loads((await run("ip -j addr", debian)).out)
    assert [i["ifname"] for i in parsed] == ["lo", "eth0"]
    eth0 = parsed[1]
    assert eth0["address"] == "bc:24:11:aa:bb:cc"
    assert [(a["family"], a["local"], a["prefixlen"]) for a in eth0["addr_info"]] == [
        ("inet", address.split("/")[0], 24),
        ("inet6", "fe80::be24:11ff:feaa:bbcc", 64),
    ]
    plain = await run("ip addr show eth0", debian)
    assert plain.out.splitlines()[0].startswith("2: eth0@if")
    assert f"    inet {address} brd 192.168.1.255 scope global dynamic eth0" in plain.out
    route = await run("ip route", debian)
    assert route.out.splitlines()[0] == "default via 192.168.1.1 dev eth0 "
    missing = await run("ip addr show eth9", debian)
    assert (missing.status, missing.err) == (1, 'ip: Device "eth9" does not exist.\n')


async def test_ss_listening_sockets(debian: ContainerWorld) -> None:
    result = await run("ss -tlnpH", debian)
    rows = [line.split() for line in result.out.splitlines()]
    assert [row[3] for row in rows] == ["0.0.0.0:22", "127.0.0.1:25", "[::]:22", "[::1]:25"]
    assert rows[0][0] == "LISTEN"
    assert rows[0][5].startswith('users:(("sshd",pid=')
    header = await run("ss -tln", debian)
    assert header.out.splitlines()[0].startswith("State  Recv-Q Send-Q")
    names = await run("ss -tlH", debian)
    assert "0.0.0.0:ssh" in names.out
    nothing = await run("ss -tH", debian)
    assert nothing.out == ""


def test_host_world_has_a_filesystem_and_pct(host: HostWorld) -> None:
    assert host.vfs.is_dir("/tmp")
    assert host.vfs.read_text("/etc/hostname") == "pve1\n"
    assert host.find_command("pct", "/usr/sbin:/usr/bin", "/") == "/usr/sbin/pct"
    assert host.find_command("systemctl", "/usr/sbin:/usr/bin", "/") is None


def test_clock_and_hostname_can_follow_the_model() -> None:
    world = container(DEBIAN, running=False)
    world.clock = lambda: 1_000_000.0
    world.on_start()
    assert {entry.timestamp for entry in world.journal.entries} == {1_000_000.0}
    world.vfs.write_text("/tmp/new", "x")
    assert world.vfs.lookup("/tmp/new").mtime == 1_000_000.0
    world.hostname = "renamed-01"
    assert world.vfs.read_text("/etc/hostname") == "renamed-01\n"
