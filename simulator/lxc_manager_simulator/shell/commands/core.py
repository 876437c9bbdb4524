"""Core utilities: echo, printf, test, true/false, sleep, env, basename, date, seq, id, ..."""

from __future__ import annotations

import posixpath
import re
import shlex
import time
from dataclasses import dataclass, field

from ..base import IO, Ctx, Program
from ..streams import BytesReader
from ..testexpr import ArgvTest, TestError
from ..vfs import VfsError

ESCAPES = {
    "n": "\n",
    "t": "\t",
    "\\": "\\",
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "r": "\r",
    "v": "\v",
    "e": "\x1b",
    "E": "\x1b",
    '"': '"',
    "'": "'",
}
FORMAT_SPEC = re.compile(r"%([-+ #0]*)(\*|\d+)?(?:\.(\*|\d+))?([sbcdiouxXeEfFgG%])")


class StopOutput(Exception):
    """`\\c` in `echo -e` / `printf %b`: stop printing."""


def interpret_escapes(text: str, *, octal_needs_zero: bool) -> str:
    """Backslash escapes of `echo -e` (octal `\\0NNN`) and printf formats (`\\NNN`)."""
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char != "\\" or i + 1 >= len(text):
            out.append(char)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "c":
            raise StopOutput("".join(out))
        octal = re.match(r"0[0-7]{0,3}" if octal_needs_zero else r"[0-7]{1,3}", text[i + 1 :])
        hexa = re.match(r"x([0-9a-fA-F]{1,2})", text[i + 1 :])
        if octal:
            digits = octal.group()[1:] if octal_needs_zero else octal.group()
            out.append(chr(int(digits or "0", 8)))
            i += 1 + octal.end()
        elif hexa:
            out.append(chr(int(hexa.group(1), 16)))
            i += 1 + hexa.end()
        elif nxt in ESCAPES:
            out.append(ESCAPES[nxt])
            i += 2
        else:
            out.append("\\" + nxt)
            i += 2
    return "".join(out)


async def echo(ctx: Ctx) -> int:
    args = ctx.args
    newline, escapes = True, ctx.shell is not None and ctx.shell.shell_name == "sh"
    while args and re.fullmatch(r"-[neE]+", args[0]):
        for flag in args[0][1:]:
            newline = newline and flag != "n"
            escapes = (escapes or flag == "e") and flag != "E"
        args = args[1:]
    text = " ".join(args)
    if escapes:
        try:
            text = interpret_escapes(text, octal_needs_zero=True)
        except StopOutput as stop:
            await ctx.out(str(stop))
            return 0
    await ctx.out(text + ("\n" if newline else ""))
    return 0


async def printf(ctx: Ctx) -> int:
    args = ctx.args
    target = None
    if len(args) >= 2 and args[0] == "-v" and ctx.shell is not None:
        target, args = args[1], args[2:]
    if args and args[0] == "--":
        args = args[1:]
    if not args:
        return await ctx.fail("usage: printf [-v var] format [arguments]", 2)
    formatter = _Printf(args[0], args[1:])
    text = formatter.render()
    if target is not None and ctx.shell is not None:
        ctx.shell.assign(target, text)
    else:
        await ctx.out(text)
    for problem in formatter.problems:
        await ctx.err(f"{ctx.name}: {problem}\n")
    return 1 if formatter.problems else 0


class _Printf:
    def __init__(self, fmt: str, args: list[str]) -> None:
        self.fmt = fmt
        self.args = args
        self.index = 0
        self.problems: list[str] = []

    def _next(self) -> str | None:
        if self.index >= len(self.args):
            return None
        self.index += 1
        return self.args[self.index - 1]

    def render(self) -> str:
        out: list[str] = []
        try:
            while True:
                out.append(self._once())
                if self.index == 0 or self.index >= len(self.args):
                    break
        except StopOutput as stop:
            out.append(str(stop))
        return "".join(out)

    def _once(self) -> str:
        """One pass over the format (`%b`'s `\\c` stops everything after it)."""
        pieces: list[str] = []
        position = 0
        try:
            for match in FORMAT_SPEC.finditer(self.fmt):
                literal = self.fmt[position : match.start()]
                pieces.append(interpret_escapes(literal, octal_needs_zero=False))
                pieces.append(self._convert(match))
                position = match.end()
            pieces.append(interpret_escapes(self.fmt[position:], octal_needs_zero=False))
        except StopOutput as stop:
            raise StopOutput("".join(pieces) + str(stop)) from None
        return "".join(pieces)

    def _star(self, value: str | None) -> str | None:
        if value == "*":
            return str(self._number(self._next() or "0"))
        return value

    def _convert(self, match: re.Match[str]) -> str:
        flags, width, precision, conversion = match.groups()
        if conversion == "%":
            return "%"
        width, precision = self._star(width), self._star(precision)
        arg = self._next()
        spec = "%" + flags + (width or "") + (f".{precision}" if precision is not None else "")
        if conversion in "sb":
            text = arg or ""
            if conversion == "b":
                try:
                    text = interpret_escapes(text, octal_needs_zero=True)
                except StopOutput as stop:
                    raise StopOutput((spec + "s") % str(stop)) from None
            return (spec + "s") % text
        if conversion == "c":
            return (spec + "s") % (arg or "")[:1]
        if conversion in "diouxX":
            value = self._number(arg or "0")
            return (spec + ("d" if conversion in "iu" else conversion)) % value
        return (spec + conversion) % self._float(arg or "0")

    def _number(self, text: str) -> int:
        stripped = text.strip()
        if stripped[:1] in ("'", '"') and len(stripped) > 1:
            return ord(stripped[1])
        try:
            return (
                int(stripped, 0) if not re.fullmatch(r"[-+]?0\d+", stripped) else int(stripped, 8)
            )
        except ValueError:
            self.problems.append(f"{text}: invalid number")
            return 0

    def _float(self, text: str) -> float:
        try:
            return float(text)
        except ValueError:
            self.problems.append(f"{text}: invalid number")
            return 0.0


async def true(ctx: Ctx) -> int:
    return 0


async def false(ctx: Ctx) -> int:
    return 1


async def test(ctx: Ctx) -> int:
    args = ctx.args
    if ctx.name == "[":
        if not args or args[-1] != "]":
            return await ctx.fail("missing `]'", 2)
        args = args[:-1]
    context = f"{ctx.name}: " if ctx.shell is None else f"{ctx.shell.prefix()}{ctx.name}: "
    try:
        return 0 if ArgvTest(args, ctx.vfs, ctx.cwd, "").evaluate() else 1
    except TestError as exc:
        await ctx.err(f"{context}{exc}\n")
        return 2


def parse_duration(text: str) -> float | None:
    match = re.fullmatch(r"(\d+(?:\.\d*)?|\.\d+)([smhd]?)", text)
    if not match:
        return None
    factor = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
    return float(match.group(1)) * factor


async def sleep(ctx: Ctx) -> int:
    if not ctx.args:
        return await ctx.fail("missing operand", 1)
    total = 0.0
    for arg in ctx.args:
        seconds = parse_duration(arg)
        if seconds is None:
            return await ctx.fail(f"invalid time interval '{arg}'", 1)
        total += seconds
    await ctx.session.sleep(total)
    return 0


async def env(ctx: Ctx) -> int:
    args = ctx.args
    environment = dict(ctx.env)
    if args and args[0] in ("-i", "--ignore-environment"):
        environment, args = {}, args[1:]
    while args and "=" in args[0] and not args[0].startswith("="):
        name, _, value = args[0].partition("=")
        environment[name] = value
        args = args[1:]
    if not args:
        await ctx.out("".join(f"{k}={v}\n" for k, v in environment.items()))
        return 0
    from ..interp import CannotExecute, CommandNotFound, run_argv

    try:
        return await run_argv(ctx.world, ctx.session, args, ctx.io, environment, ctx.cwd)
    except CommandNotFound:
        return await ctx.fail(f"'{args[0]}': No such file or directory", 127)
    except CannotExecute as exc:
        return await ctx.fail(f"'{args[0]}': {exc.reason}", exc.status)


async def printenv(ctx: Ctx) -> int:
    if not ctx.args:
        await ctx.out("".join(f"{k}={v}\n" for k, v in ctx.env.items()))
        return 0
    status = 0
    for name in ctx.args:
        if name in ctx.env:
            await ctx.out(ctx.env[name] + "\n")
        else:
            status = 1
    return status


async def basename(ctx: Ctx) -> int:
    args = [a for a in ctx.args if a != "--"]
    if not args:
        return await ctx.fail("missing operand")
    name = posixpath.basename(args[0].rstrip("/")) or "/"
    if len(args) > 1 and name.endswith(args[1]) and name != args[1]:
        name = name[: -len(args[1])]
    await ctx.out(name + "\n")
    return 0


async def dirname(ctx: Ctx) -> int:
    if not ctx.args:
        return await ctx.fail("missing operand")
    for arg in ctx.args:
        stripped = arg.rstrip("/") or "/"
        parent = posixpath.dirname(stripped).rstrip("/") or (
            "/" if stripped.startswith("/") else "."
        )
        await ctx.out(parent + "\n")
    return 0


async def date(ctx: Ctx) -> int:
    now = ctx.world.clock()
    fmt = "%a %b %e %H:%M:%S %Z %Y"
    utc = True
    for arg in ctx.args:
        if arg.startswith("+"):
            fmt = arg[1:]
        elif arg in ("-u", "--utc", "-R", "-I", "--iso-8601"):
            fmt = {
                "-R": "%a, %d %b %Y %H:%M:%S +0000",
                "-I": "%Y-%m-%d",
                "--iso-8601": "%Y-%m-%d",
            }.get(arg, fmt)
    fmt = fmt.replace("%s", str(int(now))).replace("%N", f"{int((now % 1) * 1e9):09d}")
    stamp = time.gmtime(now) if utc else time.localtime(now)
    await ctx.out(time.strftime(fmt.replace("%Z", "UTC"), stamp) + "\n")
    return 0


async def uname(ctx: Ctx) -> int:
    fields = {
        "s": "Linux",
        "n": ctx.world.hostname,
        "r": "6.8.12-1-pve",
        "v": "#1 SMP PREEMPT_DYNAMIC PMX 6.8.12-1 (2024-08-05T16:17Z)",
        "m": "x86_64",
        "o": "GNU/Linux",
    }
    letters = "".join(a.lstrip("-") for a in ctx.args) or "s"
    if "a" in letters:
        letters = "snrvmo"
    await ctx.out(" ".join(fields[c] for c in "snrvmo" if c in letters) + "\n")
    return 0


async def seq(ctx: Ctx) -> int:
    numbers = [a for a in ctx.args if not a.startswith("-") or a[1:].replace(".", "").isdigit()]
    try:
        values = [int(n) for n in numbers]
    except ValueError:
        return await ctx.fail(f"invalid argument: {numbers}")
    if not 1 <= len(values) <= 3:
        return await ctx.fail("missing operand")
    first, step, last = (
        (1, 1, values[0])
        if len(values) == 1
        else ((values[0], 1, values[1]) if len(values) == 2 else (values[0], values[1], values[2]))
    )
    if step == 0:
        return await ctx.fail("invalid Zero increment value: '0'")
    stop = last + (1 if step > 0 else -1)
    await ctx.out("".join(f"{n}\n" for n in range(first, stop, step)))
    return 0


async def id_command(ctx: Ctx) -> int:
    args = [a for a in ctx.args if a.startswith("-")]
    names = [a for a in ctx.args if not a.startswith("-")]
    account = ctx.world.account(names[0] if names else ctx.session.user)
    if account is None:
        return await ctx.fail(f"'{names[0]}': no such user")
    everything = ctx.world.groups()
    groups = [g for g in everything if g.gid == account.gid]
    groups += [g for g in everything if account.name in g.members and g.gid != account.gid]
    flags = "".join(a.lstrip("-") for a in args)
    if "u" in flags:
        await ctx.out((account.name if "n" in flags else str(account.uid)) + "\n")
    elif "g" in flags and "G" not in flags:
        primary = ctx.world.group_name(account.gid)
        await ctx.out((primary if "n" in flags else str(account.gid)) + "\n")
    elif "G" in flags:
        await ctx.out(" ".join(g.name if "n" in flags else str(g.gid) for g in groups) + "\n")
    else:
        listing = ",".join(f"{g.gid}({g.name})" for g in groups)
        await ctx.out(
            f"uid={account.uid}({account.name}) gid={account.gid}"
            f"({ctx.world.group_name(account.gid)}) groups={listing}\n"
        )
    return 0


async def whoami(ctx: Ctx) -> int:
    await ctx.out(ctx.session.user + "\n")
    return 0


async def which(ctx: Ctx) -> int:
    status = 0
    for name in [a for a in ctx.args if not a.startswith("-")]:
        path = ctx.world.find_command(name, ctx.env.get("PATH", ""), ctx.cwd)
        if path is None:
            status = 1
        else:
            await ctx.out(path + "\n")
    return status


async def xargs(ctx: Ctx) -> int:
    args = ctx.args
    skip_empty = False
    while args and args[0].startswith("-"):
        skip_empty = skip_empty or args[0] in ("-r", "--no-run-if-empty")
        args = args[1:]
    words = shlex.split((await ctx.stdin.read()).decode("utf-8", "surrogateescape"))
    if not words and skip_empty:
        return 0
    from ..interp import CannotExecute, CommandNotFound, run_argv

    command = (args or ["echo"]) + words
    try:
        status = await run_argv(ctx.world, ctx.session, command, ctx.io, ctx.env, ctx.cwd)
    except CommandNotFound:
        return await ctx.fail(f"{command[0]}: No such file or directory", 127)
    except CannotExecute as exc:
        return await ctx.fail(f"{command[0]}: {exc.reason}", exc.status)
    return 123 if status else 0


@dataclass
class ShellArgs:
    options: set[str]
    command: str | None = None  # -c STRING
    from_stdin: bool = False  # -s, or no script operand
    script_path: str | None = None
    script_name: str = "bash"
    positional: list[str] = field(default_factory=list)


SHELL_LETTERS = {"e": "errexit", "u": "nounset", "x": "xtrace"}


def parse_shell_args(name: str, args: list[str]) -> ShellArgs | str:
    """bash's command line: options, then `-c STRING [NAME ARGS]`, `-s ARGS` or `FILE ARGS`."""
    parsed = ShellArgs(options=set(), script_name=name)
    letters: set[str] = set()
    index = 0
    while index < len(args):
        arg = args[index]
        if arg in ("--", "-"):
            index += 1
            break
        if arg in ("-o", "+o") and index + 1 < len(args):
            parsed.options.add(args[index + 1])
            index += 2
            continue
        if arg.startswith("--") or not arg.startswith("-") or len(arg) < 2:
            if arg.startswith("--") and arg in ("--login", "--noprofile", "--norc"):
                index += 1
                continue
            break
        bad = [c for c in arg[1:] if c not in "cseuxvli"]
        if bad:
            return f"-{bad[0]}: invalid option"
        letters.update(arg[1:])
        index += 1
    rest = args[index:]
    parsed.options.update(SHELL_LETTERS[c] for c in letters if c in SHELL_LETTERS)
    if "c" in letters:
        if not rest:
            return "-c: option requires an argument"
        parsed.command = rest[0]
        parsed.script_name = rest[1] if len(rest) > 1 else name
        parsed.positional = rest[2:]
    elif "s" in letters or not rest:
        parsed.from_stdin = True
        parsed.positional = rest
    else:
        parsed.script_path = rest[0]
        parsed.script_name = rest[0]
        parsed.positional = rest[1:]
    return parsed


async def shell_program(ctx: Ctx) -> int:
    """bash / sh. A script read from stdin is read whole before it runs; its commands then
    see an empty stdin (real bash would hand them the unread rest of the script)."""
    from ..interp import Interpreter

    name = "sh" if ctx.name in ("sh", "dash") else "bash"
    parsed = parse_shell_args(name, ctx.args)
    if isinstance(parsed, str):
        return await ctx.fail(parsed, 2)
    stdin = ctx.stdin
    if parsed.command is not None:
        source = parsed.command
    elif parsed.from_stdin:
        source = (await ctx.stdin.read()).decode("utf-8", "surrogateescape")
        stdin = BytesReader(b"")
    else:
        try:
            source = ctx.vfs.read_text(parsed.script_path or "", ctx.cwd)
        except VfsError as exc:
            await ctx.err(f"{name}: {parsed.script_path}: {exc.reason}\n")
            return 127
    shell = Interpreter(
        ctx.world, ctx.session, env=dict(ctx.env), cwd=ctx.cwd, name=name, args=parsed.positional
    )
    shell.state.script_name = parsed.script_name
    shell.state.options.update(parsed.options)
    return await shell.run(source, IO(stdin, ctx.io.stdout, ctx.io.stderr))


PROGRAMS: dict[str, Program] = {
    "/usr/bin/echo": echo,
    "/usr/bin/printf": printf,
    "/usr/bin/true": true,
    "/usr/bin/false": false,
    "/usr/bin/test": test,
    "/usr/bin/[": test,
    "/usr/bin/sleep": sleep,
    "/usr/bin/env": env,
    "/usr/bin/printenv": printenv,
    "/usr/bin/basename": basename,
    "/usr/bin/dirname": dirname,
    "/usr/bin/date": date,
    "/usr/bin/uname": uname,
    "/usr/bin/seq": seq,
    "/usr/bin/id": id_command,
    "/usr/bin/whoami": whoami,
    "/usr/bin/which": which,
    "/usr/bin/xargs": xargs,
    "/usr/bin/bash": shell_program,
    "/usr/bin/sh": shell_program,
}
SHELL_UTILITIES: dict[str, Program] = {
    "echo": echo,
    "printf": printf,
    "true": true,
    "false": false,
    ":": true,
    "test": test,
    "[": test,
}
