"""File utilities on the virtual filesystem (GNU coreutils messages and exit codes)."""

from __future__ import annotations

import posixpath
import re
import string
import time

from ..base import VIRTUAL_TMP, Ctx, Program
from ..vfs import Inode, VfsError

SYMBOLIC_MODE = re.compile(r"([ugoa]*)([-+=])([rwxXst]*)\Z")
PERMISSION_BITS = {"r": 0o444, "w": 0o222, "x": 0o111, "s": 0o6000, "t": 0o1000}
WHO_BITS = {"u": 0o4700, "g": 0o2070, "o": 0o1007, "a": 0o7777}


def split_flags(args: list[str], known: str) -> tuple[set[str], list[str], str | None]:
    """Short flags (bundled, `--` ends them) and operands; the third item names a bad flag."""
    flags: set[str] = set()
    operands: list[str] = []
    done = False
    for arg in args:
        if done or not arg.startswith("-") or arg == "-":
            operands.append(arg)
        elif arg == "--":
            done = True
        elif arg.startswith("--"):
            flags.add(arg)
        else:
            for letter in arg[1:]:
                if letter not in known:
                    return flags, operands, letter
                flags.add(letter)
    return flags, operands, None


async def bad_option(ctx: Ctx, letter: str) -> int:
    await ctx.err(
        f"{ctx.name}: invalid option -- '{letter}'\nTry '{ctx.name} --help' for more information.\n"
    )
    return 1


async def cat(ctx: Ctx) -> int:
    flags, operands, bad = split_flags(ctx.args, "nAEsuvbT")
    if bad:
        return await bad_option(ctx, bad)
    status = 0
    number = 1
    for operand in operands or ["-"]:
        if operand == "-":
            while chunk := await ctx.stdin.read_chunk():
                await ctx.out(chunk if "n" not in flags else _numbered(chunk, number))
                number += chunk.count(b"\n")
            continue
        try:
            data = ctx.vfs.read_bytes(operand, ctx.cwd)
        except VfsError as exc:
            await ctx.err(f"cat: {operand}: {exc.reason}\n")
            status = 1
            continue
        await ctx.out(data if "n" not in flags else _numbered(data, number))
        number += data.count(b"\n")
    return status


def _numbered(data: bytes, start: int) -> bytes:
    lines = data.decode("utf-8", "surrogateescape").splitlines(keepends=True)
    text = "".join(f"{start + i:6d}\t{line}" for i, line in enumerate(lines))
    return text.encode("utf-8", "surrogateescape")


async def tee(ctx: Ctx) -> int:
    flags, operands, bad = split_flags(ctx.args, "ai")
    if bad:
        return await bad_option(ctx, bad)
    inodes: list[Inode] = []
    status = 0
    for operand in operands:
        try:
            inodes.append(ctx.vfs.open_file(operand, ctx.cwd, truncate="a" not in flags))
        except VfsError as exc:
            await ctx.err(f"tee: {operand}: {exc.reason}\n")
            status = 1
    while chunk := await ctx.stdin.read_chunk():
        for inode in inodes:
            inode.data.extend(chunk)
            ctx.vfs.touch_inode(inode)
        await ctx.out(chunk)
    return status


def parse_octal_mode(text: str) -> int | None:
    return int(text, 8) if re.fullmatch(r"[0-7]{1,4}", text) else None


def apply_mode(mode_text: str, current: int, is_dir: bool) -> int | None:
    """A chmod mode (octal or symbolic like `u+x,go-w`) applied to `current`."""
    octal = parse_octal_mode(mode_text)
    if octal is not None:
        return octal
    mode = current
    for clause in mode_text.split(","):
        match = SYMBOLIC_MODE.match(clause)
        if not match:
            return None
        who, op, perms = match.groups()
        mask = 0
        for letter in who or "a":
            mask |= WHO_BITS[letter]
        bits = 0
        for letter in perms:
            if letter == "X":
                if is_dir or current & 0o111:
                    bits |= 0o111
            else:
                bits |= PERMISSION_BITS[letter]
        bits &= mask
        if op == "+":
            mode |= bits
        elif op == "-":
            mode &= ~bits
        else:
            mode = (mode & ~(mask & 0o777)) | bits
    return mode & 0o7777


async def mkdir(ctx: Ctx) -> int:
    args = list(ctx.args)
    mode = 0o755
    if "-m" in args:
        index = args.index("-m")
        parsed = apply_mode(args[index + 1], 0o777, True) if index + 1 < len(args) else None
        if parsed is None:
            return await ctx.fail("invalid mode")
        mode = parsed
        del args[index : index + 2]
    flags, operands, bad = split_flags(args, "pv")
    if bad:
        return await bad_option(ctx, bad)
    if not operands:
        return await ctx.fail("missing operand")
    status = 0
    for operand in operands:
        try:
            ctx.vfs.mkdir(operand, ctx.cwd, parents="p" in flags, mode=mode)
            if "v" in flags:
                await ctx.out(f"mkdir: created directory '{operand}'\n")
        except VfsError as exc:
            await ctx.err(f"mkdir: cannot create directory '{operand}': {exc.reason}\n")
            status = 1
    return status


async def rm(ctx: Ctx) -> int:
    flags, operands, bad = split_flags(ctx.args, "rRfvid")
    if bad:
        return await bad_option(ctx, bad)
    force = "f" in flags or "--force" in flags
    recursive = bool({"r", "R", "--recursive"} & flags)
    if not operands and not force:
        return await ctx.fail("missing operand")
    status = 0
    for operand in operands:
        status |= await _remove_one(
            ctx, operand, force=force, recursive=recursive, verbose="v" in flags
        )
    return status


async def _remove_one(
    ctx: Ctx, operand: str, *, force: bool, recursive: bool, verbose: bool
) -> int:
    if ctx.path(operand) == "/" and recursive:
        await ctx.err(
            "rm: it is dangerous to operate recursively on '/'\n"
            "rm: use --no-preserve-root to override this failsafe\n"
        )
        return 1
    inode = ctx.vfs.try_lookup(operand, ctx.cwd, follow=False)
    if inode is None:
        if force:
            return 0
        await ctx.err(f"rm: cannot remove '{operand}': No such file or directory\n")
        return 1
    if inode.is_dir and not recursive:
        await ctx.err(f"rm: cannot remove '{operand}': Is a directory\n")
        return 1
    try:
        if inode.is_dir:
            ctx.vfs.remove_tree(operand, ctx.cwd)
        else:
            ctx.vfs.unlink(operand, ctx.cwd)
    except VfsError as exc:
        await ctx.err(f"rm: cannot remove '{operand}': {exc.reason}\n")
        return 1
    if verbose:
        await ctx.out(f"removed '{operand}'\n")
    return 0


def _destination(ctx: Ctx, source: str, target: str, many: bool) -> tuple[str | None, str]:
    """Where `source` lands for cp/mv: inside `target` when it is a directory."""
    target_is_dir = ctx.vfs.is_dir(target, ctx.cwd)
    if many and not target_is_dir:
        return None, f"target '{target}' is not a directory"
    if target_is_dir:
        return posixpath.join(ctx.path(target), posixpath.basename(source.rstrip("/"))), ""
    return ctx.path(target), ""


async def cp(ctx: Ctx) -> int:
    flags, operands, bad = split_flags(ctx.args, "rRapfvndPLT")
    if bad:
        return await bad_option(ctx, bad)
    if len(operands) < 2:
        return await ctx.fail(
            f"missing destination file operand after '{operands[0]}'"
            if operands
            else "missing file operand"
        )
    recursive = bool({"r", "R", "a", "--recursive", "--archive"} & flags)
    preserve = bool({"a", "p", "--archive"} & flags)
    *sources, target = operands
    status = 0
    for source in sources:
        status |= await _copy_one(
            ctx,
            source,
            target,
            len(sources) > 1,
            recursive=recursive,
            preserve=preserve,
            no_clobber="n" in flags,
        )
    return status


async def _copy_one(
    ctx: Ctx,
    source: str,
    target: str,
    many: bool,
    *,
    recursive: bool,
    preserve: bool,
    no_clobber: bool,
) -> int:
    inode = ctx.vfs.try_lookup(source, ctx.cwd)
    if inode is None:
        await ctx.err(f"cp: cannot stat '{source}': No such file or directory\n")
        return 1
    if inode.is_dir and not recursive:
        await ctx.err(f"cp: -r not specified; omitting directory '{source}'\n")
        return 1
    destination, problem = _destination(ctx, source, target, many)
    if destination is None:
        await ctx.err(f"cp: {problem}\n")
        return 1
    existing = ctx.vfs.try_lookup(destination)
    if existing is inode:
        await ctx.err(f"cp: '{source}' and '{target}' are the same file\n")
        return 1
    if existing is not None and no_clobber:
        return 0
    try:
        if inode.is_dir:
            if existing is not None and existing.is_dir:
                for name in list(inode.entries):
                    await _copy_one(
                        ctx,
                        posixpath.join(ctx.path(source), name),
                        destination,
                        True,
                        recursive=True,
                        preserve=preserve,
                        no_clobber=no_clobber,
                    )
                return 0
            ctx.vfs.link_inode(ctx.vfs.copy_inode(inode, preserve=preserve), destination)
        elif existing is not None and existing.is_file:
            existing.data[:] = inode.data
            ctx.vfs.touch_inode(existing)
        else:
            ctx.vfs.link_inode(ctx.vfs.copy_inode(inode, preserve=preserve), destination)
    except VfsError as exc:
        await ctx.err(f"cp: cannot create regular file '{target}': {exc.reason}\n")
        return 1
    return 0


async def mv(ctx: Ctx) -> int:
    _, operands, bad = split_flags(ctx.args, "fvinT")
    if bad:
        return await bad_option(ctx, bad)
    if len(operands) < 2:
        return await ctx.fail("missing file operand")
    *sources, target = operands
    status = 0
    for source in sources:
        if ctx.vfs.try_lookup(source, ctx.cwd, follow=False) is None:
            await ctx.err(f"mv: cannot stat '{source}': No such file or directory\n")
            status = 1
            continue
        destination, problem = _destination(ctx, source, target, len(sources) > 1)
        if destination is None:
            await ctx.err(f"mv: {problem}\n")
            status = 1
            continue
        try:
            ctx.vfs.rename(source, destination, ctx.cwd)
        except VfsError as exc:
            await ctx.err(f"mv: cannot move '{source}' to '{target}': {exc.reason}\n")
            status = 1
    return status


async def ln(ctx: Ctx) -> int:
    flags, operands, bad = split_flags(ctx.args, "sfnvrT")
    if bad:
        return await bad_option(ctx, bad)
    if not operands:
        return await ctx.fail("missing file operand")
    target = operands[0]
    link = operands[1] if len(operands) > 1 else posixpath.basename(target)
    if ctx.vfs.is_dir(link, ctx.cwd) and "n" not in flags and "T" not in flags:
        link = posixpath.join(ctx.path(link), posixpath.basename(target))
    existing = ctx.vfs.try_lookup(link, ctx.cwd, follow=False)
    if existing is not None:
        if "f" not in flags:
            kind = "symbolic link" if "s" in flags else "hard link"
            return await ctx.fail(f"failed to create {kind} '{link}': File exists")
        ctx.vfs.unlink(link, ctx.cwd)
    try:
        if "s" in flags:
            ctx.vfs.symlink(target, link, ctx.cwd)
        else:
            inode = ctx.vfs.lookup(target, ctx.cwd)
            ctx.vfs.link_inode(inode, link, ctx.cwd)
    except VfsError as exc:
        return await ctx.fail(f"failed to create link '{link}': {exc.reason}")
    return 0


async def chmod(ctx: Ctx) -> int:
    args = [a for a in ctx.args if a not in ("-R", "-v", "-f", "--recursive")]
    recursive = any(a in ("-R", "--recursive") for a in ctx.args)
    if len(args) < 2:
        return await ctx.fail("missing operand")
    mode_text, paths = args[0], args[1:]
    status = 0
    for path in paths:
        try:
            targets = [p for p, _ in ctx.vfs.walk(path, ctx.cwd)] if recursive else [path]
            for target in targets:
                inode = ctx.vfs.lookup(target, ctx.cwd)
                mode = apply_mode(mode_text, inode.mode, inode.is_dir)
                if mode is None:
                    return await ctx.fail(f"invalid mode: '{mode_text}'")
                inode.mode = mode
        except VfsError:
            await ctx.err(f"chmod: cannot access '{path}': No such file or directory\n")
            status = 1
    return status


def resolve_owner(ctx: Ctx, spec: str) -> tuple[int | None, int | None, str | None]:
    """`user[:group]` -> (uid, gid, error); numeric ids are accepted as they are."""
    user, sep, group = (
        spec.replace(".", ":", 1).partition(":") if ":" in spec or "." in spec else (spec, "", "")
    )
    uid = gid = None
    if user:
        account = ctx.world.account(user)
        if account is None and not user.isdigit():
            return None, None, f"invalid user: '{spec}'"
        uid = account.uid if account else int(user)
        if sep and not group and account:
            gid = account.gid
    if group:
        found = ctx.world.group(group)
        if found is None and not group.isdigit():
            return None, None, f"invalid group: '{spec}'"
        gid = found.gid if found else int(group)
    return uid, gid, None


async def chown(ctx: Ctx) -> int:
    recursive = any(a in ("-R", "--recursive") for a in ctx.args)
    args = [a for a in ctx.args if not a.startswith("-")]
    if len(args) < 2:
        return await ctx.fail("missing operand")
    uid, gid, problem = resolve_owner(ctx, args[0])
    if problem:
        return await ctx.fail(problem)
    status = 0
    for path in args[1:]:
        try:
            targets = [p for p, _ in ctx.vfs.walk(path, ctx.cwd)] if recursive else [path]
            for target in targets:
                ctx.vfs.chown(target, uid, gid, ctx.cwd)
        except VfsError:
            await ctx.err(f"chown: cannot access '{path}': No such file or directory\n")
            status = 1
    return status


async def touch(ctx: Ctx) -> int:
    flags, operands, bad = split_flags(ctx.args, "acm")
    if bad:
        return await bad_option(ctx, bad)
    if not operands:
        return await ctx.fail("missing file operand")
    status = 0
    for operand in operands:
        try:
            if ctx.vfs.exists(operand, ctx.cwd):
                ctx.vfs.utime(operand, ctx.cwd)
            elif "c" not in flags:
                ctx.vfs.open_file(operand, ctx.cwd)
        except VfsError as exc:
            await ctx.err(f"touch: cannot touch '{operand}': {exc.reason}\n")
            status = 1
    return status


def mode_string(inode: Inode) -> str:
    kind = {"dir": "d", "symlink": "l"}.get(inode.kind, "-")
    bits = ""
    for shift in (6, 3, 0):
        triple = (inode.mode >> shift) & 7
        bits += (
            ("r" if triple & 4 else "-")
            + ("w" if triple & 2 else "-")
            + ("x" if triple & 1 else "-")
        )
    return kind + bits


def _ls_time(when: float, now: float) -> str:
    stamp = time.gmtime(when)
    if abs(now - when) > 180 * 86400:
        return time.strftime("%b %e  %Y", stamp)
    return time.strftime("%b %e %H:%M", stamp)


async def ls(ctx: Ctx) -> int:
    flags, operands, bad = split_flags(ctx.args, "lahA1dRtrFS")
    if bad:
        return await bad_option(ctx, bad)
    status = 0
    targets = operands or ["."]
    show_headers = len(targets) > 1
    for index, target in enumerate(sorted(targets)):
        inode = ctx.vfs.try_lookup(target, ctx.cwd)
        if inode is None:
            await ctx.err(f"ls: cannot access '{target}': No such file or directory\n")
            status = 2
            continue
        if inode.is_dir and "d" not in flags:
            if show_headers:
                await ctx.out(("\n" if index else "") + f"{target}:\n")
            names = _listing_names(inode, flags)
            entries = [(n, inode.entries.get(n) or inode) for n in names]
        else:
            entries = [(target, inode)]
        await ctx.out(_format_listing(ctx, entries, "l" in flags))
    return status


def _listing_names(inode: Inode, flags: set[str]) -> list[str]:
    names = sorted(inode.entries)
    if "a" in flags:
        return [".", "..", *names]
    if "A" in flags:
        return names
    return [n for n in names if not n.startswith(".")]


def _format_listing(ctx: Ctx, entries: list[tuple[str, Inode]], long: bool) -> str:
    if not long:
        return "".join(f"{name}\n" for name, _ in entries)
    now = ctx.world.clock()
    lines = (
        [f"total {sum((node.size + 1023) // 1024 * 4 // 4 for _, node in entries)}"]
        if len(entries) > 1 or (entries and entries[0][1].is_dir)
        else []
    )
    for name, node in entries:
        suffix = f" -> {node.target}" if node.is_symlink else ""
        lines.append(
            f"{mode_string(node)} 1 {ctx.world.user_name(node.uid)} "
            f"{ctx.world.group_name(node.gid)} {node.size:>5} "
            f"{_ls_time(node.mtime, now)} {name}{suffix}"
        )
    return "".join(line + "\n" for line in lines)


async def readlink(ctx: Ctx) -> int:
    flags, operands, bad = split_flags(ctx.args, "femnqsvz")
    if bad:
        return await bad_option(ctx, bad)
    status = 0
    for operand in operands:
        try:
            if flags & {"f", "e", "m"}:
                await ctx.out(ctx.vfs.realpath(operand, ctx.cwd) + "\n")
            else:
                await ctx.out(ctx.vfs.readlink(operand, ctx.cwd) + "\n")
        except VfsError:
            status = 1
    return status


async def realpath(ctx: Ctx) -> int:
    status = 0
    for operand in [a for a in ctx.args if not a.startswith("-")]:
        try:
            await ctx.out(ctx.vfs.realpath(operand, ctx.cwd) + "\n")
        except VfsError as exc:
            await ctx.err(f"realpath: {operand}: {exc.reason}\n")
            status = 1
    return status


async def mktemp(ctx: Ctx) -> int:
    flags, operands, bad = split_flags(ctx.args, "dqu")
    if bad:
        return await bad_option(ctx, bad)
    template = operands[0] if operands else posixpath.join(VIRTUAL_TMP, "tmp.XXXXXXXXXX")
    if "/" not in template:
        template = posixpath.join(ctx.env.get("TMPDIR", VIRTUAL_TMP), template)
    stem = template.rstrip("X")
    count = len(template) - len(stem)
    if count < 3:
        return await ctx.fail(f"too few X's in template '{template}'")
    alphabet = string.ascii_letters + string.digits
    path = stem + "".join(ctx.world.rng.choice(alphabet) for _ in range(count))
    try:
        if "d" in flags:
            ctx.vfs.mkdir(path, ctx.cwd, mode=0o700)
        else:
            ctx.vfs.open_file(path, ctx.cwd, mode=0o600, exclusive=True)
    except VfsError as exc:
        return await ctx.fail(f"failed to create file via template '{template}': {exc.reason}")
    await ctx.out(path + "\n")
    return 0


STAT_KINDS = {"file": "regular file", "dir": "directory", "symlink": "symbolic link"}
STAT_DIRECTIVE = re.compile(r"%(.)")


def _stat_fields(ctx: Ctx, name: str, inode: Inode) -> dict[str, str]:
    """GNU stat's format directives (the common ones)."""
    kind = STAT_KINDS[inode.kind]
    return {
        "a": format(inode.mode & 0o7777, "o"),
        "A": mode_string(inode),
        "s": str(inode.size),
        "u": str(inode.uid),
        "g": str(inode.gid),
        "U": ctx.world.user_name(inode.uid),
        "G": ctx.world.group_name(inode.gid),
        "n": name,
        "N": f"'{name}'" + (f" -> '{inode.target}'" if inode.is_symlink else ""),
        "F": "regular empty file" if kind == "regular file" and not inode.size else kind,
        "i": str(inode.ino),
        "h": str(max(1, len(inode.entries))) if inode.is_dir else "1",
        "Y": str(int(inode.mtime)),
        "X": str(int(inode.atime)),
        "%": "%",
    }


def _stat_default(fields: dict[str, str]) -> str:
    return (
        f"  File: {fields['n']}\n"
        f"  Size: {fields['s']:<15} Blocks: {(int(fields['s']) + 4095) // 4096 * 8:<10} "
        f"IO Block: 4096   {fields['F']}\n"
        f"Access: (0{fields['a']:>03}/{fields['A']})  Uid: ({fields['u']:>5}/{fields['U']:>8})   "
        f"Gid: ({fields['g']:>5}/{fields['G']:>8})\n"
    )


def _stat_format(fmt: str, fields: dict[str, str]) -> str:
    return STAT_DIRECTIVE.sub(lambda m: fields.get(m.group(1), "?"), fmt)


async def stat(ctx: Ctx) -> int:
    """`stat [-L] [-c FORMAT | --format=FORMAT | --printf=FORMAT] FILE...` (GNU coreutils 9)."""
    fmt: str | None = None
    newline = "\n"
    follow = False
    operands: list[str] = []
    args = iter(ctx.args)
    for arg in args:
        if arg in ("-c", "--format"):
            fmt = next(args, None)
            if fmt is None:
                return await ctx.fail(f"option requires an argument -- '{arg.lstrip('-')[0]}'")
        elif arg.startswith(("--format=", "--printf=")):
            fmt = arg.split("=", 1)[1]
            newline = "" if arg.startswith("--printf=") else "\n"
        elif arg in ("-L", "--dereference"):
            follow = True
        elif arg.startswith("-") and arg != "-":
            return await bad_option(ctx, arg.lstrip("-")[:1])
        else:
            operands.append(arg)
    if not operands:
        return await ctx.fail("missing operand\nTry 'stat --help' for more information.")
    status = 0
    for operand in operands:
        inode = ctx.vfs.try_lookup(operand, ctx.cwd, follow=follow)
        if inode is None:
            await ctx.err(f"stat: cannot statx '{operand}': No such file or directory\n")
            status = 1
            continue
        fields = _stat_fields(ctx, operand, inode)
        if fmt is None:
            await ctx.out(_stat_default(fields))
            continue
        await ctx.out(_stat_format(fmt, fields) + newline)
    return status


PROGRAMS: dict[str, Program] = {
    "/usr/bin/cat": cat,
    "/usr/bin/tee": tee,
    "/usr/bin/mkdir": mkdir,
    "/usr/bin/rm": rm,
    "/usr/bin/cp": cp,
    "/usr/bin/mv": mv,
    "/usr/bin/ln": ln,
    "/usr/bin/chmod": chmod,
    "/usr/bin/chown": chown,
    "/usr/bin/touch": touch,
    "/usr/bin/ls": ls,
    "/usr/bin/readlink": readlink,
    "/usr/bin/realpath": realpath,
    "/usr/bin/mktemp": mktemp,
    "/usr/bin/stat": stat,
}
