"""`pct` on any PVE node of a cluster through the one SSH host of the endpoint.

`pct exec` / `pct push` only know the containers of the node they run on, and a user's
node has SSH credentials for one host (the endpoint's). For a container on another node of
the cluster, the command hops from that host to its peer as root does on Proxmox
(`ssh -o BatchMode=yes NODE -- 'pct exec 105 -- ...'`, the cluster's own SSH trust).
`NodeSshPool` is an `SshPool` that does this by itself once `bind()` has found out which
node the SSH host is, so code written for `SshPool` (e.g. the services discovery of
`containers.detail`) works on every node.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence

from lxc_manager.ssh import (
    ExecResult,
    ExecStream,
    FilePushFailed,
    RetryPolicy,
    SessionLimiter,
    SshError,
    SshPool,
    SshTarget,
)
from lxc_manager.ssh.commands import command_line, pct_push_argv
from lxc_manager.ssh.pool import DEFAULT_COMMAND_TIMEOUT

__all__ = ["HOP_OPTIONS", "NodeSshPool", "PushNotVerified", "hop_argv", "push_verified"]

log = logging.getLogger(__name__)

HOP_OPTIONS = ("-o", "BatchMode=yes", "-T")
_HOSTNAME_TIMEOUT = 15.0
_STAT_TIMEOUT = 30.0
STAT_FORMAT = "%s %a"  # size in bytes, access rights in octal (GNU coreutils and BusyBox)


def hop_argv(node: str, argv: Sequence[str]) -> list[str]:
    """Run argv on cluster peer `node` from the SSH host (the remote shell gets one quoted
    command line, so every argument still arrives as exactly one word)."""
    return ["ssh", *HOP_OPTIONS, node, "--", command_line(argv)]


class NodeSshPool(SshPool):
    """An `SshPool` whose commands run on PVE node `pve_node` (directly when the SSH host
    is that node, through `ssh pve_node` from it otherwise). Call `bind(target)` first."""

    def __init__(
        self,
        pve_node: str,
        *,
        limiter: SessionLimiter | None = None,
        retry: RetryPolicy | None = None,
        command_timeout: float = DEFAULT_COMMAND_TIMEOUT,
    ) -> None:
        super().__init__(limiter=limiter, retry=retry, command_timeout=command_timeout)
        self.pve_node = pve_node
        self.hop: str | None = None
        self.host_node: str | None = None

    async def __aenter__(self) -> NodeSshPool:
        return self

    async def bind(self, target: SshTarget) -> str:
        """Ask the SSH host for its node name (once); returns it."""
        if self.host_node is None:
            result = await super().run(target, ["hostname"], timeout=_HOSTNAME_TIMEOUT)
            name = result.stdout.strip().split(".", 1)[0] if result.ok else ""
            if not name:
                log.warning(
                    "hostname on %s failed; assuming it is %s", target.address, self.pve_node
                )
                name = self.pve_node
            self.host_node = name
            self.hop = None if name == self.pve_node else self.pve_node
        return self.host_node

    def _wrap(self, argv: Sequence[str]) -> list[str]:
        return hop_argv(self.hop, argv) if self.hop else list(argv)

    async def run(
        self,
        target: SshTarget,
        argv: Sequence[str],
        *,
        stdin: bytes | str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
        max_output: int | None = None,
    ) -> ExecResult:
        return await super().run(
            target, self._wrap(argv), stdin=stdin, timeout=timeout, max_output=max_output
        )

    def run_stream(
        self,
        target: SshTarget,
        argv: Sequence[str],
        *,
        stdin: bytes | str | None = None,
        timeout: float | None = None,
    ) -> ExecStream:
        return super().run_stream(target, self._wrap(argv), stdin=stdin, timeout=timeout)

    async def push_file(
        self,
        target: SshTarget,
        vmid: int,
        dest: str,
        content: bytes,
        mode: int = 0o644,
        owner: str | None = None,
        group: str | None = None,
        *,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> ExecResult:
        """`pct push --perms` on the container's node: directly (SFTP + pct push), or
        through the hop (the file travels on the command's stdin to a 0600 temporary file
        on the peer, is pushed, and the temporary file is removed whatever happened).
        Returns pct's result (exit 0 does not mean the file was written: `push_verified`)."""
        if not self.hop:
            return await super().push_file(
                target, vmid, dest, content, mode, owner, group, timeout=timeout
            )
        temp_path = f"/tmp/lxcm-push-{secrets.token_hex(16)}"  # noqa: S108 (on the peer, 0600)
        argv = pct_push_argv(vmid, temp_path, dest, mode, owner, group)
        write = ["sh", "-c", f"umask 077 && cat > {temp_path}"]
        try:
            written = await self.run(target, write, stdin=bytes(content), timeout=timeout)
            if not written.ok:
                raise FilePushFailed(
                    f"{target.address}: could not stage the file on {self.hop}: "
                    f"{(written.stderr or written.stdout).strip()}",
                    written.exit_status,
                    written.stderr,
                )
            result = await self.run(target, argv, timeout=timeout)
        finally:
            await self._remove_on_peer(target, temp_path)
        if not result.ok:
            raise FilePushFailed(
                f"{target.address}: pct push to CT {vmid} on {self.hop} failed with status "
                f"{result.exit_status}: {(result.stderr or result.stdout).strip()}",
                result.exit_status,
                result.stderr,
            )
        return result

    async def _remove_on_peer(self, target: SshTarget, path: str) -> None:
        try:
            cleanup = await self.run(target, ["rm", "-f", path], timeout=_HOSTNAME_TIMEOUT)
        except SshError as exc:
            log.warning("could not remove %s on %s: %s", path, self.hop, exc)
            return
        if not cleanup.ok:
            log.warning("could not remove %s on %s", path, self.hop)


class PushNotVerified(FilePushFailed):
    """`pct push` exited 0 but the file is not in the container as it was sent. pct copies
    in a forked worker and only prints the worker's error (pve-container
    src/PVE/CLI/pct.pm `push`, pve-common src/PVE/RESTEnvironment.pm fork_worker), so this
    is how a missing directory, a read-only path or an unknown owner shows. `reason` is
    pct's own message when it printed one, else what the check found."""

    def __init__(self, detail: str, reason: str, stderr: str) -> None:
        super().__init__(detail, 0, stderr)
        self.reason = reason


async def push_verified(
    pool: SshPool,
    target: SshTarget,
    vmid: int,
    dest: str,
    content: bytes,
    mode: int = 0o644,
    owner: str | None = None,
    group: str | None = None,
    *,
    timeout: float | None = None,  # noqa: ASYNC109
) -> None:
    """`pool.push_file`, then `pct exec VMID -- stat -L -c '%s %a' DEST` (-L: pct writes
    through a symlink, e.g. Ubuntu's /etc/resolv.conf): the file must have the size of
    `content` and `mode`. Raises FilePushFailed when pct refused, and
    PushNotVerified when pct said yes but the file is not there as sent."""
    pushed = await pool.push_file(target, vmid, dest, content, mode, owner, group, timeout=timeout)
    printed = " ".join((pushed.stderr or pushed.stdout).split())
    checked = await pool.pct_exec(
        target, vmid, ["stat", "-L", "-c", STAT_FORMAT, dest], timeout=_STAT_TIMEOUT
    )
    found = _stat_size_mode(checked.stdout) if checked.ok else None
    expected = (len(content), mode & 0o7777)
    if found == expected:
        return
    reason = printed or _mismatch(dest, found, expected, checked.stderr)
    raise PushNotVerified(
        f"{target.address}: pct push to CT {vmid} exited 0 but {dest} is "
        f"{found if found is not None else 'missing'} (expected {expected}): {reason}",
        reason,
        pushed.stderr,
    )


def _stat_size_mode(output: str) -> tuple[int, int] | None:
    parts = output.split()
    if len(parts) != 2 or not parts[0].isdigit():
        return None
    try:
        return int(parts[0]), int(parts[1], 8) & 0o7777
    except ValueError:
        return None


def _mismatch(
    dest: str, found: tuple[int, int] | None, expected: tuple[int, int], stat_error: str
) -> str:
    if found is None:
        why = " ".join(stat_error.split()) or "stat gave no answer"
        return f"{dest} is not in the container after the copy ({why})"
    size, mode = found
    return (
        f"{dest} has {size} bytes, mode {mode:04o} after the copy; "
        f"expected {expected[0]} bytes, mode {expected[1]:04o}"
    )
