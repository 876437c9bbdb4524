"""Text filters: grep, sed, awk, head, tail, cut, wc, sort, uniq, tr."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

from ..base import Ctx, Program
from ..vfs import VfsError
from .awk import AwkError, AwkProgram

POSIX_CLASSES = {
    "[:alpha:]": "a-zA-Z",
    "[:digit:]": "0-9",
    "[:alnum:]": "a-zA-Z0-9",
    "[:upper:]": "A-Z",
    "[:lower:]": "a-z",
    "[:space:]": r" \t\n\r\f\v",
    "[:blank:]": r" \t",
    "[:punct:]": r"!-/:-@\[-`{-~",
    "[:xdigit:]": "0-9A-Fa-f",
    "[:cntrl:]": r"\x00-\x1f",
}


def posix_regex(pattern: str, *, extended: bool) -> str:
    """A POSIX basic/extended regular expression translated to Python's syntax."""
    for name, replacement in POSIX_CLASSES.items():
        pattern = pattern.replace(name, replacement)
    if extended:
        return pattern
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            out.append(nxt if nxt in "(){}|+?" else "\\" + nxt)
            i += 2
            continue
        out.append("\\" + char if char in "(){}|+?" else char)
        i += 1
    return "".join(out)


async def read_lines(ctx: Ctx, operand: str) -> AsyncIterator[str]:
    """Lines (with their newlines) of a file operand or, for `-`, of stdin as they arrive."""
    if operand == "-":
        while raw := await ctx.stdin.readline():
            yield raw.decode("utf-8", "surrogateescape")
        return
    text = ctx.vfs.read_text(operand, ctx.cwd)
    for line in text.splitlines(keepends=True):
        yield line


async def read_all(ctx: Ctx, operands: list[str]) -> tuple[str, int]:
    """The concatenated text of the operands (stdin when none) and an error status."""
    parts: list[str] = []
    status = 0
    for operand in operands or ["-"]:
        if operand == "-":
            parts.append(await ctx.stdin.read_text())
            continue
        try:
            parts.append(ctx.vfs.read_text(operand, ctx.cwd))
        except VfsError as exc:
            await ctx.err(f"{ctx.name}: {operand}: {exc.reason}\n")
            status = 1
    return "".join(parts), status


def _lines(text: str) -> list[str]:
    return text.splitlines()


# -- grep -------------------------------------------------------------------------------------------
async def grep(ctx: Ctx) -> int:
    options = _GrepOptions()
    problem = options.parse(ctx.args)
    if problem:
        await ctx.err(f"grep: {problem}\n")
        return 2
    try:
        regex = options.compile()
    except re.error as exc:
        await ctx.err(f"grep: invalid regular expression: {exc}\n")
        return 2
    found = False
    status = 0
    files = options.files or ["-"]
    for operand in files:
        try:
            matched = await _grep_one(ctx, options, regex, operand, len(files) > 1)
        except VfsError as exc:
            if not options.silent_errors:
                await ctx.err(f"grep: {operand}: {exc.reason}\n")
            status = 2
            continue
        found = found or matched
        if found and options.quiet:
            return 0
    return 0 if found else (status or 1)


class _GrepOptions:
    def __init__(self) -> None:
        self.patterns: list[str] = []
        self.files: list[str] = []
        self.flags: set[str] = set()

    def parse(self, args: list[str]) -> str | None:
        index = 0
        positional: list[str] = []
        while index < len(args):
            arg = args[index]
            if arg == "--":
                positional.extend(args[index + 1 :])
                break
            if arg in ("-e", "--regexp") and index + 1 < len(args):
                self.patterns.append(args[index + 1])
                index += 2
                continue
            if arg.startswith("--"):
                self.flags.add(
                    {
                        "--quiet": "q",
                        "--silent": "q",
                        "--count": "c",
                        "--ignore-case": "i",
                        "--invert-match": "v",
                    }.get(arg, arg)
                )
            elif arg.startswith("-") and len(arg) > 1:
                unknown = [c for c in arg[1:] if c not in "ivcqnEFowxlhHsr"]
                if unknown:
                    return f"invalid option -- '{unknown[0]}'"
                self.flags.update(arg[1:])
            else:
                positional.append(arg)
            index += 1
        if not self.patterns:
            if not positional:
                return "Usage: grep [OPTION]... PATTERNS [FILE]..."
            self.patterns.append(positional.pop(0))
        self.files = positional
        return None

    @property
    def quiet(self) -> bool:
        return "q" in self.flags

    @property
    def silent_errors(self) -> bool:
        return "s" in self.flags

    def compile(self) -> re.Pattern[str]:
        parts = []
        for pattern in self.patterns:
            for line in pattern.split("\n"):
                if "F" in self.flags:
                    parts.append(re.escape(line))
                else:
                    parts.append(posix_regex(line, extended="E" in self.flags))
        regex = "|".join(f"(?:{p})" for p in parts)
        if "w" in self.flags:
            regex = rf"(?<!\w)(?:{regex})(?!\w)"
        if "x" in self.flags:
            regex = rf"^(?:{regex})$"
        return re.compile(regex, re.IGNORECASE if "i" in self.flags else 0)


async def _grep_one(
    ctx: Ctx, options: _GrepOptions, regex: re.Pattern[str], operand: str, many: bool
) -> bool:
    flags = options.flags
    label = "(standard input)" if operand == "-" else operand
    prefix = f"{label}:" if (many or "H" in flags) and "h" not in flags else ""
    count = 0
    number = 0
    async for line in read_lines(ctx, operand):
        number += 1
        text = line.rstrip("\n")
        matches = list(regex.finditer(text))
        if bool(matches) == ("v" in flags):
            continue
        count += 1
        if options.quiet or "l" in flags or "c" in flags:
            if options.quiet:
                return True
            continue
        line_prefix = prefix + (f"{number}:" if "n" in flags else "")
        if "o" in flags and "v" not in flags:
            await ctx.out("".join(f"{line_prefix}{m.group()}\n" for m in matches if m.group()))
        else:
            await ctx.out(f"{line_prefix}{text}\n")
    if "c" in flags:
        await ctx.out(f"{prefix}{count}\n")
    if "l" in flags and count:
        await ctx.out(f"{label}\n")
    return count > 0


# -- sed ----------------------------------------------------------------------------------------------
class SedError(Exception):
    pass


class _SedCommand:
    def __init__(
        self,
        address: tuple[str, str] | None,
        name: str,
        regex: re.Pattern[str] | None = None,
        replacement: str = "",
        count: int = 1,
        print_after: bool = False,
    ) -> None:
        self.address = address
        self.name = name
        self.regex = regex
        self.replacement = replacement
        self.count = count  # 0 = every occurrence
        self.print_after = print_after

    def applies(self, line: str, number: int, last: bool) -> bool:
        if self.address is None:
            return True
        kind, value = self.address
        if kind == "line":
            return number == int(value)
        if kind == "last":
            return last
        return re.search(value, line) is not None

    def substitute(self, line: str) -> tuple[str, bool]:
        assert self.regex is not None
        seen = 0
        changed = False

        def replace(match: re.Match[str]) -> str:
            nonlocal seen, changed
            seen += 1
            if self.count and seen != self.count:
                return match.group()
            changed = True
            return _sed_replacement(self.replacement, match)

        result = self.regex.sub(replace, line)
        return result, changed


def _sed_replacement(template: str, match: re.Match[str]) -> str:
    out: list[str] = []
    i = 0
    while i < len(template):
        char = template[i]
        if char == "\\" and i + 1 < len(template):
            nxt = template[i + 1]
            if nxt.isdigit():
                out.append(match.group(int(nxt)) or "")
            else:
                out.append({"n": "\n", "t": "\t"}.get(nxt, nxt))
            i += 2
            continue
        out.append(match.group() if char == "&" else char)
        i += 1
    return "".join(out)


def parse_sed_script(script: str, extended: bool) -> list[_SedCommand]:
    commands: list[_SedCommand] = []
    i = 0
    while i < len(script):
        if script[i] in " \t\n;":
            i += 1
            continue
        address, i = _sed_address(script, i, extended)
        if i >= len(script):
            raise SedError("missing command")
        name = script[i]
        if name == "s":
            command, i = _sed_substitution(script, i + 1, extended, address)
            commands.append(command)
        elif name in "dpq":
            commands.append(_SedCommand(address, name))
            i += 1
        else:
            raise SedError(f"unknown command: `{name}'")
    return commands


def _sed_address(script: str, i: int, extended: bool) -> tuple[tuple[str, str] | None, int]:
    match = re.match(r"\d+", script[i:])
    if match:
        return ("line", match.group()), i + match.end()
    if script[i] == "$":
        return ("last", ""), i + 1
    if script[i] == "/":
        end = _delimited(script, i + 1, "/")
        return ("regex", posix_regex(script[i + 1 : end], extended=extended)), end + 1
    return None, i


def _delimited(script: str, i: int, delimiter: str) -> int:
    while i < len(script):
        if script[i] == "\\":
            i += 2
            continue
        if script[i] == delimiter:
            return i
        i += 1
    raise SedError("unterminated `s' command")


def _sed_substitution(
    script: str, i: int, extended: bool, address: tuple[str, str] | None
) -> tuple[_SedCommand, int]:
    if i >= len(script):
        raise SedError("unterminated `s' command")
    delimiter = script[i]
    pattern_end = _delimited(script, i + 1, delimiter)
    replacement_end = _delimited(script, pattern_end + 1, delimiter)
    pattern = script[i + 1 : pattern_end].replace("\\" + delimiter, delimiter)
    replacement = script[pattern_end + 1 : replacement_end].replace("\\" + delimiter, delimiter)
    j = replacement_end + 1
    flags = ""
    while j < len(script) and script[j] not in ";\n}":
        flags += script[j]
        j += 1
    occurrence = re.search(r"\d+", flags)
    count = 0 if "g" in flags else int(occurrence.group()) if occurrence else 1
    regex = re.compile(
        posix_regex(pattern, extended=extended),
        re.IGNORECASE if ("I" in flags or "i" in flags) else 0,
    )
    return _SedCommand(address, "s", regex, replacement, count, "p" in flags), j


async def sed(ctx: Ctx) -> int:
    args = list(ctx.args)
    scripts: list[str] = []
    files: list[str] = []
    quiet = extended = in_place = False
    index = 0
    while index < len(args):
        arg = args[index]
        if arg in ("-e", "--expression") and index + 1 < len(args):
            scripts.append(args[index + 1])
            index += 2
            continue
        if arg.startswith("-i") or arg == "--in-place":
            in_place = True
        elif arg in ("-n", "--quiet", "--silent"):
            quiet = True
        elif arg in ("-E", "-r", "--regexp-extended"):
            extended = True
        elif arg.startswith("-") and len(arg) > 1:
            quiet = quiet or "n" in arg
            extended = extended or "E" in arg or "r" in arg
            in_place = in_place or "i" in arg
        elif not scripts:
            scripts.append(arg)
        else:
            files.append(arg)
        index += 1
    if not scripts:
        return await ctx.fail("no script specified", 1)
    try:
        commands = parse_sed_script("\n".join(scripts), extended)
    except (SedError, re.error) as exc:
        return await ctx.fail(f"-e expression #1: {exc}", 1)
    if in_place:
        return await _sed_in_place(ctx, commands, files, quiet)
    text, status = await read_all(ctx, files)
    await ctx.out(run_sed(commands, text, quiet))
    return status


async def _sed_in_place(
    ctx: Ctx, commands: list[_SedCommand], files: list[str], quiet: bool
) -> int:
    if not files:
        return await ctx.fail("no input files", 1)
    status = 0
    for path in files:
        try:
            text = ctx.vfs.read_text(path, ctx.cwd)
        except VfsError as exc:
            await ctx.err(f"sed: can't read {path}: {exc.reason}\n")
            status = 2
            continue
        inode = ctx.vfs.lookup(path, ctx.cwd)
        inode.data[:] = run_sed(commands, text, quiet).encode("utf-8", "surrogateescape")
        ctx.vfs.touch_inode(inode)
    return status


def run_sed(commands: list[_SedCommand], text: str, quiet: bool) -> str:
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    for number, raw in enumerate(lines, start=1):
        newline = "\n" if raw.endswith("\n") else ""
        line = raw.removesuffix("\n")
        last = number == len(lines)
        deleted = stop = False
        for command in commands:
            if not command.applies(line, number, last):
                continue
            if command.name == "d":
                deleted = True
                break
            if command.name == "p":
                out.append(line + "\n")
            elif command.name == "q":
                stop = True
                break
            elif command.name == "s":
                line, changed = command.substitute(line)
                if changed and command.print_after:
                    out.append(line + "\n")
        if not deleted and not quiet:
            out.append(line + newline)
        if stop:
            break
    return "".join(out)


# -- awk ----------------------------------------------------------------------------------------------
async def awk(ctx: Ctx) -> int:
    args = list(ctx.args)
    separator: str | None = None
    assignments: dict[str, str] = {}
    while args and args[0].startswith("-") and len(args[0]) > 1:
        arg = args.pop(0)
        if arg.startswith("-F"):
            separator = arg[2:] or (args.pop(0) if args else " ")
        elif arg == "-v" and args:
            name, _, value = args.pop(0).partition("=")
            assignments[name] = value
        elif arg == "--":
            break
    if not args:
        return await ctx.fail("usage: awk [-F fs][-v var=value][prog | -f progfile][file ...]", 2)
    try:
        program = AwkProgram(args[0], separator, assignments)
    except AwkError as exc:
        return await ctx.fail(f"syntax error: {exc}", 2)
    text, status = await read_all(ctx, args[1:])
    try:
        await ctx.out(program.run(text))
    except AwkError as exc:
        return await ctx.fail(f"fatal: {exc}", 2)
    return status


# -- head / tail ------------------------------------------------------------------------------------------
def _count_option(args: list[str], default: int) -> tuple[str, int, bool, list[str], bool]:
    """(`n` or `c`, count, counted-from-start (`+N`/`-N` meaning), operands, follow)."""
    unit, count, plus, follow = "n", default, False, False
    operands: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg in ("-n", "-c", "--lines", "--bytes") and index + 1 < len(args):
            unit = "c" if arg in ("-c", "--bytes") else "n"
            value = args[index + 1]
            index += 2
        elif re.fullmatch(r"-[nc][+-]?\d+", arg):
            unit, value = arg[1], arg[2:]
            index += 1
        elif re.fullmatch(r"-\d+", arg):
            value = arg[1:]
            index += 1
        elif arg in ("-f", "-F", "--follow"):
            follow = True
            index += 1
            continue
        elif arg in ("-q", "-s", "-v"):
            index += 1
            continue
        else:
            operands.append(arg)
            index += 1
            continue
        plus = value.startswith("+")
        count = -int(value[1:]) if value.startswith("-") else int(value.lstrip("+"))
    return unit, count, plus, operands, follow


async def head(ctx: Ctx) -> int:
    unit, count, _, operands, _ = _count_option(ctx.args, 10)
    status = 0
    for index, operand in enumerate(operands or ["-"]):
        if len(operands) > 1:
            await ctx.out(("\n" if index else "") + f"==> {operand} <==\n")
        try:
            if unit == "c":
                data = await _operand_bytes(ctx, operand)
                await ctx.out(data[:count] if count >= 0 else data[: count or None])
            elif count >= 0:
                await _head_lines(ctx, operand, count)
            else:
                lines = (await _operand_bytes(ctx, operand)).splitlines(keepends=True)
                await ctx.out(b"".join(lines[:count]))
        except VfsError as exc:
            await ctx.err(f"head: cannot open '{operand}' for reading: {exc.reason}\n")
            status = 1
    return status


async def _head_lines(ctx: Ctx, operand: str, count: int) -> None:
    """The first lines, streamed: stops reading (closing a pipe) once it has enough."""
    if count == 0:
        return
    seen = 0
    async for line in read_lines(ctx, operand):
        await ctx.out(line)
        seen += 1
        if seen >= count:
            if operand == "-":
                ctx.stdin.close()
            return


async def _operand_bytes(ctx: Ctx, operand: str) -> bytes:
    if operand == "-":
        return await ctx.stdin.read()
    return ctx.vfs.read_bytes(operand, ctx.cwd)


async def tail(ctx: Ctx) -> int:
    unit, count, plus, operands, follow = _count_option(ctx.args, 10)
    status = 0
    for index, operand in enumerate(operands or ["-"]):
        if len(operands) > 1:
            await ctx.out(("\n" if index else "") + f"==> {operand} <==\n")
        try:
            data = await _operand_bytes(ctx, operand)
        except VfsError as exc:
            await ctx.err(f"tail: cannot open '{operand}' for reading: {exc.reason}\n")
            status = 1
            continue
        await ctx.out(_tail_slice(data, unit, abs(count), plus))
    if follow and operands and status == 0:
        await _follow(ctx, operands[-1])
    return status


def _tail_slice(data: bytes, unit: str, count: int, plus: bool) -> bytes:
    if unit == "c":
        return data[max(0, count - 1) :] if plus else (data[-count:] if count else b"")
    lines = data.splitlines(keepends=True)
    if plus:
        return b"".join(lines[max(0, count - 1) :])
    return b"".join(lines[-count:]) if count else b""


async def _follow(ctx: Ctx, path: str) -> None:
    """`tail -f`: print what is appended to the file until the command is cancelled."""
    size = len(ctx.vfs.read_bytes(path, ctx.cwd))
    while True:
        await ctx.session.sleep(0.2)
        try:
            data = ctx.vfs.read_bytes(path, ctx.cwd)
        except VfsError:
            continue
        if len(data) > size:
            await ctx.out(data[size:])
        size = len(data)


# -- cut / wc / sort / uniq / tr ----------------------------------------------------------------------------
def parse_ranges(spec: str) -> list[tuple[int, int]] | None:
    ranges = []
    for part in spec.split(","):
        match = re.fullmatch(r"(\d*)-?(\d*)", part)
        if not match or not part or part == "-":
            return None
        start, end = match.groups()
        low = int(start) if start else 1
        high = int(end) if end else (low if "-" not in part else 10**9)
        ranges.append((low, high))
    return ranges


def _select(items: list[str], ranges: list[tuple[int, int]]) -> list[str]:
    return [
        item
        for index, item in enumerate(items, start=1)
        if any(low <= index <= high for low, high in ranges)
    ]


async def cut(ctx: Ctx) -> int:
    args = list(ctx.args)
    delimiter, fields, chars, only_delimited = "\t", None, None, False
    operands: list[str] = []
    while args:
        arg = args.pop(0)
        if arg.startswith("-d"):
            delimiter = arg[2:] or (args.pop(0) if args else "\t")
        elif arg.startswith("-f"):
            fields = arg[2:] or (args.pop(0) if args else "")
        elif arg.startswith("-c") or arg.startswith("-b"):
            chars = arg[2:] or (args.pop(0) if args else "")
        elif arg == "-s":
            only_delimited = True
        else:
            operands.append(arg)
    spec = fields if fields is not None else chars
    ranges = parse_ranges(spec or "")
    if ranges is None:
        return await ctx.fail("you must specify a list of bytes, characters, or fields")
    if len(delimiter) != 1:
        return await ctx.fail("the delimiter must be a single character")
    text, status = await read_all(ctx, operands)
    out: list[str] = []
    for line in _lines(text):
        if fields is None:
            out.append("".join(_select(list(line), ranges)))
        elif delimiter not in line:
            if not only_delimited:
                out.append(line)
        else:
            out.append(delimiter.join(_select(line.split(delimiter), ranges)))
    await ctx.out("".join(f"{line}\n" for line in out))
    return status


async def wc(ctx: Ctx) -> int:
    flags = {c for a in ctx.args if a.startswith("-") and len(a) > 1 for c in a[1:]}
    operands = [a for a in ctx.args if not a.startswith("-") or a == "-"]
    chosen = [c for c in "lwmc" if c in flags] or ["l", "w", "c"]
    rows: list[tuple[list[int], str]] = []
    status = 0
    for operand in operands or ["-"]:
        try:
            data = await _operand_bytes(ctx, operand)
        except VfsError as exc:
            await ctx.err(f"wc: {operand}: {exc.reason}\n")
            status = 1
            continue
        text = data.decode("utf-8", "surrogateescape")
        counts = {"l": data.count(b"\n"), "w": len(text.split()), "m": len(text), "c": len(data)}
        rows.append(
            ([counts[c] for c in chosen], "" if operand == "-" and not operands else operand)
        )
    if len(rows) > 1:
        totals = [sum(r[0][i] for r in rows) for i in range(len(chosen))]
        rows.append((totals, "total"))
    width = (
        7
        if not operands and len(chosen) > 1
        else max([len(str(n)) for values, _ in rows for n in values] + [1])
    )
    if len(chosen) == 1 and not operands:
        width = 1
    for numbers, name in rows:
        line = " ".join(f"{n:>{width}}" for n in numbers)
        await ctx.out(f"{line} {name}\n" if name else f"{line}\n")
    return status


async def sort(ctx: Ctx) -> int:
    args = list(ctx.args)
    flags: set[str] = set()
    key: tuple[int, int | None] | None = None
    separator: str | None = None
    operands: list[str] = []
    while args:
        arg = args.pop(0)
        if arg.startswith("-k"):
            spec = arg[2:] or (args.pop(0) if args else "1")
            start, _, end = spec.partition(",")
            key = (int(re.sub(r"\D", "", start) or 1), int(re.sub(r"\D", "", end)) if end else None)
            flags.update(c for c in spec if c in "nr")
        elif arg.startswith("-t"):
            separator = arg[2:] or (args.pop(0) if args else None)
        elif arg.startswith("-") and len(arg) > 1:
            flags.update(arg[1:])
        else:
            operands.append(arg)
    text, status = await read_all(ctx, operands)
    lines = _lines(text)

    def sort_key(line: str) -> tuple[float, str] | str:
        field = line
        if key is not None:
            parts = line.split(separator) if separator else line.split()
            start, end = key
            selected = parts[start - 1 : end if end else None]
            field = (separator or " ").join(selected)
        if "f" in flags:
            field = field.lower()
        if "n" in flags or "h" in flags:
            match = re.match(r"\s*(-?\d+(?:\.\d+)?)", field)
            return (float(match.group(1)) if match else 0.0, field)
        return field

    lines.sort(key=sort_key, reverse="r" in flags)
    if "u" in flags:
        unique: list[str] = []
        for line in lines:
            if not unique or sort_key(unique[-1]) != sort_key(line):
                unique.append(line)
        lines = unique
    await ctx.out("".join(f"{line}\n" for line in lines))
    return status


async def uniq(ctx: Ctx) -> int:
    flags = {c for a in ctx.args if a.startswith("-") and len(a) > 1 for c in a[1:]}
    operands = [a for a in ctx.args if not a.startswith("-") or a == "-"]
    text, status = await read_all(ctx, operands[:1])
    groups: list[tuple[str, int]] = []
    for line in _lines(text):
        same = groups and (
            groups[-1][0].lower() == line.lower() if "i" in flags else groups[-1][0] == line
        )
        if same:
            groups[-1] = (groups[-1][0], groups[-1][1] + 1)
        else:
            groups.append((line, 1))
    out: list[str] = []
    for line, count in groups:
        if ("d" in flags and count < 2) or ("u" in flags and count > 1):
            continue
        out.append(f"{count:>7} {line}\n" if "c" in flags else f"{line}\n")
    await ctx.out("".join(out))
    return status


TR_CLASSES = {
    "[:upper:]": "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "[:lower:]": "abcdefghijklmnopqrstuvwxyz",
    "[:digit:]": "0123456789",
    "[:space:]": " \t\n\r\f\v",
    "[:blank:]": " \t",
    "[:punct:]": "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
}
TR_CLASSES["[:alpha:]"] = TR_CLASSES["[:upper:]"] + TR_CLASSES["[:lower:]"]
TR_CLASSES["[:alnum:]"] = TR_CLASSES["[:alpha:]"] + TR_CLASSES["[:digit:]"]


def expand_tr_set(spec: str) -> str:
    for name, chars in TR_CLASSES.items():
        spec = spec.replace(name, chars)
    spec = re.sub(
        r"\\(.)",
        lambda m: {"n": "\n", "t": "\t", "r": "\r", "\\": "\\"}.get(m.group(1), m.group(1)),
        spec,
    )
    out: list[str] = []
    i = 0
    while i < len(spec):
        if i + 2 < len(spec) and spec[i + 1] == "-":
            out.extend(chr(c) for c in range(ord(spec[i]), ord(spec[i + 2]) + 1))
            i += 3
        else:
            out.append(spec[i])
            i += 1
    return "".join(out)


async def tr(ctx: Ctx) -> int:
    flags = {c for a in ctx.args if re.fullmatch(r"-[dsc]+", a) for c in a[1:]}
    sets = [a for a in ctx.args if not re.fullmatch(r"-[dsc]+", a)]
    if not sets:
        return await ctx.fail("missing operand")
    first = expand_tr_set(sets[0])
    second = expand_tr_set(sets[1]) if len(sets) > 1 else ""
    text = await ctx.stdin.read_text()
    if "d" in flags:
        text = "".join(c for c in text if (c in first) == ("c" in flags))
        squeeze = second
    else:
        if second:
            padded = second + second[-1] * max(0, len(first) - len(second))
            table = {ord(a): b for a, b in zip(first, padded, strict=False)}
            text = text.translate(table)
        squeeze = second or first
    if "s" in flags:
        text = re.sub("([" + re.escape(squeeze) + r"])\1+", r"\1", text) if squeeze else text
    await ctx.out(text)
    return 0


PROGRAMS: dict[str, Program] = {
    "/usr/bin/grep": grep,
    "/usr/bin/sed": sed,
    "/usr/bin/awk": awk,
    "/usr/bin/head": head,
    "/usr/bin/tail": tail,
    "/usr/bin/cut": cut,
    "/usr/bin/wc": wc,
    "/usr/bin/sort": sort,
    "/usr/bin/uniq": uniq,
    "/usr/bin/tr": tr,
}
