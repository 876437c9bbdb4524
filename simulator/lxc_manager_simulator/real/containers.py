"""Real LXC containers behind the simulator's `pct`: the same technology Proxmox drives.

Each container is `lxcm-<run>-<vmid>` under the run's own LXC path, its root filesystem
an overlay of the cached rootfs (read-only lower layer, per-container upper layer), its
network a veth on the run's bridge (see `network.py`; `lxc-start` runs inside the run's
namespace). Proxmox writes a container's config from `pct` options and starts it with
`lxc-start`, enters it with `lxc-attach` (pve-container src/PVE/LXC.pm, src/PVE/CLI/pct.pm);
this module does the same with the options the simulator models.

Unprivileged containers (Proxmox's default) get Proxmox's id map, `u/g 0 100000 65536`
(pve-container src/PVE/LXC.pm `parse_id_maps`), on a copy of the cached rootfs whose owners
are shifted by 100000, as Proxmox stores unprivileged root filesystems (LXC's idmapped
rootfs mounts do not work on overlayfs).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .network import BRIDGE, GATEWAY, SUBNET, RunNetwork
from .rootfs import CachedRootfs, shift_owners, shifted

log = logging.getLogger(__name__)

# lxc-attach's PATH when the environment is cleared (lxc/lxc src/lxc/attach.c).
ATTACH_PATH = "/sbin:/bin:/usr/sbin:/usr/bin"
ID_MAP = ("0", "100000", "65536")
PROXY_VARIABLES = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY")
HOST_LOCAL_CAS = Path("/usr/local/share/ca-certificates")


class ContainerError(RuntimeError):
    """An LXC operation failed (the message is lxc's own)."""


@dataclass
class RealContainer:
    vmid: int
    name: str
    hostname: str
    address: str  # "10.213.0.10/24"
    unprivileged: bool


def base_dir() -> Path:
    """Where runs keep their LXC paths (`LXCM_LXC_PATH`, default /var/lib/lxcm)."""
    return Path(os.environ.get("LXCM_LXC_PATH", "/var/lib/lxcm"))


async def _run(
    *argv: str,
    seconds: float = 120,
    stdin: bytes | None = None,
    check: bool = True,
) -> str:
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(stdin), seconds)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        raise ContainerError(f"{argv[0]} timed out after {seconds:.0f} s") from None
    if check and proc.returncode != 0:
        text = (err or out).decode(errors="replace").strip()
        raise ContainerError(text or f"{argv[0]} exited {proc.returncode}")
    return out.decode(errors="replace")


class RealContainers:
    """The real containers of one simulator run."""

    def __init__(self, run_id: str, network: RunNetwork, cached: CachedRootfs) -> None:
        self.run_id = run_id
        self.network = network
        self.cached = cached
        self.lxcpath = base_dir() / run_id
        self.containers: dict[int, RealContainer] = {}

    def rootfs_of(self, ct: RealContainer) -> Path:
        """The lower layer: the cache itself, or its id-shifted copy for unprivileged."""
        return shifted(self.cached, int(ID_MAP[1])) if ct.unprivileged else self.cached.path

    def _in_netns(self) -> list[str]:
        """LXC's monitor listens on an abstract unix socket, which belongs to the network
        namespace `lxc-start` ran in: every lxc-* command must run there too."""
        return ["nsenter", f"--net=/run/netns/{self.network.netns}"]

    def name(self, vmid: int) -> str:
        return f"lxcm-{self.run_id}-{vmid}"

    # -- lifecycle -------------------------------------------------------------------------

    async def create(
        self, vmid: int, hostname: str, *, unprivileged: bool, address: str | None = None
    ) -> RealContainer:
        """Write the container's config and upper layer (`address`: "10.213.0.N/24",
        default the next free one)."""
        name = self.name(vmid)
        address = address or f"{self.network.allocate_address()}/{SUBNET.prefixlen}"
        ct = RealContainer(vmid, name, hostname, address, unprivileged)
        await asyncio.to_thread(self._write, ct)
        self.containers[vmid] = ct
        return ct

    def _write(self, ct: RealContainer) -> None:
        directory = self.lxcpath / ct.name
        upper, work, merged = directory / "delta", directory / "work", directory / "rootfs"
        for path in (upper, work, merged):
            path.mkdir(parents=True, exist_ok=True)
        self._seed_upper(ct, upper)
        if ct.unprivileged:
            shift_owners(directory, int(ID_MAP[1]))
        lines = [
            "lxc.include = /usr/share/lxc/config/common.conf",
            "lxc.arch = linux64",
            f"lxc.uts.name = {ct.hostname}",
            f"lxc.rootfs.path = dir:{merged}",
            "lxc.apparmor.profile = unconfined",
            "lxc.net.0.type = veth",
            f"lxc.net.0.veth.pair = {_veth(ct.vmid)}",
            "lxc.net.0.flags = up",
            "lxc.net.0.name = eth0",
            f"lxc.net.0.ipv4.address = {ct.address}",
            f"lxc.net.0.ipv4.gateway = {GATEWAY}",
            f"lxc.console.logfile = {directory / 'console.log'}",
        ]
        if ct.unprivileged:
            lines += [f"lxc.idmap = u {' '.join(ID_MAP)}", f"lxc.idmap = g {' '.join(ID_MAP)}"]
        (directory / "config").write_text("\n".join(lines) + "\n")

    def _seed_upper(self, ct: RealContainer, upper: Path) -> None:
        """What Proxmox's setup writes into a new container (pve-container
        src/PVE/LXC/Setup.pm: hostname, hosts, rewrite_ssh_host_keys), plus the way
        to the package registries."""
        etc = upper / "etc"
        (etc / "apt/apt.conf.d").mkdir(parents=True, exist_ok=True)
        (etc / "hostname").write_text(f"{ct.hostname}\n")
        ip = ct.address.split("/")[0]
        (etc / "hosts").write_text(
            f"127.0.0.1 localhost\n{ip} {ct.hostname}\n::1 localhost ip6-localhost\n"
        )
        self._seed_registry_access(upper)
        # No name server: lookups fail at once instead of timing out; the registries are
        # reached through the proxy, which resolves their names.
        (etc / "resolv.conf").write_text("options timeout:1 attempts:1\n")
        (etc / "ssh").mkdir(exist_ok=True)
        for kind in ("rsa", "ecdsa", "ed25519"):
            key = etc / "ssh" / f"ssh_host_{kind}_key"
            subprocess.run(
                [
                    "ssh-keygen",
                    "-q",
                    "-t",
                    kind,
                    "-N",
                    "",
                    "-C",
                    f"root@{ct.hostname}",
                    "-f",
                    str(key),
                ],
                check=True,
                capture_output=True,
            )

    def _seed_registry_access(self, upper: Path) -> None:
        """The container's way to the package registries: apt, pip and npm through the
        run's proxy, trusting the certificate authorities this machine adds to its own
        store (its egress may inspect TLS)."""
        etc = upper / "etc"
        proxy = self.network.proxy_url
        bundle = "/etc/ssl/certs/ca-certificates.crt"
        (etc / "apt/apt.conf.d/00lxcm-proxy").write_text(
            f'Acquire::http::Proxy "{proxy}";\nAcquire::https::Proxy "{proxy}";\n'
        )
        (etc / "pip.conf").write_text(f"[global]\nproxy = {proxy}\ncert = {bundle}\n")
        (etc / "npmrc").write_text(f"proxy={proxy}\nhttps-proxy={proxy}\ncafile={bundle}\n")
        (etc / "environment").write_text(
            "".join(f"{name}={proxy}\n" for name in PROXY_VARIABLES)
            + f"NODE_EXTRA_CA_CERTS={bundle}\n"
        )
        local = sorted(HOST_LOCAL_CAS.glob("*.crt")) if HOST_LOCAL_CAS.is_dir() else []
        if not local:
            return
        target = upper / "usr/local/share/ca-certificates"
        target.mkdir(parents=True, exist_ok=True)
        extra = ""
        for cert in local:
            text = cert.read_text()
            (target / f"lxcm-host-{cert.name}").write_text(text)
            extra += text if text.endswith("\n") else text + "\n"
        base = (self.cached.path / bundle.lstrip("/")).read_text()
        (upper / bundle.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        (upper / bundle.lstrip("/")).write_text(base + extra)

    async def start(self, vmid: int, *, wait: float = 30) -> None:
        ct = self.containers[vmid]
        logfile = self.lxcpath / ct.name / "lxc.log"
        try:
            await _run(
                *self._in_netns(), "unshare", "--mount", "--propagation", "private",
                "sh", "-c", _START_SCRIPT, "start", str(self.rootfs_of(ct)), str(self.lxcpath / ct.name),
                str(self.lxcpath), ct.name, str(logfile),
            )  # fmt: skip
        except ContainerError as exc:
            raise ContainerError(f"{exc}\n{_tail(logfile)}") from None
        # LXC finds bridges through /sys, which shows the host's namespace: plug the veth
        # into the run's bridge here instead of with `lxc.net.0.link`.
        netns = self.network.netns
        await _run("ip", "-n", netns, "link", "set", _veth(ct.vmid), "master", BRIDGE, "up")
        await self._wait_running(ct, wait)

    async def _wait_running(self, ct: RealContainer, wait: float) -> None:
        """Until systemd inside answers (`is-system-running` prints anything but
        `offline`), as `pct start` returns once the container's init runs."""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            with contextlib.suppress(ContainerError):
                argv = self.attach_argv(ct.vmid, ["systemctl", "is-system-running"])
                state = await _run(*argv, seconds=10, check=False)
                if state.strip() in ("running", "degraded"):
                    return
            await asyncio.sleep(0.3)
        # starting/initializing: the container runs; services may still be coming up.

    async def stop(self, vmid: int, *, force: bool = False) -> None:
        ct = self.containers[vmid]
        argv = [*self._in_netns(), "lxc-stop", "-P", str(self.lxcpath), "-n", ct.name]
        await _run(*argv, *(["-k"] if force else ["-t", "30"]), seconds=45)

    async def destroy(self, vmid: int) -> None:
        ct = self.containers.pop(vmid)
        if await self.is_running(ct.vmid, ct=ct):
            await _run(*self._in_netns(), "lxc-stop", "-P", str(self.lxcpath), "-n", ct.name, "-k")
        await asyncio.to_thread(shutil.rmtree, self.lxcpath / ct.name, True)

    async def is_running(self, vmid: int, *, ct: RealContainer | None = None) -> bool:
        ct = ct or self.containers[vmid]
        out = await _run(
            *self._in_netns(), "lxc-info", "-P", str(self.lxcpath), "-n", ct.name, "-s", "-H"
        )
        return out.strip() == "RUNNING"

    async def stats(self, vmid: int) -> dict[str, int]:
        """`mem` (bytes) and `uptime` (seconds) as LXC tells them; empty when stopped."""
        ct = self.containers[vmid]
        out = await _run(
            *self._in_netns(), "lxc-info", "-P", str(self.lxcpath), "-n", ct.name, "-H"
        )
        info = dict(_pairs(out))
        if info.get("State") != "RUNNING":
            return {}
        stats = {"mem": int(info.get("Memory use", "0") or 0)}
        pid = info.get("PID")
        if pid and pid.isdigit():
            stats["uptime"] = _process_age(int(pid))
        return stats

    # -- inside the container ------------------------------------------------------------

    def attach_argv(
        self, vmid: int, argv: list[str], env: dict[str, str] | None = None
    ) -> list[str]:
        """The `lxc-attach` command line of `pct exec VMID -- ARGV`: exactly `env` (pct
        decides what it keeps), PATH defaulting to lxc-attach's own."""
        ct = self.containers[vmid]
        head = [
            *self._in_netns(),
            "lxc-attach",
            "-P",
            str(self.lxcpath),
            "-n",
            ct.name,
            "--clear-env",
        ]
        for key, value in {"PATH": ATTACH_PATH, **(env or {})}.items():
            head += ["-v", f"{key}={value}"]
        return [*head, "--", *argv] if argv else head  # no command: the login shell

    async def remove_all(self) -> None:
        for vmid in list(self.containers):
            with contextlib.suppress(ContainerError):
                await self.destroy(vmid)
        await asyncio.to_thread(shutil.rmtree, self.lxcpath, True)


# The overlay of the cached rootfs is mounted in a mount namespace of the container's own
# (LXC's idmapped rootfs needs the "dir" driver): it lives as long as the container and
# never appears among the host's mounts.
_START_SCRIPT = """
set -e
mount -t overlay overlay -o "lowerdir=$1,upperdir=$2/delta,workdir=$2/work" "$2/rootfs"
exec lxc-start -P "$3" -n "$4" --logfile "$5" --logpriority ERROR
"""


def _veth(vmid: int) -> str:
    return f"vlxcm{vmid}"


def _tail(path: Path, lines: int = 8) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _pairs(text: str) -> list[tuple[str, str]]:
    pairs = []
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            pairs.append((key.strip(), value.strip()))
    return pairs


def _process_age(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        start_ticks = int(fields[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, IndexError, ValueError):
        return 0
    return max(0, int(uptime - start_ticks / os.sysconf("SC_CLK_TCK")))


LEFTOVER = re.compile(r"^lxcm-[0-9a-z]+-\d+$")
