"""Accounts: useradd, usermod, userdel, groupadd, chpasswd (edit /etc/passwd and /etc/group)."""

from __future__ import annotations

import hashlib

from ..base import Ctx, Program
from ..vfs import Vfs, VfsError

USERADD_VALUE_OPTIONS = {
    "-s",
    "-d",
    "-u",
    "-g",
    "-G",
    "-c",
    "-k",
    "-e",
    "-f",
    "-K",
    "-p",
    "--shell",
    "--home-dir",
    "--uid",
    "--gid",
    "--groups",
    "--comment",
}


def _options(
    args: list[str], value_options: set[str]
) -> tuple[dict[str, str], set[str], list[str]]:
    values: dict[str, str] = {}
    flags: set[str] = set()
    operands: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg in value_options and index + 1 < len(args):
            values[arg] = args[index + 1]
            index += 2
            continue
        if arg.startswith("--"):
            flags.add(arg)
        elif arg.startswith("-") and len(arg) > 1:
            index = _short_options(args, index, arg, value_options, values, flags)
            continue
        else:
            operands.append(arg)
        index += 1
    return values, flags, operands


def _short_options(
    args: list[str],
    index: int,
    arg: str,
    value_options: set[str],
    values: dict[str, str],
    flags: set[str],
) -> int:
    """A bundle like `-aG GROUPS` or `-mG sudo`: flags, the last one may take a value."""
    for position, letter in enumerate(arg[1:], start=1):
        if f"-{letter}" in value_options:
            attached = arg[position + 1 :]
            if attached:
                values[f"-{letter}"] = attached
                return index + 1
            values[f"-{letter}"] = args[index + 1] if index + 1 < len(args) else ""
            return index + 2
        flags.add(letter)
    return index + 1


def _next_id(taken: set[int], system: bool) -> int:
    candidates = range(999, 99, -1) if system else range(1000, 60000)
    return next(i for i in candidates if i not in taken)


def _rewrite(ctx: Ctx, path: str, transform: dict[str, list[str]]) -> None:
    """Replace the lines of `path` whose first field is a key of `transform`."""
    lines = ctx.vfs.read_text(path).splitlines()
    out = []
    for line in lines:
        name = line.split(":", 1)[0]
        out.append(":".join(transform[name]) if name in transform else line)
    ctx.vfs.write_text(path, "".join(f"{line}\n" for line in out))


def _append(ctx: Ctx, path: str, line: str) -> None:
    ctx.vfs.write_text(path, line + "\n", append=True)


async def useradd(ctx: Ctx) -> int:
    values, flags, operands = _options(ctx.args, USERADD_VALUE_OPTIONS)
    if len(operands) != 1:
        return await ctx.fail("Usage: useradd [options] LOGIN", 2)
    name = operands[0]
    world = ctx.world
    if world.account(name) is not None:
        return await ctx.fail(f"user '{name}' already exists", 9)
    system = "r" in flags or "--system" in flags
    uid_text = values.get("-u") or values.get("--uid")
    uid = int(uid_text) if uid_text else _next_id({a.uid for a in world.accounts()}, system)
    group_name = values.get("-g") or values.get("--gid")
    if group_name is not None:
        group = world.group(group_name)
        if group is None:
            return await ctx.fail(f"group '{group_name}' does not exist", 6)
        gid = group.gid
    elif world.group(name) is not None:
        return await ctx.fail(
            f"group {name} exists - if you want to add this user to that group, use -g.", 9
        )
    else:
        taken = {g.gid for g in world.groups()}
        gid = uid if uid not in taken else _next_id(taken, system)
        _append(ctx, "/etc/group", f"{name}:x:{gid}:")
    home = values.get("-d") or values.get("--home-dir") or f"/home/{name}"
    shell = values.get("-s") or values.get("--shell") or "/bin/sh"
    comment = values.get("-c") or values.get("--comment") or ""
    _append(ctx, "/etc/passwd", f"{name}:x:{uid}:{gid}:{comment}:{home}:{shell}")
    if ctx.vfs.exists("/etc/shadow"):
        _append(ctx, "/etc/shadow", f"{name}:!:19800:0:99999:7:::")
    extra = values.get("-G") or values.get("--groups")
    if extra:
        status = await _add_to_groups(ctx, name, extra.split(","))
        if status:
            return status
    if "m" in flags or "--create-home" in flags:
        _create_home(ctx, home, uid, gid)
    return 0


def _create_home(ctx: Ctx, home: str, uid: int, gid: int) -> None:
    if ctx.vfs.exists(home):
        return
    ctx.vfs.mkdir(home, parents=True, mode=0o755)
    ctx.vfs.chown(home, uid, gid)
    for name in (".bashrc", ".profile"):
        skeleton = f"/etc/skel/{name}"
        if ctx.vfs.is_file(skeleton):
            ctx.vfs.write_bytes(f"{home}/{name}", ctx.vfs.read_bytes(skeleton))
            ctx.vfs.chown(f"{home}/{name}", uid, gid)


async def _add_to_groups(ctx: Ctx, user: str, groups: list[str], *, replace: bool = False) -> int:
    world = ctx.world
    known = {g.name: g for g in world.groups()}
    missing = [g for g in groups if g and g not in known]
    if missing:
        return await ctx.fail(f"group '{missing[0]}' does not exist", 6)
    transform: dict[str, list[str]] = {}
    for group in known.values():
        members = [m for m in group.members if not (replace and m == user)]
        if group.name in groups and user not in members:
            members.append(user)
        if members != group.members:
            transform[group.name] = [group.name, "x", str(group.gid), ",".join(members)]
    _rewrite(ctx, "/etc/group", transform)
    return 0


async def usermod(ctx: Ctx) -> int:
    values, flags, operands = _options(ctx.args, USERADD_VALUE_OPTIONS | {"-l"})
    if len(operands) != 1:
        return await ctx.fail("Usage: usermod [options] LOGIN", 2)
    name = operands[0]
    account = ctx.world.account(name)
    if account is None:
        return await ctx.fail(f"user '{name}' does not exist", 6)
    groups = values.get("-G") or values.get("--groups")
    if groups is not None:
        status = await _add_to_groups(ctx, name, groups.split(","), replace="a" not in flags)
        if status:
            return status
    shell = values.get("-s") or values.get("--shell") or account.shell
    home = values.get("-d") or values.get("--home-dir") or account.home
    comment = values.get("-c") or values.get("--comment") or account.gecos
    fields = [name, "x", str(account.uid), str(account.gid), comment, home, shell]
    _rewrite(ctx, "/etc/passwd", {name: fields})
    if "m" in flags and home != account.home and ctx.vfs.exists(account.home):
        ctx.vfs.rename(account.home, home)
    return 0


async def userdel(ctx: Ctx) -> int:
    _, flags, operands = _options(ctx.args, set())
    if len(operands) != 1:
        return await ctx.fail("Usage: userdel [options] LOGIN", 2)
    name = operands[0]
    account = ctx.world.account(name)
    if account is None:
        return await ctx.fail(f"user '{name}' does not exist", 6)
    for path in ("/etc/passwd", "/etc/shadow"):
        if ctx.vfs.exists(path):
            lines = [
                line
                for line in ctx.vfs.read_text(path).splitlines()
                if line.split(":", 1)[0] != name
            ]
            ctx.vfs.write_text(path, "".join(f"{line}\n" for line in lines))
    if "r" in flags and ctx.vfs.exists(account.home):
        ctx.vfs.remove_tree(account.home)
    return 0


async def groupadd(ctx: Ctx) -> int:
    values, flags, operands = _options(ctx.args, {"-g", "--gid"})
    if len(operands) != 1:
        return await ctx.fail("Usage: groupadd [options] GROUP", 2)
    name = operands[0]
    if ctx.world.group(name) is not None:
        if "f" in flags:
            return 0
        return await ctx.fail(f"group '{name}' already exists", 9)
    gid_text = values.get("-g") or values.get("--gid")
    taken = {g.gid for g in ctx.world.groups()}
    gid = int(gid_text) if gid_text else _next_id(taken, "r" in flags)
    _append(ctx, "/etc/group", f"{name}:x:{gid}:")
    return 0


def shadow_hash(user: str, password: str) -> str:
    """The simulator's (fake, yescrypt-looking) /etc/shadow hash of a password."""
    digest = hashlib.sha256(f"{user}:{password}".encode("utf-8", "surrogateescape"))
    return "$y$j9T$simulated$" + digest.hexdigest()[:22]


def set_password(vfs: Vfs, user: str, password: str) -> None:
    """Set `user`'s password in /etc/shadow, as PVE::LXC::Setup set_user_password does at
    creation (pve-container src/PVE/LXC/Setup/Base.pm: the `password` of POST /lxc)."""
    try:
        lines = vfs.read_text("/etc/shadow").splitlines()
    except VfsError:
        lines = []
    entry = [user, shadow_hash(user, password), "19800", "0", "99999", "7", "", "", ""]
    found = False
    for index, line in enumerate(lines):
        fields = line.split(":")
        if fields[0] == user:
            fields[1] = entry[1]
            lines[index] = ":".join(fields)
            found = True
    if not found:
        lines.append(":".join(entry))
    vfs.write_text("/etc/shadow", "\n".join(lines) + "\n", mode=0o640)


async def chpasswd(ctx: Ctx) -> int:
    """Reads `user:password` lines; stores a (fake) hash in /etc/shadow."""
    status = 0
    text = await ctx.stdin.read_text()
    for number, line in enumerate(text.splitlines(), start=1):
        user, sep, _ = line.partition(":")
        if not sep or ctx.world.account(user) is None:
            await ctx.err(f"chpasswd: line {number}: user '{user}' does not exist\n")
            status = 1
            continue
        try:
            entries = {
                e.split(":", 1)[0]: e.split(":")
                for e in ctx.vfs.read_text("/etc/shadow").splitlines()
            }
        except VfsError:
            entries = {}
        fields = entries.get(user, [user, "!", "19800", "0", "99999", "7", "", "", ""])
        fields[1] = shadow_hash(user, line.split(":", 1)[1])
        if user in entries:
            _rewrite(ctx, "/etc/shadow", {user: fields})
        else:
            _append(ctx, "/etc/shadow", ":".join(fields))
    return status


PROGRAMS: dict[str, Program] = {
    "/usr/sbin/useradd": useradd,
    "/usr/sbin/usermod": usermod,
    "/usr/sbin/userdel": userdel,
    "/usr/sbin/groupadd": groupadd,
    "/usr/sbin/chpasswd": chpasswd,
}
