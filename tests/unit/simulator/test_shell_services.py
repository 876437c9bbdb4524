"""Packages, systemd services and their journal inside a simulated container."""

from __future__ import annotations

import asyncio
import json
import time

from shell_helpers import ALPINE, UBUNTU, container, run

from lxc_manager_simulator.shell import Interpreter
from lxc_manager_simulator.shell.base import IO, Session
from lxc_manager_simulator.shell.streams import BufferWriter, BytesReader, CallbackWriter
from lxc_manager_simulator.shell.world import ContainerWorld


async def test_apt_get_install_nginx_adds_service_port_and_journal(debian: ContainerWorld) -> None:
    result = await run("apt-get update && apt-get install -y nginx", debian)
    assert result.status == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].startswith("Get:1 http://deb.debian.org/debian bookworm InRelease")
    assert "The following additional packages will be installed:" in lines
    assert "  nginx nginx-common" in lines
    assert "Setting up nginx (1.22.1-9) ..." in lines
    assert (
        "Created symlink /etc/systemd/system/multi-user.target.wants/nginx.service \u2192 "
        "/lib/systemd/system/nginx.service."
    ) in lines
    checks = await run(
        "systemctl is-active nginx; systemctl is-enabled nginx; "
        "ss -tlnpH | grep ':80 ' | awk '{print $4}'; journalctl -u nginx -n 5 --no-pager; "
        "dpkg -l nginx | tail -n 1 | awk '{print $1, $2, $3}'; command -v nginx; nginx -v",
        debian,
    )
    out = checks.out.splitlines()
    assert out[:4] == ["active", "enabled", "0.0.0.0:80", "[::]:80"]
    assert out[4].endswith(
        "web-01 systemd[1]: Starting nginx.service - A high performance web "
        "server and a reverse proxy server..."
    )
    assert out[5].endswith(
        "systemd[1]: Started nginx.service - A high performance web server "
        "and a reverse proxy server."
    )
    assert out[6:] == ["ii nginx 1.22.1-9", "/usr/sbin/nginx"]
    assert checks.err == "nginx version: nginx/1.22.1\n"


async def test_apt_get_errors(debian: ContainerWorld) -> None:
    unknown = await run("apt-get install -y no-such-package", debian)
    assert unknown.status == 100
    assert unknown.err == "E: Unable to locate package no-such-package\n"
    invalid = await run("apt-get frobnicate", debian)
    assert (invalid.status, invalid.err) == (100, "E: Invalid operation frobnicate\n")
    again = await run("apt-get install -y cron", debian)
    assert "cron is already the newest version (3.0pl1-162)." in again.out


async def test_apt_get_asks_before_installing_dependencies(debian: ContainerWorld) -> None:
    aborted = await run("apt-get install nginx", debian)
    assert aborted.status == 1
    assert aborted.out.endswith("Do you want to continue? [Y/n] Abort.\n")
    assert "nginx" not in debian.packages
    accepted = await run("apt-get install nginx", debian, stdin=b"y\n")
    assert accepted.status == 0
    assert "nginx" in debian.packages


async def test_apt_lock_is_exclusive(debian: ContainerWorld) -> None:
    session = Session(sleep_scale=1.0)
    first = asyncio.ensure_future(run("apt-get install -y docker.io", debian, session=session))
    await asyncio.sleep(0.02)
    second = await run("apt-get install -y nginx", debian)
    assert second.status == 100
    assert "Could not get lock /var/lib/dpkg/lock-frontend" in second.err
    assert (await first).status == 0
    assert {"docker.io", "containerd", "runc"} <= set(debian.packages)


async def test_apt_get_output_streams_over_time(debian: ContainerWorld) -> None:
    arrivals: list[tuple[float, bytes]] = []

    async def record(data: bytes) -> None:
        arrivals.append((time.monotonic(), data))

    shell = Interpreter(debian, Session(sleep_scale=1.0))
    status = await shell.run(
        "apt-get install -y redis-server",
        IO(BytesReader(b""), CallbackWriter(record), BufferWriter()),
    )
    assert status == 0
    assert len(arrivals) > 10
    assert arrivals[-1][0] - arrivals[0][0] >= 0.1


async def test_apt_remove_stops_the_service(debian: ContainerWorld) -> None:
    await run("apt-get install -y redis-server", debian)
    result = await run(
        "redis-cli ping; apt-get remove -y redis-server; systemctl is-active "
        "redis-server; ss -tlnH | grep -c 6379",
        debian,
    )
    assert result.out.splitlines()[0] == "PONG"
    assert "Removing redis-server (5:7.0.15-1~deb12u1) ..." in result.out
    assert result.out.endswith("inactive\n0\n")


async def test_dpkg_queries(debian: ContainerWorld) -> None:
    result = await run(
        "dpkg -s openssh-server | head -n 2; dpkg -s nginx; echo $?; "
        "dpkg-query -W -f='${Status}' cron; echo; dpkg -l 'no*'; echo $?",
        debian,
    )
    assert result.out == (
        "Package: openssh-server\nStatus: install ok installed\n1\ninstall ok installed\n1\n"
    )
    assert "dpkg-query: package 'nginx' is not installed" in result.err
    assert "dpkg-query: no packages found matching no*" in result.err


async def test_dpkg_list_format(debian: ContainerWorld) -> None:
    result = await run("dpkg -l", debian)
    lines = result.out.splitlines()
    assert lines[0] == "Desired=Unknown/Install/Remove/Purge/Hold"
    assert lines[3].startswith("||/ Name")
    assert lines[4].startswith("+++-")
    assert any(line.startswith("ii  openssh-server ") for line in lines)


async def test_systemctl_lifecycle(debian: ContainerWorld) -> None:
    await run("apt-get install -y nginx", debian)
    result = await run(
        "systemctl stop nginx; systemctl is-active nginx; echo $?; ss -tlnH | grep -c ':80 '; "
        "systemctl disable nginx; systemctl is-enabled nginx; echo $?; "
        "systemctl enable --now nginx; systemctl is-active nginx; systemctl restart nginx; "
        "systemctl is-active --quiet nginx && echo quiet-active",
        debian,
    )
    assert result.out == "inactive\n3\n0\ndisabled\n1\nactive\nquiet-active\n"
    assert 'Removed "/etc/systemd/system/multi-user.target.wants/nginx.service".' in result.err


async def test_systemctl_unknown_units(debian: ContainerWorld) -> None:
    result = await run(
        "systemctl start nope; echo $?; systemctl status nope; echo $?; "
        "systemctl is-active nope; echo $?; systemctl is-enabled nope; echo $?; "
        "systemctl frob; echo $?",
        debian,
    )
    assert result.out == "5\n4\ninactive\n3\n1\n1\n"
    assert result.err == (
        "systemctl: Failed to start nope.service: Unit nope.service not found.\n"
        "Unit nope.service could not be found.\n"
        "Failed to get unit file state for nope.service: No such file or directory\n"
        "systemctl: Unknown command verb 'frob'.\n"
    )


async def test_systemctl_status_and_show(debian: ContainerWorld) -> None:
    result = await run("systemctl status ssh", debian)
    lines = result.out.splitlines()
    assert result.status == 0
    assert lines[0] == "\u25cf ssh.service - OpenBSD Secure Shell server"
    assert lines[1] == (
        "     Loaded: loaded (/lib/systemd/system/ssh.service; enabled; preset: enabled)"
    )
    assert lines[2].startswith("     Active: active (running) since ")
    assert any(line.startswith("   Main PID: ") and line.endswith("(sshd)") for line in lines)
    shown = await run(
        "systemctl show ssh -p ActiveState,SubState,UnitFileState; "
        "systemctl show cron --property=MainPID --value",
        debian,
    )
    out = shown.out.splitlines()
    assert out[:3] == ["ActiveState=active", "SubState=running", "UnitFileState=enabled"]
    assert int(out[3]) > 1


async def test_systemctl_list_units_json(debian: ContainerWorld) -> None:
    result = await run("systemctl list-units --type=service --all --output=json --no-pager", debian)
    units = {u["unit"]: u for u in json.loads(result.out)}
    assert units["ssh.service"] == {
        "unit": "ssh.service",
        "load": "loaded",
        "active": "active",
        "sub": "running",
        "description": "OpenBSD Secure Shell server",
    }
    assert units["networking.service"]["sub"] == "exited"
    table = await run("systemctl list-units --type=service --no-legend --plain", debian)
    assert any(
        line.split()[:4] == ["cron.service", "loaded", "active", "running"]
        for line in table.out.splitlines()
    )


async def test_port_conflict_makes_the_second_web_server_fail(debian: ContainerWorld) -> None:
    await run("apt-get install -y nginx", debian)
    result = await run(
        "apt-get install -y apache2 >/dev/null; systemctl is-active apache2; "
        "systemctl restart apache2; echo $?; journalctl -u apache2 -p err "
        "--no-pager | tail -n 1",
        debian,
    )
    lines = result.out.splitlines()
    assert lines[:2] == ["failed", "1"]
    assert lines[2].endswith("Failed to start apache2.service - The Apache HTTP Server.")
    assert 'See "systemctl status apache2.service"' in result.err


async def test_user_unit_files_become_services(debian: ContainerWorld) -> None:
    unit = (
        "[Unit]\nDescription=My App\n[Service]\nEnvironment=PORT=3000\n"
        "ExecStart=/usr/bin/node /opt/app/server.js\n[Install]\n"
        "WantedBy=multi-user.target\n"
    )
    debian.vfs.write_text("/etc/systemd/system/myapp.service", unit)
    result = await run(
        "systemctl daemon-reload; systemctl enable --now myapp; "
        "systemctl is-active myapp; ss -tlnpH | grep -c ':3000 '; "
        "systemctl list-units --output=json | grep -o '\"My App\"'",
        debian,
    )
    assert result.out == 'active\n1\n"My App"\n'


async def test_journalctl_options(debian: ContainerWorld) -> None:
    result = await run(
        "journalctl -u cron -n 1 --no-pager -o cat; journalctl -u nope; "
        'journalctl -u ssh -o json -n 1 | grep -c \'"UNIT":"ssh.service"\'; '
        "journalctl --bogus; echo $?",
        debian,
    )
    assert result.out == (
        "Started cron.service - Regular background program processing "
        "daemon.\n-- No entries --\n1\n1\n"
    )


async def test_journalctl_follow_streams_new_entries(debian: ContainerWorld) -> None:
    received: list[str] = []
    arrived = asyncio.Event()

    async def record(data: bytes) -> None:
        received.append(data.decode())
        if "Stopped cron.service" in data.decode():
            arrived.set()

    shell = Interpreter(debian, Session(sleep_scale=0))
    task = asyncio.ensure_future(
        shell.run(
            "journalctl -u cron -f -n 1",
            IO(BytesReader(b""), CallbackWriter(record), BufferWriter()),
        )
    )
    await asyncio.sleep(0.01)
    assert len(received) == 1
    await run("systemctl stop cron", debian)
    await asyncio.wait_for(arrived.wait(), 2)
    assert not task.done()
    task.cancel()
    assert any("Stopping cron.service" in r for r in received)


async def test_npm_and_pip(debian: ContainerWorld) -> None:
    missing = await run("npm install -g pm2", debian)
    assert missing.status == 127
    result = await run(
        "apt-get install -y npm python3-pip python3-venv >/dev/null; npm install -g pm2; "
        "pm2 --version; npm ls -g | grep -c pm2@; pip install requests; echo pip=$?; "
        "pip install --break-system-packages flask==3.0.0 | tail -n 1; "
        "python3 -m venv /opt/venv && /opt/venv/bin/pip install httpx | tail -n 1; "
        "/opt/venv/bin/pip list",
        debian,
    )
    lines = result.out.splitlines()
    assert "added 1 package in 2s" in lines
    assert "5.4.2" in lines
    assert "pip=1" in lines
    assert "Successfully installed flask-3.0.0" in lines
    assert "Successfully installed httpx-0.27.2" in lines
    assert lines[-1] == "httpx 0.27.2"
    assert "error: externally-managed-environment" in result.err


async def test_ubuntu_world(ubuntu: ContainerWorld) -> None:
    result = await run(
        "grep VERSION_CODENAME /etc/os-release; apt-get update | head -n 1; "
        "apt-get install -y nginx | grep 'Setting up nginx '; "
        "systemctl is-active systemd-resolved",
        ubuntu,
    )
    assert result.out == (
        "VERSION_CODENAME=noble\n"
        "Get:1 http://archive.ubuntu.com/ubuntu noble InRelease [55.1 kB]\n"
        "Setting up nginx (1.24.0-2ubuntu7.1) ...\nactive\n"
    )


async def test_alpine_uses_apk_and_openrc(alpine: ContainerWorld) -> None:
    result = await run(
        "cat /etc/alpine-release; apt-get install nginx; echo $?; "
        "bash -c true; echo $?; apk add nginx bash; rc-service nginx status; "
        "rc-service nginx start; rc-update add nginx; rc-status | grep nginx; "
        "bash -c 'echo from bash'; systemctl status; echo $?",
        alpine,
        name="sh",
    )
    lines = result.out.splitlines()
    assert lines[:3] == ["3.20.3", "127", "127"]
    assert "(1/2) Installing nginx (1.26.2-r0)" in lines
    assert " * status: stopped" in lines
    assert " * service nginx added to runlevel default" in lines
    assert any(line.startswith(" nginx") and "started" in line for line in lines)
    assert lines[-2:] == ["from bash", "127"]
    assert "sh: 1: apt-get: not found" in result.err
    assert " * Starting nginx ..." in result.err
    unknown = await run("apk add no-such-pkg", alpine)
    assert unknown.status == 1
    assert "no-such-pkg (no such package)" in unknown.err


async def test_alpine_services_do_not_start_on_install(alpine: ContainerWorld) -> None:
    await run("apk add redis", alpine)
    assert not alpine.services.is_active("redis-server.service")
    alpine.on_stop()
    await run("rc-update add redis-server", alpine)
    alpine.on_start()
    assert alpine.services.is_active("redis-server.service")


def test_other_templates_fall_back_sensibly() -> None:
    ubuntu = container(UBUNTU, running=False)
    alpine = container(ALPINE, running=False)
    assert ubuntu.os.codename == "noble"
    assert alpine.os.family == "alpine"
    assert not alpine.os.uses_systemd
