"""Scripts and services inside a container over SSH: bash -s, packages, streaming output."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from ssh_sim_support import Containers, chunks_of, connect, own_containers, pct_exec, run


@pytest.fixture(scope="module")
def cts(simulator: Any) -> Iterator[Containers]:
    with own_containers(simulator) as containers:
        yield containers


SCRIPT = r"""
set -euo pipefail
log() { local level=$1; shift; echo "[$level] $*"; }
CONF=${CONF:-/etc/demo.conf}
cat > "$CONF" <<'EOF'
name=$literal
port=8080
EOF
port=$(grep '^port=' "$CONF" | cut -d= -f2)
if [[ $port -gt 1024 && -f $CONF ]]; then
  log info "unprivileged port $port"
elif [ "$port" = 80 ]; then
  log warn "privileged"
else
  log error "unexpected"
fi
count=0
for item in alpha beta gamma; do
  count=$((count + 1))
done
while read -r key value; do
  echo "$key -> ${value:-none}"
done <<EOF
one 1
two
EOF
. /etc/os-release
echo "os=$ID lines=$(wc -l < "$CONF") count=$count first=$1"
missing_var_ok=${UNSET_VAR:-fallback}
echo "$missing_var_ok" | tr a-z A-Z 2>/dev/null
false || echo "recovered"
exit 4
"""


async def test_bash_s_runs_a_script_from_stdin(simulator: Any, cts: Containers) -> None:
    result = await run(simulator, pct_exec(cts.running, "bash", "-s", "--", "arg1"), stdin=SCRIPT)
    assert result.stderr == ""
    assert result.exit_status == 4
    assert result.stdout == (
        "[info] unprivileged port 8080\none -> 1\ntwo -> none\n"
        "os=debian lines=2 count=3 first=arg1\nFALLBACK\nrecovered\n"
    )
    conf = await run(simulator, pct_exec(cts.running, "cat", "/etc/demo.conf"))
    assert conf.stdout == "name=$literal\nport=8080\n"


async def test_set_e_script_stops_at_the_failure(simulator: Any, cts: Containers) -> None:
    result = await run(
        simulator,
        pct_exec(cts.running, "bash", "-s"),
        stdin="set -e\necho start\nfalse\necho never\n",
    )
    assert (result.exit_status, result.stdout) == (1, "start\n")


async def test_apt_get_install_nginx_is_visible_everywhere(simulator: Any, cts: Containers) -> None:
    installed = await run(simulator, pct_exec(cts.running, "apt-get", "install", "-y", "nginx"))
    assert installed.exit_status == 0, installed.stderr
    assert "Setting up nginx (1.22.1-9) ..." in installed.stdout
    units = await run(
        simulator,
        pct_exec(cts.running, "systemctl", "list-units", "--type=service", "--output=json"),
    )
    nginx = [u for u in json.loads(units.stdout) if u["unit"] == "nginx.service"]
    assert nginx == [
        {
            "unit": "nginx.service",
            "load": "loaded",
            "active": "active",
            "sub": "running",
            "description": "A high performance web server and a reverse proxy server",
        }
    ]
    sockets = await run(simulator, pct_exec(cts.running, "ss", "-tlnpH"))
    nginx_sockets = [line.split() for line in sockets.stdout.splitlines() if "nginx" in line]
    assert sorted(row[3] for row in nginx_sockets) == ["0.0.0.0:80", "[::]:80"]
    journal = await run(
        simulator, pct_exec(cts.running, "journalctl", "-u", "nginx", "-n", "20", "--no-pager")
    )
    assert journal.stdout.splitlines()[-1].endswith(
        "systemd[1]: Started nginx.service - A high performance web server and a reverse proxy "
        "server."
    )
    addresses = await run(simulator, pct_exec(cts.running, "ip", "-j", "addr"))
    assert [i["ifname"] for i in json.loads(addresses.stdout)] == ["lo", "eth0"]


async def test_output_streams_in_pieces_over_time(simulator: Any, cts: Containers) -> None:
    async with connect(simulator) as conn:
        process = await conn.create_process(
            pct_exec(
                cts.running, "bash", "-c", "for i in 1 2 3 4; do echo tick$i; sleep 0.15; done"
            )
        )
        started = time.monotonic()
        arrivals = await chunks_of(process)
        await process.wait()
    assert "".join(text for _, text in arrivals) == "tick1\ntick2\ntick3\ntick4\n"
    assert len(arrivals) == 4
    assert arrivals[0][0] - started < 0.3
    assert arrivals[-1][0] - arrivals[0][0] >= 0.4


async def test_apt_get_prints_progressively(simulator: Any, cts: Containers) -> None:
    async with connect(simulator) as conn:
        process = await conn.create_process(
            pct_exec(cts.running, "apt-get", "install", "-y", "redis-server")
        )
        arrivals = await chunks_of(process)
        completed = await process.wait()
    assert completed.exit_status == 0
    assert len(arrivals) >= 5
    assert arrivals[-1][0] - arrivals[0][0] >= 0.1


async def test_journalctl_follow_sees_another_sessions_restart(
    simulator: Any, cts: Containers
) -> None:
    async with connect(simulator) as conn:
        follower = await conn.create_process(
            pct_exec(cts.running, "journalctl", "-u", "cron", "-f", "-n", "0")
        )
        await asyncio.sleep(0.2)
        restart = await conn.run(pct_exec(cts.running, "systemctl", "restart", "cron"))
        assert restart.exit_status == 0
        seen = ""
        deadline = time.monotonic() + 5
        while "Started cron.service" not in seen and time.monotonic() < deadline:
            seen += await asyncio.wait_for(follower.stdout.read(4096), 5)
        follower.close()
    assert "Stopping cron.service" in seen
    assert "Started cron.service" in seen


async def test_unknown_command_in_container_shell(simulator: Any, cts: Containers) -> None:
    result = await run(simulator, pct_exec(cts.running, "bash", "-c", "frobnicate --now"))
    assert (result.exit_status, result.stderr) == (
        127,
        "bash: line 1: frobnicate: command not found\n",
    )
    offline = await run(simulator, pct_exec(cts.running, "curl", "-fsSL", "https://example.com"))
    assert offline.exit_status == 6
