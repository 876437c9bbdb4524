"""`pct exec`, `pct push` and `pct pull` on a real container (`--containers-backend real`):
what Proxmox does with `lxc-attach` (pve-container src/PVE/CLI/pct.pm)."""

from __future__ import annotations

from typing import Any

from ..base import Ctx, PveCommandError

# pct keeps the caller's locale when it enters a container (pve-container
# src/PVE/CLI/pct.pm `exec` runs lxc-attach with the environment cleared but for these).
KEPT_VARIABLES = ("LANG", "LANGUAGE")


async def _ready(hooks: Any, vmid: int) -> None:
    error = await hooks.ready(vmid)
    if error:
        raise PveCommandError(error)


async def real_exec(ctx: Ctx, hooks: Any, vmid: int, argv: list[str]) -> int:
    await _ready(hooks, vmid)
    env = {k: v for k, v in ctx.env.items() if k in KEPT_VARIABLES or k.startswith("LC_")}
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
    ctx: Ctx, hooks: Any, vmid: int, data: bytes, destination: str, perms: int, owner: str
) -> int:
    """Copy into the container. Like Proxmox's `pct push`, a failed copy is printed and
    the exit status stays 0 (the copy runs in a forked worker whose error is only
    printed: pve-container src/PVE/CLI/pct.pm `push`)."""
    await _ready(hooks, vmid)
    script = 'cat > "$1" && chown "$2" "$1" && chmod "$3" "$1"'
    chunks: list[bytes] = []

    async def collect(chunk: bytes) -> None:
        chunks.append(chunk)

    sent = False

    async def once() -> bytes:
        nonlocal sent
        if sent:
            return b""
        sent = True
        return data

    status = await hooks.backend.run(
        vmid,
        ["sh", "-c", script, "push", destination, owner, f"{perms:o}"],
        out=collect,
        err=collect,
        read_stdin=once,
    )
    if status != 0:
        await ctx.err(b"".join(chunks) or f"failed to push {destination}\n".encode())
    return 0


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
