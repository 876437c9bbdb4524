"""Shell builtins: the commands that read or change the interpreter's own state."""

from __future__ import annotations

import shlex
from collections.abc import Callable

from .base import IO, ExitSignal, LoopSignal, ReturnSignal
from .expand import NAME, ExpansionError
from .interp import Builtin, Interpreter
from .parser import ShellSyntaxError, parse
from .vfs import VfsError

OPTION_LETTERS = {"e": "errexit", "u": "nounset", "x": "xtrace"}
LONG_OPTIONS = {"errexit", "nounset", "xtrace", "pipefail", "noclobber", "noglob"}


def builtin(*names: str) -> Callable[[Builtin], Builtin]:
    def register(function: Builtin) -> Builtin:
        for name in names:
            Interpreter.builtins[name] = function
        return function

    return register


async def _error(shell: Interpreter, io: IO, name: str, message: str, status: int = 1) -> int:
    await shell.error(io, f"{name}: {message}")
    return status


# -- directories --------------------------------------------------------------------------------
@builtin("cd")
async def cd(shell: Interpreter, argv: list[str], io: IO) -> int:
    args = [a for a in argv[1:] if a not in ("-L", "-P", "--")]
    state = shell.state
    if not args:
        target = state.variables.get("HOME", "/")
    elif args[0] == "-":
        target = state.variables.get("OLDPWD", state.cwd)
        await io.stdout.write(target + "\n")
    else:
        target = args[0]
    vfs = shell.world.vfs
    inode = vfs.try_lookup(target, state.cwd)
    if inode is None:
        return await _error(shell, io, "cd", f"{target}: No such file or directory")
    if not inode.is_dir:
        return await _error(shell, io, "cd", f"{target}: Not a directory")
    state.variables["OLDPWD"] = state.cwd
    shell.assign("PWD", vfs.abspath(target, state.cwd))
    return 0


@builtin("pwd")
async def pwd(shell: Interpreter, argv: list[str], io: IO) -> int:
    await io.stdout.write(shell.state.cwd + "\n")
    return 0


# -- variables ----------------------------------------------------------------------------------
def _split_assignment(arg: str) -> tuple[str, str | None]:
    name, sep, value = arg.partition("=")
    return name, (value if sep else None)


@builtin("export")
async def export(shell: Interpreter, argv: list[str], io: IO) -> int:
    args = argv[1:]
    unexport = "-n" in args
    names = [a for a in args if not a.startswith("-")]
    if not names:
        for name in sorted(shell.state.exported):
            value = shell.state.variables.get(name)
            if value is not None:
                await io.stdout.write(f'declare -x {name}="{_dq(value)}"\n')
        return 0
    status = 0
    for arg in names:
        name, value = _split_assignment(arg)
        if not NAME.fullmatch(name):
            status = await _error(shell, io, "export", f"`{arg}': not a valid identifier")
            continue
        if value is not None:
            shell.assign(name, value)
        if unexport:
            shell.state.exported.discard(name)
        else:
            shell.state.exported.add(name)
    return status


def _dq(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")


@builtin("readonly")
async def readonly(shell: Interpreter, argv: list[str], io: IO) -> int:
    status = 0
    for arg in [a for a in argv[1:] if not a.startswith("-")]:
        name, value = _split_assignment(arg)
        if not NAME.fullmatch(name):
            status = await _error(shell, io, "readonly", f"`{arg}': not a valid identifier")
            continue
        if value is not None:
            shell.assign(name, value)
        shell.state.readonly.add(name)
    return status


@builtin("local")
async def local(shell: Interpreter, argv: list[str], io: IO) -> int:
    if not shell.in_function:
        return await _error(shell, io, "local", "can only be used in a function")
    return await _declare_names(
        shell,
        [a for a in argv[1:] if not a.startswith("-")],
        io,
        "local",
        make_local=True,
        flags="".join(a[1:] for a in argv[1:] if a.startswith("-")),
    )


@builtin("declare", "typeset")
async def declare(shell: Interpreter, argv: list[str], io: IO) -> int:
    flags = "".join(a[1:] for a in argv[1:] if a.startswith("-"))
    names = [a for a in argv[1:] if not a.startswith(("-", "+"))]
    if "a" in flags or "A" in flags:
        return await _error(shell, io, argv[0], "arrays are not supported by the simulator", 2)
    if "f" in flags:
        missing = [n for n in names if n not in shell.state.functions]
        return 1 if missing else 0
    if "p" in flags or not names:
        for name in names or sorted(shell.state.variables):
            value = shell.state.variables.get(name)
            if value is None:
                return await _error(shell, io, argv[0], f"{name}: not found")
            await io.stdout.write(f'declare -- {name}="{_dq(value)}"\n')
        return 0
    return await _declare_names(
        shell,
        names,
        io,
        argv[0],
        make_local=shell.in_function and "g" not in flags,
        flags=flags,
    )


async def _declare_names(
    shell: Interpreter,
    names: list[str],
    io: IO,
    builtin_name: str,
    *,
    make_local: bool,
    flags: str,
) -> int:
    """declare/local NAME[=VALUE]: `-x` exports, `-r` makes read-only, `-i` evaluates
    the value arithmetically."""
    status = 0
    for arg in names:
        name, value = _split_assignment(arg)
        if not NAME.fullmatch(name):
            status = await _error(shell, io, builtin_name, f"`{arg}': not a valid identifier")
            continue
        if make_local:
            shell.make_local(name)
            if value is None:
                shell.state.variables.pop(name, None)
        if value is not None and "i" in flags:
            value = str(await shell.expander.arithmetic(value))
        if value is not None:
            shell.assign(name, value)
        if "x" in flags:
            shell.state.exported.add(name)
        if "r" in flags:
            shell.state.readonly.add(name)
    return status


@builtin("unset")
async def unset(shell: Interpreter, argv: list[str], io: IO) -> int:
    functions = "-f" in argv[1:]
    for name in [a for a in argv[1:] if not a.startswith("-")]:
        if functions:
            shell.state.functions.pop(name, None)
        elif name in shell.state.variables:
            shell.unset(name)
        else:
            shell.state.functions.pop(name, None)
    return 0


@builtin("shift")
async def shift(shell: Interpreter, argv: list[str], io: IO) -> int:
    count_text = argv[1] if len(argv) > 1 else "1"
    if not count_text.isdigit():
        return await _error(shell, io, "shift", f"{count_text}: numeric argument required")
    count = int(count_text)
    if count > len(shell.state.positional):
        return 1
    shell.state.positional = shell.state.positional[count:]
    return 0


@builtin("let")
async def let(shell: Interpreter, argv: list[str], io: IO) -> int:
    value = 0
    try:
        for expression in argv[1:]:
            value = await shell.expander.arithmetic(expression)
    except ExpansionError as exc:
        return await _error(shell, io, "let", exc.message)
    return 0 if value != 0 else 1


# -- options ------------------------------------------------------------------------------------
@builtin("set")
async def set_builtin(shell: Interpreter, argv: list[str], io: IO) -> int:
    args = argv[1:]
    if not args:
        for name, value in sorted(shell.state.variables.items()):
            await io.stdout.write(f"{name}={shlex.quote(value)}\n")
        return 0
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            shell.state.positional = args[index + 1 :]
            return 0
        if arg[:1] not in ("-", "+") or len(arg) < 2:
            shell.state.positional = args[index:]
            return 0
        if arg in ("-o", "+o") and index + 1 >= len(args):
            await _print_options(shell, io)
            return 0
        result = await _set_letters(shell, io, arg, args[index + 1 : index + 2])
        if isinstance(result, int):
            return result
        index += 1 + len(result)
    return 0


async def _print_options(shell: Interpreter, io: IO) -> None:
    for option in sorted(LONG_OPTIONS):
        state = "on" if option in shell.state.options else "off"
        await io.stdout.write(f"{option:<15}\t{state}\n")


async def _set_long(shell: Interpreter, io: IO, option: str, enable: bool) -> int:
    if option not in LONG_OPTIONS:
        return await _error(shell, io, "set", f"{option}: invalid option name", 2)
    if enable:
        shell.state.options.add(option)
    else:
        shell.state.options.discard(option)
    return 0


async def _set_letters(
    shell: Interpreter, io: IO, arg: str, following: list[str]
) -> int | list[str]:
    """`-eu`, `+x`, `-euo pipefail`: an error status, or the extra arguments consumed."""
    enable = arg[0] == "-"
    consumed: list[str] = []
    for letter in arg[1:]:
        if letter == "o":
            if not following:
                return await _error(shell, io, "set", "-o: option requires an argument", 2)
            consumed = following[:1]
            status = await _set_long(shell, io, following[0], enable)
            if status:
                return status
            continue
        option = OPTION_LETTERS.get(letter)
        if option is None:
            if letter in "hBHbCfmnv":
                continue
            return await _error(shell, io, "set", f"{arg[0]}{letter}: invalid option", 2)
        await _set_long(shell, io, option, enable)
    return consumed


@builtin("shopt", "hash", "umask", "ulimit", "alias", "unalias", "enable")
async def accepted(shell: Interpreter, argv: list[str], io: IO) -> int:
    """Accepted and ignored: they only tune interactive or resource behaviour."""
    return 0


# -- control flow --------------------------------------------------------------------------------
async def _status_argument(shell: Interpreter, io: IO, argv: list[str]) -> int:
    if len(argv) < 2:
        return shell.state.last_status
    text = argv[1]
    if not text.lstrip("-").isdigit():
        await shell.error(io, f"{argv[0]}: {text}: numeric argument required")
        return 2
    return int(text) & 0xFF


@builtin("exit")
async def exit_builtin(shell: Interpreter, argv: list[str], io: IO) -> int:
    raise ExitSignal(await _status_argument(shell, io, argv))


@builtin("return")
async def return_builtin(shell: Interpreter, argv: list[str], io: IO) -> int:
    status = await _status_argument(shell, io, argv)
    if not shell.in_function and not shell.sourcing:
        return await _error(
            shell, io, "return", "can only `return' from a function or sourced script"
        )
    raise ReturnSignal(status)


@builtin("break", "continue")
async def loop_control(shell: Interpreter, argv: list[str], io: IO) -> int:
    levels = int(argv[1]) if len(argv) > 1 and argv[1].isdigit() else 1
    if not shell.in_loop:
        return await _error(
            shell, io, argv[0], "only meaningful in a `for', `while', or `until' loop", 0
        )
    raise LoopSignal(argv[0], max(1, levels))


@builtin("source", ".")
async def source(shell: Interpreter, argv: list[str], io: IO) -> int:
    if len(argv) < 2:
        return await _error(shell, io, argv[0], "filename argument required", 2)
    path = argv[1]
    vfs = shell.world.vfs
    if "/" not in path and not vfs.is_file(path, shell.state.cwd):
        found = shell.world.find_command(
            path, shell.state.variables.get("PATH", ""), shell.state.cwd
        )
        path = found or path
    try:
        text = vfs.read_text(path, shell.state.cwd)
    except VfsError as exc:
        return await _error(shell, io, argv[1], exc.reason)
    try:
        script = parse(text)
    except ShellSyntaxError as exc:
        await io.stderr.write(f"{argv[1]}: line {exc.line}: {exc.message}\n")
        return 2
    saved = shell.state.positional
    if len(argv) > 2:
        shell.state.positional = argv[2:]
    shell.sourcing += 1
    try:
        return await shell.exec_script(script, io)
    except ReturnSignal as signal:
        return signal.status
    finally:
        shell.sourcing -= 1
        if len(argv) > 2:
            shell.state.positional = saved


@builtin("eval")
async def eval_builtin(shell: Interpreter, argv: list[str], io: IO) -> int:
    source_text = " ".join(argv[1:])
    if not source_text.strip():
        return 0
    return await shell.eval_source(source_text, io)


@builtin("trap")
async def trap(shell: Interpreter, argv: list[str], io: IO) -> int:
    args = argv[1:]
    if not args:
        for signal, action in shell.state.traps.items():
            await io.stdout.write(f"trap -- {shlex.quote(action)} {signal}\n")
        return 0
    action, signals = args[0], args[1:]
    for signal in signals:
        name = "EXIT" if signal in ("0", "EXIT", "SIGEXIT") else signal.removeprefix("SIG")
        if action == "-":
            shell.state.traps.pop(name, None)
        else:
            shell.state.traps[name] = action
    return 0


@builtin("wait")
async def wait(shell: Interpreter, argv: list[str], io: IO) -> int:
    return await shell.wait_background([a for a in argv[1:] if not a.startswith("-")])


@builtin("exec")
async def exec_builtin(shell: Interpreter, argv: list[str], io: IO) -> int:
    if len(argv) == 1:
        shell.apply_permanent_redirects(io)
        return 0
    status = await shell.invoke(argv[1:], io, functions=False)
    raise ExitSignal(status)


# -- commands ----------------------------------------------------------------------------------------
@builtin("command")
async def command(shell: Interpreter, argv: list[str], io: IO) -> int:
    args = argv[1:]
    verbose = ""
    while args and args[0].startswith("-") and args[0] != "--":
        verbose = args[0] if args[0] in ("-v", "-V") else verbose
        args = args[1:]
    if args and args[0] == "--":
        args = args[1:]
    if not args:
        return 0
    if verbose:
        return await _describe(shell, io, args, verbose == "-V", command_style=True)
    return await shell.invoke(args, io, functions=False)


@builtin("type")
async def type_builtin(shell: Interpreter, argv: list[str], io: IO) -> int:
    names = [a for a in argv[1:] if not a.startswith("-")]
    return await _describe(shell, io, names, True, command_style=False)


async def _describe(
    shell: Interpreter, io: IO, names: list[str], verbose: bool, *, command_style: bool
) -> int:
    status = 0
    for name in names:
        kind, where = describe_command(shell, name)
        if kind == "missing":
            status = 1
            if verbose:
                await shell.error(
                    io, f"{'command' if command_style else 'type'}: {name}: not found"
                )
            continue
        if not verbose:
            await io.stdout.write((where if kind == "file" else name) + "\n")
            continue
        text = {
            "function": f"{name} is a function",
            "builtin": f"{name} is a shell builtin",
            "keyword": f"{name} is a shell keyword",
            "file": f"{name} is {where}",
        }[kind]
        await io.stdout.write(text + "\n")
    return status


SHELL_KEYWORDS = {
    "if",
    "then",
    "else",
    "elif",
    "fi",
    "for",
    "while",
    "until",
    "do",
    "done",
    "case",
    "esac",
    "function",
    "[[",
    "]]",
    "{",
    "}",
    "!",
    "in",
    "time",
}


def describe_command(shell: Interpreter, name: str) -> tuple[str, str]:
    if name in SHELL_KEYWORDS:
        return "keyword", name
    if name in shell.state.functions:
        return "function", name
    if name in shell.builtins or name in shell.utilities:
        return "builtin", name
    path = shell.world.find_command(name, shell.state.variables.get("PATH", ""), shell.state.cwd)
    return ("file", path) if path else ("missing", "")


# -- input ---------------------------------------------------------------------------------------------
@builtin("read")
async def read(shell: Interpreter, argv: list[str], io: IO) -> int:
    args = argv[1:]
    raw = False
    names: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg.startswith("-") and len(arg) > 1 and not names:
            letters = arg[1:]
            raw = raw or "r" in letters
            if letters[-1] in "ptdnNa":
                if letters[-1] == "p":
                    await io.stderr.write(args[index + 1] if index + 1 < len(args) else "")
                index += 2
                continue
        else:
            names.append(arg)
        index += 1
    line = (await io.stdin.readline()).decode("utf-8", "surrogateescape")
    at_eof = not line.endswith("\n")
    line = line.removesuffix("\n")
    if not raw:
        line = _join_backslashes(line)
    _assign_read_fields(shell, names or ["REPLY"], line, raw_reply=not names)
    return 1 if at_eof else 0


def _join_backslashes(line: str) -> str:
    out = []
    i = 0
    while i < len(line):
        if line[i] == "\\" and i + 1 < len(line):
            out.append(line[i + 1])
            i += 2
            continue
        if line[i] != "\\":
            out.append(line[i])
        i += 1
    return "".join(out)


def _assign_read_fields(
    shell: Interpreter, names: list[str], line: str, *, raw_reply: bool
) -> None:
    if raw_reply:
        shell.assign(names[0], line)
        return
    ifs = shell.ifs()
    whitespace = "".join(c for c in ifs if c in " \t\n")
    remaining = line.strip(whitespace) if whitespace else line
    for position, name in enumerate(names):
        if position == len(names) - 1:
            shell.assign(name, remaining.rstrip(whitespace) if whitespace else remaining)
            return
        value, remaining = _next_field(remaining, ifs, whitespace)
        shell.assign(name, value)


def _next_field(text: str, ifs: str, whitespace: str) -> tuple[str, str]:
    for index, char in enumerate(text):
        if char in ifs:
            rest = text[index + 1 :]
            if whitespace:
                rest = rest.lstrip(whitespace)
                if char in whitespace and rest[:1] and rest[0] in ifs and rest[0] not in whitespace:
                    rest = rest[1:].lstrip(whitespace)
            return text[:index], rest
    return text, ""
