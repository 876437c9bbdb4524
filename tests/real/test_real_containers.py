"""A container of the simulator is a real LXC container: `pct` over the simulator's SSH
runs in it as on Proxmox, lifecycle tasks act on it, its numbers come from LXC, and it is
isolated from the test machine's network."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import asyncssh
import httpx
import pytest

from lxc_manager_simulator.real.backend import leftovers
from tests.support.simulator import SimulatorInfo, start_simulator

VMIDS = iter(range(98100, 98200))


@pytest.fixture
def real_ct(simulator: SimulatorInfo) -> Iterator[Callable[..., int]]:
    """`real_ct(**params) -> vmid`: a started real container, destroyed afterwards."""
    made: list[int] = []

    def make(**params: object) -> int:
        vmid = next(VMIDS)
        with simulator.client(simulator.root_token_id, simulator.root_token_secret) as api:
            upid = api.post("/nodes/pve1/lxc", data=_create_params(vmid, params)).json()["data"]
            status = simulator.wait_task(api, upid, timeout=120)  # a real create and start
        assert status["exitstatus"] == "OK", status
        made.append(vmid)
        return vmid

    yield make
    with simulator.client(simulator.root_token_id, simulator.root_token_secret) as api:
        for vmid in made:
            response = api.post(f"/nodes/pve1/lxc/{vmid}/status/stop")
            if response.status_code == 200:
                simulator.wait_task(api, response.json()["data"], timeout=60)
            response = api.delete(f"/nodes/pve1/lxc/{vmid}")
            if response.status_code == 200:
                simulator.wait_task(api, response.json()["data"], timeout=60)


def _create_params(vmid: int, params: dict[str, object]) -> dict[str, object]:
    return {
        "vmid": vmid,
        "ostemplate": "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
        "rootfs": "local-lvm:4",
        "hostname": f"test-{vmid}",
        "unprivileged": 1,
        "net0": "name=eth0,bridge=vmbr0,ip=dhcp",
        "start": 1,
        **params,
    }


async def ssh(
    simulator: SimulatorInfo, command: str, stdin: str | None = None
) -> asyncssh.SSHCompletedProcess:
    assert simulator.ssh_host and simulator.ssh_port
    async with asyncssh.connect(
        simulator.ssh_host,
        simulator.ssh_port,
        username="root",
        password=simulator.root_password,
        known_hosts=None,
    ) as conn:
        return await conn.run(command, input=stdin, timeout=120)


async def test_pct_exec_runs_in_the_real_container_as_proxmox_runs_it(
    simulator: SimulatorInfo, real_ct: Callable[..., int]
) -> None:
    vmid = real_ct(hostname="real-exec")
    done = await ssh(simulator, f"pct exec {vmid} -- cat /proc/1/comm")
    assert (done.exit_status, done.stdout) == (0, "systemd\n"), done.stderr
    done = await ssh(simulator, f"pct exec {vmid} -- hostname")
    assert done.stdout == "real-exec\n"
    # lxc-attach's cleared environment with Proxmox's PATH (pve-container src/PVE/CLI/pct.pm)
    done = await ssh(simulator, f"pct exec {vmid} -- env")
    env = dict(line.split("=", 1) for line in done.stdout.splitlines())
    assert env["PATH"] == "/sbin:/bin:/usr/sbin:/usr/bin" and env["container"] == "lxc"
    # a real bash: arrays, case, getent, /dev/urandom
    script = (
        'a=(x y z); case "${a[1]}" in y) echo case-ok;; esac; getent passwd root | cut -d: -f1;'
        " head -c 16 /dev/urandom | wc -c"
    )
    done = await ssh(simulator, f"pct exec {vmid} -- bash -c '{script}'")
    assert done.stdout.split() == ["case-ok", "root", "16"], done.stderr
    done = await ssh(simulator, f"pct exec {vmid} -- sh -c 'echo out; echo err >&2; exit 7'")
    assert (done.exit_status, done.stdout, done.stderr) == (7, "out\n", "err\n")
    done = await ssh(simulator, f"pct exec {vmid} -- cat", stdin="from stdin\n")
    assert done.stdout == "from stdin\n"
    done = await ssh(simulator, f"pct enter {vmid}", stdin="cat /proc/1/comm\nexit 5\n")
    assert (done.exit_status, done.stdout) == (5, "systemd\n"), done.stderr


async def test_pct_push_and_pull_with_owner_and_mode(
    simulator: SimulatorInfo, real_ct: Callable[..., int]
) -> None:
    vmid = real_ct()
    command = (
        "printf 'secret=1\\n' > /root/app.conf && "
        f"pct push {vmid} /root/app.conf /etc/app.conf --perms 0640 --user root --group daemon && "
        f"pct exec {vmid} -- stat -c '%a %U %G %s' /etc/app.conf && "
        f"pct pull {vmid} /etc/app.conf /root/back.conf && cat /root/back.conf"
    )
    done = await ssh(simulator, command)
    assert done.exit_status == 0, done.stderr
    assert done.stdout == "640 root daemon 9\nsecret=1\n"
    # As on Proxmox, a failed copy is printed and pct push still exits 0.
    done = await ssh(simulator, f"pct push {vmid} /root/app.conf /missing/dir/app.conf")
    assert (done.exit_status, done.stderr) == (
        0,
        "failed to create file: /missing/dir/app.conf: No such file or directory\n",
    )


async def test_lifecycle_and_numbers_follow_the_real_container(
    simulator: SimulatorInfo, real_ct: Callable[..., int]
) -> None:
    vmid = real_ct()
    with simulator.client(simulator.root_token_id, simulator.root_token_secret) as api:
        interfaces = api.get(f"/nodes/pve1/lxc/{vmid}/interfaces").json()["data"]
    eth0 = next(i for i in interfaces if i["name"] == "eth0")
    done = await ssh(simulator, f"pct exec {vmid} -- ip -4 -o addr show eth0")
    assert eth0["inet"].split("/")[0] in done.stdout  # /interfaces reports the real address
    await asyncio.sleep(2.5)  # the backend reads memory and uptime from LXC every 2 s
    with simulator.client(simulator.root_token_id, simulator.root_token_secret) as api:
        current = api.get(f"/nodes/pve1/lxc/{vmid}/status/current").json()["data"]
    assert current["status"] == "running" and current["mem"] > 1024 * 1024, current
    usage = await ssh(
        simulator, f"pct exec {vmid} -- cat /sys/fs/cgroup/memory/memory.usage_in_bytes"
    )
    inside = int(usage.stdout)  # what LXC reads too: the container's memory cgroup
    assert inside / 2 < current["mem"] < inside * 2, (current["mem"], inside)
    with simulator.client(simulator.root_token_id, simulator.root_token_secret) as api:
        upid = api.post(f"/nodes/pve1/lxc/{vmid}/status/stop").json()["data"]
        assert simulator.wait_task(api, upid, timeout=60)["exitstatus"] == "OK"
    done = await ssh(simulator, f"pct exec {vmid} -- true")
    assert done.exit_status == 255 and f"container '{vmid}' not running!" in done.stderr
    assert not _lxc_running(vmid)
    with simulator.client(simulator.root_token_id, simulator.root_token_secret) as api:
        upid = api.post(f"/nodes/pve1/lxc/{vmid}/status/start").json()["data"]
        assert simulator.wait_task(api, upid, timeout=60)["exitstatus"] == "OK"
    done = await ssh(simulator, f"pct exec {vmid} -- systemctl is-system-running --wait")
    assert done.stdout.strip() in ("running", "degraded"), done.stdout


def _lxc_running(vmid: int) -> bool:
    names = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return any(f"-{vmid}" in line and "lxc monitor" in line for line in names.splitlines())


async def test_the_container_cannot_touch_the_test_machine(
    simulator: SimulatorInfo, real_ct: Callable[..., int]
) -> None:
    vmid = real_ct()
    host_forwarding = Path("/proc/sys/net/ipv4/ip_forward").read_text()
    host_links = _host_links()
    done = await ssh(
        simulator,
        f"pct exec {vmid} -- sh -c 'sysctl -w net.ipv4.ip_forward={1 - int(host_forwarding)};"
        " ip link add dummy9 type dummy; ip route'",
    )
    assert "default via 10.213.0.1" in done.stdout
    assert Path("/proc/sys/net/ipv4/ip_forward").read_text() == host_forwarding
    assert _host_links() == host_links
    # The only way out is the proxy, to the package registries.
    fetch = "curl -s -o /dev/null --max-time 20 -w"
    done = await ssh(
        simulator,
        f"pct exec {vmid} -- sh -c '. /etc/environment; export https_proxy;"
        f" {fetch} %{{http_code}} https://pypi.org/simple/pip/; echo;"
        f" {fetch} %{{http_connect}} https://example.com/'",
    )
    # pypi answers through the proxy; the proxy refuses anything else (403 to CONNECT)
    assert done.stdout.split() == ["200", "403"], done.stdout + done.stderr
    done = await ssh(
        simulator, f"pct exec {vmid} -- curl -s --noproxy '*' --max-time 5 http://192.0.2.1/"
    )
    assert done.exit_status != 0  # no route out of the run's namespace


def _host_links() -> list[str]:
    out = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    return sorted(line.split(":")[1].strip() for line in out.splitlines())


def test_crashed_run_leaves_nothing_after_cleanup() -> None:
    """Kill a real-backend simulator outright, then `cleanup` removes what it left."""
    before = set(leftovers())
    sim = start_simulator(
        ["--port", "0", "--ssh-port", "0", "--admin-port", "0", "--nodes", "1",
         "--containers", "0", "--vms", "0", "--task-seconds", "0.1",
         "--user", "root@pam:crash", "--containers-backend", "real"],
        timeout=120,
    )  # fmt: skip
    try:
        with httpx.Client(base_url=sim.ready["api"] + "/api2/json", verify=False) as api:
            ticket = api.post(
                "/access/ticket", data={"username": "root@pam", "password": "crash"}
            ).json()["data"]
            api.cookies.set("PVEAuthCookie", ticket["ticket"])
            api.headers["CSRFPreventionToken"] = ticket["CSRFPreventionToken"]
            response = api.post(
                "/nodes/pve1/lxc",
                data={
                    "vmid": "150",
                    "ostemplate": "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
                    "rootfs": "local-lvm:4",
                    "start": "1",
                },
            )
            assert response.status_code == 200, response.text
        deadline = time.monotonic() + 60
        while not any("150" in line for line in set(leftovers()) - before):
            assert time.monotonic() < deadline
            time.sleep(0.5)
        left_running = set(leftovers()) - before
        time.sleep(3)
    finally:
        sim.process.kill()
        sim.process.wait(10)
    left = set(leftovers()) - before
    assert left and left_running, "the crashed run should have left its container behind"
    run_ids = {item.split("lxcm-", 1)[1] for item in left if item.startswith("netns lxcm-")}
    assert len(run_ids) == 1
    done = subprocess.run(
        [sys.executable, "-m", "lxc_manager_simulator.real", "cleanup", run_ids.pop()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert set(leftovers()) - before == set()
