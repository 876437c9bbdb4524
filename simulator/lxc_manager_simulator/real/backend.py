"""`--containers-backend real`: the simulator's containers as real LXC containers.

The API stays simulated (cluster, storages, tasks, permissions); a container created from
a Debian 12 OS template is also a real LXC container, and what Proxmox does to a container
with `lxc-*` (start, stop, `pct exec`, `pct push`, `pct pull`, status, memory, uptime)
happens to it. Other OS templates (Ubuntu, Alpine) stay simulated worlds: see
`rootfs.RECIPES`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import shutil
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path

from .containers import ID_MAP, ContainerError, RealContainers, base_dir
from .network import RunNetwork, leftover_namespaces, remove_namespace
from .rootfs import RECIPES, CachedRootfs, RootfsError, ensure, shifted

log = logging.getLogger(__name__)
ID_OFFSET = int(ID_MAP[1])

__all__ = [
    "ContainerError",
    "RealBackend",
    "cleanup",
    "leftovers",
    "lxc_unavailable_reason",
]


def lxc_unavailable_reason() -> str | None:
    """Why this machine cannot run the real backend, or None when it can."""
    if os.geteuid() != 0:
        return "real containers need root (LXC, network namespaces)"
    for program in ("lxc-start", "lxc-attach", "debootstrap", "nsenter", "unshare", "ip"):
        if shutil.which(program) is None:
            return f"{program} is not installed (apt-get install lxc debootstrap)"
    if not Path("/sys/fs/cgroup").is_dir() or not any(Path("/sys/fs/cgroup").iterdir()):
        return "no cgroup filesystem is mounted"
    return None


def os_of_template(volid: str) -> str | None:
    """The rootfs recipe an OS template maps to (`debian` for debian-12-*), or None."""
    name = volid.rsplit("/", 1)[-1]
    if name.startswith("debian-12-"):
        return "debian"
    return None


Sink = Callable[[bytes], Awaitable[None]]
Source = Callable[[], Awaitable[bytes]]


class RealBackend:
    """One simulator run's network, rootfs cache and containers."""

    def __init__(self, run_id: str | None = None) -> None:
        self.run_id = run_id or secrets.token_hex(4)
        self.network = RunNetwork(self.run_id)
        self.rootfs: dict[str, CachedRootfs] = {}
        self.containers: RealContainers | None = None

    async def start(self) -> None:
        reason = lxc_unavailable_reason()
        if reason:
            raise ContainerError(f"real containers are not available here: {reason}")
        try:
            cached = await asyncio.to_thread(ensure, RECIPES["debian"])
            # unprivileged containers (Proxmox's default) start from the id-shifted copy
            await asyncio.to_thread(shifted, cached, ID_OFFSET)
        except RootfsError as exc:
            raise ContainerError(str(exc)) from exc
        if cached.built_seconds is not None:
            log.warning("rootfs cache built in %.0f s", cached.built_seconds)
        self.rootfs["debian"] = cached
        await self.network.start()
        self.containers = RealContainers(self.run_id, self.network, cached)

    async def stop(self) -> None:
        if self.containers is not None:
            await self.containers.remove_all()
        await self.network.stop()

    def handles(self, vmid: int) -> bool:
        return self.containers is not None and vmid in self.containers.containers

    @property
    def cts(self) -> RealContainers:
        if self.containers is None:
            raise ContainerError("the real backend is not started")
        return self.containers

    async def run(
        self,
        vmid: int,
        argv: list[str],
        *,
        out: Sink,
        err: Sink,
        read_stdin: Source | None = None,
        env: dict[str, str] | None = None,
    ) -> int:
        """`pct exec VMID -- ARGV`: run it attached, stream its output as it comes."""
        proc = await asyncio.create_subprocess_exec(
            *self.cts.attach_argv(vmid, argv, env),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert proc.stdin and proc.stdout and proc.stderr
        feeder = asyncio.create_task(_feed(proc.stdin, read_stdin))
        try:
            await asyncio.gather(_drain(proc.stdout, out), _drain(proc.stderr, err))
            return await proc.wait()
        except asyncio.CancelledError:
            await _end(proc)
            raise
        finally:
            feeder.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await feeder


async def _feed(sink: asyncio.StreamWriter, read: Source | None) -> None:
    try:
        if read is not None:
            while chunk := await read():
                sink.write(chunk)
                await sink.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            sink.close()


async def _drain(source: asyncio.StreamReader, write: Sink) -> None:
    while chunk := await source.read(65536):
        await write(chunk)


async def _end(proc: asyncio.subprocess.Process) -> None:
    """Stop an attached command as a closed SSH channel stops `pct exec`: TERM (lxc-attach
    passes it on), then KILL."""
    with contextlib.suppress(ProcessLookupError):
        proc.terminate()
    try:
        await asyncio.wait_for(proc.wait(), 3)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()


def leftovers() -> list[str]:
    """What runs left behind: namespaces, LXC paths and their containers under the base
    directory, veths or bridges in the machine's own namespace, mounts."""
    found = [f"netns {name}" for name in leftover_namespaces()]
    root = base_dir()
    if root.is_dir():
        for lxcpath in sorted(root.iterdir()):
            found.append(f"lxcpath {lxcpath}")
            if lxcpath.is_dir():
                found += [f"container {ct.name}" for ct in sorted(lxcpath.iterdir())]
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=False)
    for line in links.stdout.splitlines():
        name = line.split(":")[1].strip().split("@")[0] if line.count(":") >= 2 else ""
        if name.startswith(("vlxcm", "lxcmbr")):
            found.append(f"link {name}")  # a veth or bridge that escaped its namespace
    mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    found += [f"mount {line.split()[4]}" for line in mounts if str(root) in line.split()[4]]
    return found


def cleanup(run_id: str | None = None) -> list[str]:
    """Stop and remove the containers and namespaces of one run (or of every run): what a
    crashed run left. Returns what was removed."""
    removed: list[str] = []
    root = base_dir()
    paths = [root / run_id] if run_id else (sorted(root.iterdir()) if root.is_dir() else [])
    for lxcpath in paths:
        if not lxcpath.is_dir():
            continue
        netns = f"/run/netns/lxcm-{lxcpath.name}"
        prefix = ["nsenter", f"--net={netns}"] if Path(netns).exists() else []
        for container in sorted(p for p in lxcpath.iterdir() if (p / "config").exists()):
            subprocess.run(
                [*prefix, "lxc-stop", "-P", str(lxcpath), "-n", container.name, "-k"],
                capture_output=True,
                check=False,
            )
            removed.append(f"container {container.name}")
        shutil.rmtree(lxcpath, ignore_errors=True)
        removed.append(f"lxcpath {lxcpath}")
    for name in leftover_namespaces():
        if run_id is None or name == f"lxcm-{run_id}":
            remove_namespace(name)
            removed.append(f"netns {name}")
    return removed
