"""Pushing a file into a container and checking it arrived.

`pct push` exits 0 when its copy failed (pve-container src/PVE/CLI/pct.pm `push` copies in
a forked worker whose error is only printed), so every pushed file is checked with `stat`
inside the container.
"""

from __future__ import annotations

from lxc_manager.ssh import FilePushFailed, SshPool, SshTarget

__all__ = ["PushNotVerified", "push_verified"]

_STAT_TIMEOUT = 30.0
STAT_FORMAT = "%s %a"  # size in bytes, access rights in octal (GNU coreutils and BusyBox)


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
