"""`pct exec`, `pct push` and `pct pull` on a real container (`--containers-backend real`):
what Proxmox does with `lxc-attach` (pve-container src/PVE/CLI/pct.pm)."""

from __future__ import annotations

from typing import Any

from ..base import Ctx, PveCommandError

# pct push's worker, in the container: owner and group looked up first, then the file
# written (a new one 0644 unless --perms; an existing one keeps its mode), with pct's texts
# (pve-container src/PVE/CLI/pct.pm `push`, `create_file`).
PUSH_SCRIPT = r"""
dest=$1 user=$2 group=$3 perms=$4
if [ -n "$user" ]; then
  uid=$(id -u -- "$user" 2>/dev/null) || { echo "failed to get uid for: $user" >&2; exit 1; }
fi
if [ -n "$group" ]; then
  gid=$(getent group -- "$group" | cut -d: -f3)
  [ -n "$gid" ] || { echo "failed to get gid for: $group" >&2; exit 1; }
fi
existed=0; [ -e "$dest" ] && existed=1
err=$( { cat > "$dest"; } 2>&1 ) || { echo "failed to create file: $dest: ${err##*: }" >&2; exit 1; }
if [ -n "$perms" ]; then chmod "$perms" "$dest"; elif [ "$existed" = 0 ]; then chmod 0644 "$dest"; fi
if [ -n "$user" ]; then chown "$uid" "$dest"; fi
if [ -n "$group" ]; then chgrp "$gid" "$dest"; fi
"""


async def _ready(hooks: Any, vmid: int) -> None:
    error = await hooks.ready(vmid)
    if error:
        raise PveCommandError(error)


async def real_exec(ctx: Ctx, hooks: Any, vmid: int, argv: list[str], env: dict[str, str]) -> int:
    """`pct exec` with the environment pct gives (see `_exec_environment` in pve.py)."""
    await _ready(hooks, vmid)
    return int(
        await hooks.backend.run(
            vmid,
            argv,
            out=ctx.io.stdout.write,
            err=ctx.io.stderr.write,
            read_stdin=ctx.io.stdin.read_chunk,
            env=env,
        )
    )


async def real_push(
    ctx: Ctx,
    hooks: Any,
    vmid: int,
    data: bytes,
    destination: str,
    user: str | None,
    group: str | None,
    perms: int | None,
) -> None:
    """Copy into the container. Like Proxmox's `pct push`, a failed copy is printed and
    the exit status stays 0 (its worker's error is only printed)."""
    await _ready(hooks, vmid)
    sent = False

    async def once() -> bytes:
        nonlocal sent
        if sent:
            return b""
        sent = True
        return data

    async def discard(chunk: bytes) -> None:
        del chunk

    mode = "" if perms is None else f"{perms:o}"
    argv = ["bash", "-c", PUSH_SCRIPT, "push", destination, user or "", group or "", mode]
    await hooks.backend.run(
        vmid, argv, out=discard, err=ctx.io.stderr.write, read_stdin=once, env={}
    )


async def real_pull(hooks: Any, vmid: int, source: str) -> bytes:
    await _ready(hooks, vmid)
    out: list[bytes] = []
    err: list[bytes] = []

    async def keep_out(chunk: bytes) -> None:
        out.append(chunk)

    async def keep_err(chunk: bytes) -> None:
        err.append(chunk)

    status = await hooks.backend.run(vmid, ["cat", "--", source], out=keep_out, err=keep_err)
    if status != 0:
        reason = b"".join(err).decode(errors="replace").strip().rsplit(": ", 1)[-1]
        raise PveCommandError(f"can't open file {source} - {reason or 'No such file'}")
    return b"".join(out)
