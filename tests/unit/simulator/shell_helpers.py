"""Helpers of the shell interpreter and world unit tests: build worlds, run scripts."""

from __future__ import annotations

import random
from dataclasses import dataclass

from lxc_manager_simulator.shell import Interpreter
from lxc_manager_simulator.shell.base import IO, Session, World
from lxc_manager_simulator.shell.streams import BufferWriter, BytesReader
from lxc_manager_simulator.shell.world import ContainerWorld

DEBIAN = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"
UBUNTU = "local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst"
ALPINE = "local:vztmpl/alpine-3.20-default_20240908_amd64.tar.xz"
NET_DHCP = "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:AA:BB:CC,ip=dhcp,type=veth"
NET_STATIC = "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:01:02:03,ip=10.10.1.5/16,gw=10.10.0.1"


@dataclass
class Result:
    status: int
    out: str
    err: str


def container(
    ostemplate: str = DEBIAN,
    *,
    net0: str | None = NET_DHCP,
    running: bool = True,
    hostname: str = "web-01",
    seed: int = 7,
) -> ContainerWorld:
    world = ContainerWorld.seeded(
        hostname=hostname, ostemplate=ostemplate, rng=random.Random(seed), net0=net0
    )
    if running:
        world.on_start()
    return world


async def run(
    script: str,
    world: World | None = None,
    *,
    stdin: bytes = b"",
    name: str = "bash",
    session: Session | None = None,
    args: list[str] | None = None,
) -> Result:
    """Run `script` like `bash -c` on `world` (a fresh running Debian container by default)."""
    world = world if world is not None else container()
    out, err = BufferWriter(), BufferWriter()
    shell = Interpreter(world, session or Session(sleep_scale=0), cwd="/root", name=name, args=args)
    status = await shell.run(script, IO(BytesReader(stdin), out, err))
    return Result(status, out.text(), err.text())
