"""The SSH way in: `pct enter VMID` in a PTY on the container's PVE node.

pve-container src/PVE/CLI/pct.pm `enter` runs `lxc-attach` into the container's login
shell; it needs root on the host, which is what the node's SSH credentials are for. The
target is the PVE node that holds the container (`nodes.ssh_target_on`: the endpoint
itself or the cluster member, each with its own pinned host key). Input and resizes go
to the PTY (`change_terminal_size`); output is read only when the console asks for it.
"""

from __future__ import annotations

from lxc_manager.ssh import SshTarget
from lxc_manager.ssh.terminal import Terminal, open_terminal

__all__ = ["SshConsole", "open_ssh_console"]


class SshConsole:
    path = "ssh"

    def __init__(self, terminal: Terminal) -> None:
        self._terminal = terminal

    async def read(self) -> bytes:
        return await self._terminal.read()

    async def write(self, data: bytes) -> None:
        self._terminal.write(data)
        await self._terminal.drain()

    async def resize(self, cols: int, rows: int) -> None:
        self._terminal.resize(cols, rows)

    async def keepalive(self) -> None:
        """SSH keeps itself alive (the connection's keepalive requests)."""

    async def close(self) -> None:
        await self._terminal.close()


async def open_ssh_console(target: SshTarget, vmid: int, cols: int, rows: int) -> SshConsole:
    """Raises the SSH layer's typed errors when the node cannot be reached or refuses."""
    terminal = await open_terminal(target, ["pct", "enter", str(vmid)], cols=cols, rows=rows)
    return SshConsole(terminal)
