"""The bash-subset interpreter: executes bashlex trees asynchronously on a `World`.

Output goes to `Writer`s as it is produced (the SSH server streams it), input comes from
`Reader`s. Pipelines run their stages concurrently, connected by `Pipe`s. See the
"Shell subset" section of the simulator README for what is supported.
"""

from __future__ import annotations

import asyncio
import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from . import patterns
from .base import (
    DEFAULT_PATH,
    IO,
    PROGRAM_MARKER,
    Ctx,
    ExitSignal,
    LoopSignal,
    ReturnSignal,
    Session,
    World,
)
from .cond import CondEvaluator, tokenize
from .expand import Expander, ExpansionError
from .parser import Script, ShellSyntaxError, parse
from .streams import BufferWriter, BytesReader, FileWriter, NullWriter, Pipe, Reader, Writer
from .testexpr import TestError
from .vfs import VfsError

MAX_FUNCTION_DEPTH = 200
YIELD_EVERY = 64  # commands between two yields to the event loop (busy loops stay fair)
MAX_EXEC_DEPTH = 16
DECLARATION_BUILTINS = {"export", "local", "declare", "typeset", "readonly"}
SIGPIPE_STATUS = 141


class CommandNotFound(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class CannotExecute(Exception):
    def __init__(self, name: str, reason: str, status: int) -> None:
        super().__init__(name, reason)
        self.name = name
        self.reason = reason
        self.status = status


class RedirectError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class FunctionDef:
    script: Script
    body: Any


@dataclass
class ShellState:
    """What a subshell copies: variables, functions, options, positional parameters, cwd."""

    variables: dict[str, str]
    exported: set[str]
    cwd: str
    functions: dict[str, FunctionDef] = field(default_factory=dict)
    positional: list[str] = field(default_factory=list)
    options: set[str] = field(default_factory=set)
    script_name: str = "bash"
    last_status: int = 0
    last_background: str = ""
    traps: dict[str, str] = field(default_factory=dict)
    readonly: set[str] = field(default_factory=set)

    def copy(self) -> ShellState:
        return ShellState(
            dict(self.variables),
            set(self.exported),
            self.cwd,
            dict(self.functions),
            list(self.positional),
            set(self.options),
            self.script_name,
            self.last_status,
            self.last_background,
            dict(self.traps),
            set(self.readonly),
        )


Builtin = Callable[["Interpreter", list[str], IO], Awaitable[int]]


class Interpreter:
    """One shell process. `run()` executes a whole script like `bash -c` does."""

    builtins: dict[str, Builtin] = {}
    utilities: dict[str, Callable[[Ctx], Awaitable[int]]] = {}

    def __init__(
        self,
        world: World,
        session: Session,
        *,
        env: dict[str, str] | None = None,
        cwd: str = "/root",
        name: str = "bash",
        args: list[str] | None = None,
        state: ShellState | None = None,
        pid: int | None = None,
    ) -> None:
        self.world = world
        self.session = session
        self.shell_name = name
        if state is None:
            variables = dict(world.default_env() if env is None else env)
            variables.setdefault("IFS", " \t\n")
            variables["PWD"] = cwd
            state = ShellState(
                variables,
                set(variables) - {"IFS"},
                cwd,
                script_name=name,
                positional=list(args or []),
            )
        self.state = state
        self.expander = Expander(self)
        self.pid = pid if pid is not None else 1000 + world.rng.randrange(30000)
        self.current_line = 1
        self._errexit_guard = 0
        self._scopes: list[dict[str, str | None]] = []
        self._loop_depth = 0
        self._steps = 0
        self._in_err_trap = False
        self._function_depth = 0
        self._overrides: dict[int, tuple[Reader | Writer, Reader | Writer]] = {}
        self.command_base_io = IO.null()
        self.sourcing = 0
        self._background: dict[str, asyncio.Task[int]] = {}
        self._current_io = IO.null()
        self._substitution_status: int | None = None

    # -- entry points ---------------------------------------------------------------------------
    async def run(self, source: str, io: IO) -> int:
        """Run a complete script: parse errors give status 2; `exit`, EXIT trap honoured."""
        try:
            script = parse(source)
        except ShellSyntaxError as exc:
            await io.stderr.write(f"{self.prefix(exc.line)}{exc.message}\n")
            return 2
        try:
            try:
                status = await self.exec_script(script, io)
            except ExitSignal as exc:
                status = exc.status
            except (ReturnSignal, LoopSignal) as exc:
                status = getattr(exc, "status", 0)
            return await self.finish(io, status)
        finally:
            self._cancel_background()

    async def run_interactive(self, io: IO, prompt: str | None = None) -> int:
        """Read commands line by line (an `ssh host` session without a command).

        Each complete command runs as soon as its line arrives; a construct spanning lines
        (an open `if`, quote or here-document) is collected until it parses. With `prompt`
        (a terminal was requested) a prompt is printed before each command.
        """
        status = 0
        pending = ""
        try:
            while True:
                if prompt is not None:
                    await io.stdout.write(prompt if not pending else "> ")
                line = (await io.stdin.readline()).decode("utf-8", "surrogateescape")
                if not line and not pending:
                    break
                pending += line or "\n"
                try:
                    script = parse(pending)
                except ShellSyntaxError as exc:
                    if exc.incomplete and line:
                        continue
                    await io.stderr.write(f"{self.prefix(exc.line)}{exc.message}\n")
                    pending, status = "", 2
                    continue
                pending = ""
                status = await self._interactive_command(script, io)
        except ExitSignal as exc:
            status = exc.status
        finally:
            self._cancel_background()
        return await self.finish(io, status)

    async def _interactive_command(self, script: Script, io: IO) -> int:
        try:
            return await self.exec_script(script, io)
        except (ReturnSignal, LoopSignal):
            return 1

    def _cancel_background(self) -> None:
        for task in self._background.values():
            task.cancel()

    async def finish(self, io: IO, status: int) -> int:
        """End of the shell: cancel stray background jobs, run the EXIT trap."""
        self._cancel_background()
        trap = self.state.traps.pop("EXIT", None)
        if trap:
            self.state.last_status = status
            try:
                await self.eval_source(trap, io)
            except ExitSignal as exc:
                status = exc.status
        return status

    async def exec_script(self, script: Script, io: IO) -> int:
        status = 0
        for node in script.nodes:
            status = await self.exec_node(script, node, io)
        return status

    async def eval_source(self, source: str, io: IO) -> int:
        """Parse and run `source` in this shell (eval, source, traps)."""
        try:
            script = parse(source)
        except ShellSyntaxError as exc:
            await io.stderr.write(f"{self.prefix(self.current_line)}{exc.message}\n")
            return 2
        return await self.exec_script(script, io)

    def prefix(self, line: int | None = None) -> str:
        """The location prefix of error messages: `bash: line 3: ` (dash: `sh: 3: `)."""
        number = self.current_line if line is None else line
        if self.shell_name == "sh":
            return f"{self.state.script_name}: {number}: "
        return f"{self.state.script_name}: line {number}: "

    async def error(self, io: IO, message: str) -> None:
        await io.stderr.write(f"{self.prefix()}{message}\n")

    # -- ExpansionHost ----------------------------------------------------------------------------
    def lookup(self, name: str) -> str | None:
        state = self.state
        if name.isdigit():
            index = int(name)
            if index == 0:
                return state.script_name
            return state.positional[index - 1] if index <= len(state.positional) else None
        specials: dict[str, Callable[[], str]] = {
            "?": lambda: str(state.last_status),
            "$": lambda: str(self.pid),
            "!": lambda: state.last_background,
            "#": lambda: str(len(state.positional)),
            "@": lambda: " ".join(state.positional),
            "*": lambda: (self.ifs()[:1] or "").join(state.positional),
            "-": self._option_flags,
            "RANDOM": lambda: str(self.world.rng.randrange(32768)),
            "LINENO": lambda: str(self.current_line),
        }
        if name in specials:
            return specials[name]()
        return state.variables.get(name)

    def _option_flags(self) -> str:
        letters = {"errexit": "e", "nounset": "u", "xtrace": "x"}
        return "h" + "".join(letters[o] for o in sorted(self.state.options) if o in letters) + "B"

    def positional(self) -> list[str]:
        return list(self.state.positional)

    def assign(self, name: str, value: str) -> None:
        if name in self.state.readonly:
            raise ExpansionError(f"{name}: readonly variable")
        self.state.variables[name] = value
        if name == "PWD":
            self.state.cwd = value

    def unset(self, name: str) -> None:
        if name in self.state.readonly:
            raise ExpansionError(f"unset: {name}: cannot unset: readonly variable")
        self.state.variables.pop(name, None)
        self.state.exported.discard(name)

    def nounset(self) -> bool:
        return "nounset" in self.state.options

    def ifs(self) -> str:
        return self.state.variables.get("IFS", " \t\n")

    async def substitute(self, source: str) -> str:
        child = self.subshell()
        capture = BufferWriter()
        io = IO(self._current_io.stdin, capture, self._current_io.stderr)
        status = await child.run(source, io)
        self._substitution_status = status
        self.state.last_status = status
        return capture.text()

    def home_of(self, user: str) -> str | None:
        if not user:
            return self.state.variables.get("HOME", "/root")
        account = self.world.account(user)
        return account.home if account else None

    def glob(self, pattern: str) -> list[str]:
        if "noglob" in self.state.options:
            return []
        return patterns.glob(self.world.vfs, pattern, self.state.cwd)

    # -- helpers ----------------------------------------------------------------------------------
    def subshell(self) -> Interpreter:
        child = Interpreter(
            self.world, self.session, name=self.shell_name, state=self.state.copy(), pid=self.pid
        )
        child.state.traps = {}
        child.current_line = self.current_line
        child._overrides = dict(self._overrides)
        child._scopes = [dict(scope) for scope in self._scopes]
        child._loop_depth = self._loop_depth
        child.sourcing = self.sourcing
        return child

    def environment(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in self.state.variables.items() if k in self.state.exported}
        env.update(extra or {})
        return env

    def make_ctx(self, argv: list[str], io: IO, env: dict[str, str] | None = None) -> Ctx:
        return Ctx(
            argv,
            io,
            env if env is not None else self.environment(),
            self.state.cwd,
            self.world,
            self.session,
            self,
        )

    async def guarded(self, script: Script, node: Any, io: IO) -> int:
        """Run a node where `set -e` does not apply (conditions, `&&`/`||` operands)."""
        self._errexit_guard += 1
        try:
            return await self.exec_node(script, node, io)
        finally:
            self._errexit_guard -= 1

    # -- dispatch ---------------------------------------------------------------------------------
    async def exec_node(self, script: Script, node: Any, io: IO) -> int:
        kind = node.kind
        self._steps += 1
        if self._steps % YIELD_EVERY == 0:
            await asyncio.sleep(0)
        handlers: dict[str, Callable[[Script, Any, IO], Awaitable[int]]] = {
            "list": self.exec_list,
            "pipeline": self.exec_pipeline,
            "command": self.exec_command,
            "compound": self.exec_compound,
            "if": self.exec_if,
            "for": self.exec_for,
            "while": self.exec_while,
            "until": self.exec_while,
            "function": self.define_function,
        }
        handler = handlers.get(kind)
        if handler is None:
            return self.state.last_status
        status = await handler(script, node, io)
        self.state.last_status = status
        if status != 0 and kind != "list" and self._errexit_guard == 0 and not _negated(node):
            await self._err_trap(io, status)
            if "errexit" in self.state.options:
                raise ExitSignal(status)
        return status

    async def _err_trap(self, io: IO, status: int) -> None:
        """`trap ... ERR`: run where `set -e` would act (the trap itself cannot re-trigger)."""
        action = self.state.traps.get("ERR")
        if not action or self._in_err_trap:
            return
        self._in_err_trap = True
        try:
            await self.eval_source(action, io)
        finally:
            self._in_err_trap = False
            self.state.last_status = status

    async def exec_nodes(self, script: Script, nodes: list[Any], io: IO) -> int:
        status = 0
        for node in nodes:
            status = await self.exec_node(script, node, io)
        return status

    # -- lists and pipelines ------------------------------------------------------------------------
    async def exec_list(self, script: Script, node: Any, io: IO) -> int:
        status = self.state.last_status
        for items, background in _split_list(node.parts):
            if background:
                self._start_background(script, items, io)
                status = 0
            elif items:
                status = await self._exec_and_or(script, items, io)
        return status

    async def _exec_and_or(self, script: Script, items: list[Any], io: IO) -> int:
        status = 0
        run = True
        for index in range(0, len(items), 2):
            node = items[index]
            op = items[index + 1].op if index + 1 < len(items) else None
            if run:
                if op is None:
                    status = await self.exec_node(script, node, io)
                else:
                    status = await self.guarded(script, node, io)
            run = (op == "&&" and status == 0) or (op == "||" and status != 0)
        return status

    def _start_background(self, script: Script, items: list[Any], io: IO) -> None:
        child = self.subshell()
        pid = str(1000 + self.world.rng.randrange(30000))

        async def job() -> int:
            try:
                return await child._exec_and_or(script, items, io)
            except ExitSignal as exc:
                return exc.status

        self._background[pid] = asyncio.ensure_future(job())
        self.state.last_background = pid

    async def wait_background(self, pids: list[str]) -> int:
        status = 0
        targets = pids or list(self._background)
        for pid in targets:
            task = self._background.pop(pid, None)
            if task is None:
                status = 127
                continue
            try:
                status = await task
            except asyncio.CancelledError:
                status = 143
        return status

    async def exec_pipeline(self, script: Script, node: Any, io: IO) -> int:
        negate = _negated(node)
        stages = [p for p in node.parts if p.kind not in ("pipe", "reservedword")]
        if negate:
            self._errexit_guard += 1
        try:
            if len(stages) == 1:
                status = await self.exec_node(script, stages[0], io)
            else:
                status = await self._run_stages(script, stages, io)
        finally:
            if negate:
                self._errexit_guard -= 1
        return (0 if status else 1) if negate else status

    async def _run_stages(self, script: Script, stages: list[Any], io: IO) -> int:
        pipes = [Pipe() for _ in stages[1:]]

        async def stage(index: int, node: Any) -> int:
            stdin = io.stdin if index == 0 else pipes[index - 1].reader
            stdout = io.stdout if index == len(stages) - 1 else pipes[index].writer
            try:
                return await self.subshell()._run_isolated(
                    script, node, IO(stdin, stdout, io.stderr)
                )
            finally:
                if index < len(pipes):
                    await pipes[index].writer.close()
                if index > 0:
                    pipes[index - 1].reader.close()

        tasks = [asyncio.ensure_future(stage(i, n)) for i, n in enumerate(stages)]
        try:
            statuses = await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            raise
        if "pipefail" in self.state.options:
            return next((s for s in reversed(statuses) if s != 0), 0)
        return statuses[-1]

    async def _run_isolated(self, script: Script, node: Any, io: IO) -> int:
        """A node in a subshell: `exit` and SIGPIPE end only the subshell."""
        try:
            return await self.exec_node(script, node, io)
        except ExitSignal as exc:
            return exc.status
        except ReturnSignal as exc:
            return exc.status
        except LoopSignal:
            return 0
        except BrokenPipeError:
            return SIGPIPE_STATUS
        finally:
            self._cancel_background()

    # -- simple commands ------------------------------------------------------------------------------
    async def exec_command(self, script: Script, node: Any, io: IO) -> int:
        self.current_line = script.line_of(node.pos[0])
        io = self._with_overrides(io)
        self._current_io = io
        self.command_base_io = io
        self._substitution_status = None
        assignments = [p for p in node.parts if p.kind == "assignment"]
        words = [p for p in node.parts if p.kind == "word"]
        redirects = [p for p in node.parts if p.kind == "redirect"]
        first = script.text(words[0]) if words else ""
        try:
            if first.startswith("[[") and first.endswith("]]"):
                return await self._with_redirects(
                    script, redirects, io, lambda r: self._conditional(first, r)
                )
            if first.startswith("((") and first.endswith("))"):
                return await self._with_redirects(
                    script, redirects, io, lambda r: self._arithmetic_command(first)
                )
            argv = await self._expand_argv(script, words)
            redirected = await self.redirect(script, redirects, io)
            if not argv:
                await self._assign_all(script, assignments)
                return self._substitution_status or 0
            prefix = await self._prefix_assignments(script, assignments)
        except ExpansionError as exc:
            await self.error(io, exc.message)
            if exc.fatal:
                raise ExitSignal(1) from exc
            return 1
        except RedirectError as exc:
            await self.error(io, exc.message)
            return 1
        except ShellSyntaxError as exc:
            await self.error(io, exc.message)
            return 2
        if "xtrace" in self.state.options:
            await io.stderr.write("+ " + " ".join(shlex.quote(a) for a in argv) + "\n")
        return await self.invoke(argv, redirected, prefix)

    async def _with_redirects(
        self, script: Script, redirects: list[Any], io: IO, action: Callable[[IO], Awaitable[int]]
    ) -> int:
        try:
            redirected = await self.redirect(script, redirects, io)
            return await action(redirected)
        except TestError as exc:
            await self.error(io, str(exc))
            return 2

    async def _expand_argv(self, script: Script, words: list[Any]) -> list[str]:
        argv: list[str] = []
        for word in words:
            raw = script.text(word)
            if argv and argv[0] in DECLARATION_BUILTINS and _looks_like_assignment(raw):
                name, _, value = raw.partition("=")
                argv.append(f"{name}={await self.expander.single(value)}")
            else:
                argv.extend(await self.expander.fields(raw))
        return argv

    async def _assign_all(self, script: Script, assignments: list[Any]) -> None:
        for name, value, append in await self._evaluate_assignments(script, assignments):
            current = self.state.variables.get(name, "") if append else ""
            self.assign(name, current + value)

    async def _evaluate_assignments(
        self, script: Script, assignments: list[Any]
    ) -> list[tuple[str, str, bool]]:
        out = []
        for node in assignments:
            raw = script.text(node)
            name, _, value_raw = raw.partition("=")
            append = name.endswith("+")
            out.append((name.rstrip("+"), await self.expander.single(value_raw), append))
        return out

    async def _prefix_assignments(self, script: Script, assignments: list[Any]) -> dict[str, str]:
        values = await self._evaluate_assignments(script, assignments)
        return {
            name: (self.state.variables.get(name, "") if append else "") + value
            for name, value, append in values
        }

    async def invoke(
        self,
        argv: list[str],
        io: IO,
        prefix: dict[str, str] | None = None,
        *,
        functions: bool = True,
    ) -> int:
        """Run a command by name: function, builtin, shell utility, then PATH."""
        name = argv[0]
        prefix = prefix or {}
        if functions and name in self.state.functions:
            return await self._with_temporary(prefix, lambda: self.call_function(name, argv, io))
        builtin = self.builtins.get(name)
        if builtin is not None:
            return await self._run_builtin(builtin, argv, io, prefix)
        utility = self.utilities.get(name)
        if utility is not None:
            return await utility(self.make_ctx(argv, io, self.environment(prefix)))
        return await self.run_external(argv, io, self.environment(prefix))

    async def _run_builtin(
        self, builtin: Builtin, argv: list[str], io: IO, prefix: dict[str, str]
    ) -> int:
        try:
            return await self._with_temporary(prefix, lambda: builtin(self, argv, io))
        except ExpansionError as exc:  # e.g. `read` into a readonly variable
            await self.error(io, exc.message)
            return 1

    async def _with_temporary(
        self, values: dict[str, str], action: Callable[[], Awaitable[int]]
    ) -> int:
        saved = {name: self.state.variables.get(name) for name in values}
        for name, value in values.items():
            self.state.variables[name] = value
        try:
            return await action()
        finally:
            for name, old in saved.items():
                if old is None:
                    self.state.variables.pop(name, None)
                else:
                    self.state.variables[name] = old

    async def run_external(self, argv: list[str], io: IO, env: dict[str, str]) -> int:
        try:
            return await run_argv(self.world, self.session, argv, io, env, self.state.cwd)
        except CommandNotFound as exc:
            message = (
                f"{exc.name}: not found"
                if self.shell_name == "sh"
                else f"{exc.name}: command not found"
            )
            await self.error(io, message)
            return 127
        except CannotExecute as exc:
            await self.error(io, f"{exc.name}: {exc.reason}")
            return exc.status

    # -- redirections ---------------------------------------------------------------------------------
    def _with_overrides(self, io: IO) -> IO:
        for fd, (original, replacement) in self._overrides.items():
            if io.fd(fd) is original:
                io = io.with_fd(fd, replacement)
        return io

    async def redirect(self, script: Script, redirects: list[Any], io: IO) -> IO:
        for node in redirects:
            io = await self._redirect_one(script, node, io)
        return io

    async def _redirect_one(self, script: Script, node: Any, io: IO) -> IO:
        kind = node.type
        if kind in ("<<", "<<-"):
            return io.with_fd(_fd(node, 0), BytesReader(await self._heredoc(script, node)))
        if kind == "<<<":
            text = await self.expander.single(script.text(node.output))
            return io.with_fd(_fd(node, 0), BytesReader((text + "\n").encode()))
        if kind in (">&", "<&") and isinstance(node.output, int):
            return _duplicate(io, _fd(node, 1 if kind == ">&" else 0), node.output)
        target = await self.expander.single(script.text(node.output))
        if kind in (">&", "<&") and target.isdigit():
            return _duplicate(io, _fd(node, 1 if kind == ">&" else 0), int(target))
        if kind in ("<", "<>"):
            return io.with_fd(_fd(node, 0), self._open_input(target, io))
        if kind in ("&>", "&>>", ">&"):
            writer = self._open_output(target, io, append=kind == "&>>", clobber=False)
            return io.with_fd(1, writer).with_fd(2, writer)
        writer = self._open_output(target, io, append=kind == ">>", clobber=kind == ">|")
        return io.with_fd(_fd(node, 1), writer)

    async def _heredoc(self, script: Script, node: Any) -> bytes:
        start, end = node.heredoc.pos
        lines = script.source[start:end].split("\n")[:-1]
        if node.type == "<<-":
            lines = [line.lstrip("\t") for line in lines]
        body = "".join(line + "\n" for line in lines)
        quoted = script.source.find("<<", node.pos[0]) in script.quoted_heredocs
        if not quoted:
            body = await self.expander.heredoc(body)
        return body.encode("utf-8", "surrogateescape")

    def _open_input(self, target: str, io: IO) -> Reader:
        if target in ("/dev/stdin", "/proc/self/fd/0"):
            return io.stdin
        if target in ("/dev/null", "/dev/zero"):
            return BytesReader(b"")
        try:
            return BytesReader(self.world.vfs.read_bytes(target, self.state.cwd))
        except VfsError as exc:
            raise RedirectError(f"{target}: {exc.reason}") from exc

    def _open_output(self, target: str, io: IO, *, append: bool, clobber: bool) -> Writer:
        special: dict[str, Writer] = {
            "/dev/null": NullWriter(),
            "/dev/stdout": io.stdout,
            "/dev/stderr": io.stderr,
            "/dev/tty": io.stderr,
        }
        if target in special:
            return special[target]
        if not target:
            raise RedirectError("ambiguous redirect")
        if (
            "noclobber" in self.state.options
            and not (append or clobber)
            and self.world.vfs.is_file(target, self.state.cwd)
        ):
            raise RedirectError(f"{target}: cannot overwrite existing file")
        try:
            inode = self.world.vfs.open_file(target, self.state.cwd, truncate=not append)
        except VfsError as exc:
            raise RedirectError(f"{target}: {exc.reason}") from exc
        return FileWriter(self.world.vfs, inode)

    def apply_permanent_redirects(self, redirected: IO) -> None:
        """`exec >file 2>&1`: later commands of this shell use the redirected streams.

        An override replaces a stream only where the shell's own stream would be used, so
        pipes and command substitutions inside the shell keep theirs.
        """
        base = self.command_base_io
        for fd in (0, 1, 2):
            stream, before = redirected.fd(fd), base.fd(fd)
            if stream is None or before is None or stream is before:
                continue
            original = before
            previous = self._overrides.get(fd)
            if previous is not None and previous[1] is before:
                original = previous[0]
            self._overrides[fd] = (original, stream)

    # -- compound commands ------------------------------------------------------------------------------
    async def exec_compound(self, script: Script, node: Any, io: IO) -> int:
        try:
            io = await self.redirect(script, getattr(node, "redirects", None) or [], io)
        except (RedirectError, ExpansionError) as exc:
            await self.error(io, exc.message)
            return 1
        first = node.list[0]
        inner = [n for n in node.list if n.kind not in ("reservedword", "operator")]
        if first.kind == "reservedword" and first.word == "(":
            child = self.subshell()
            return await child._run_isolated_body(script, inner, io)
        return await self.exec_nodes(script, inner, io)

    async def _run_isolated_body(self, script: Script, nodes: list[Any], io: IO) -> int:
        try:
            return await self.exec_nodes(script, nodes, io)
        except (ExitSignal, ReturnSignal) as exc:
            return exc.status
        except LoopSignal:
            return 0

    async def exec_if(self, script: Script, node: Any, io: IO) -> int:
        condition_ok = False
        for keyword, nodes in _segments(node.parts):
            if keyword in ("if", "elif"):
                condition_ok = await self._condition(script, nodes, io)
                continue
            if keyword == "then" and condition_ok:
                return await self.exec_nodes(script, nodes, io)
            if keyword == "else":
                return await self.exec_nodes(script, nodes, io)
        return 0

    async def _condition(self, script: Script, nodes: list[Any], io: IO) -> bool:
        self._errexit_guard += 1
        try:
            return await self.exec_nodes(script, nodes, io) == 0
        finally:
            self._errexit_guard -= 1

    async def exec_for(self, script: Script, node: Any, io: IO) -> int:
        segments = _segments(node.parts)
        header = segments[0][1]
        body = next(nodes for keyword, nodes in segments if keyword == "do")
        name_raw = script.text(header[0])
        if name_raw.startswith("(("):
            return await self._arithmetic_for(script, name_raw[2:-2], body, io)
        in_words = next((nodes for keyword, nodes in segments if keyword == "in"), None)
        if in_words is None:
            values = list(self.state.positional)
        else:
            values = await self._expand_argv(script, [w for w in in_words if w.kind == "word"])
        status = 0
        for value in values:
            try:
                self.assign(name_raw, value)
            except ExpansionError as exc:
                await self.error(io, exc.message)
                return 1
            outcome = await self._loop_body(script, body, io)
            if outcome is None:
                break
            status = outcome
        return status

    async def _arithmetic_for(self, script: Script, header: str, body: list[Any], io: IO) -> int:
        parts = header.split(";")
        if len(parts) != 3:
            await self.error(io, "syntax error: arithmetic expression required")
            return 1
        init, condition, step = parts
        status = 0
        try:
            await self.expander.arithmetic(init)
            while not condition.strip() or await self.expander.arithmetic(condition) != 0:
                outcome = await self._loop_body(script, body, io)
                if outcome is None:
                    break
                status = outcome
                await self.expander.arithmetic(step)
        except ExpansionError as exc:
            await self.error(io, exc.message)
            return 1
        return status

    async def exec_while(self, script: Script, node: Any, io: IO) -> int:
        segments = _segments(node.parts)
        until = segments[0][0] == "until"
        condition = segments[0][1]
        body = next(nodes for keyword, nodes in segments if keyword == "do")
        status = 0
        while (await self._condition(script, condition, io)) != until:
            outcome = await self._loop_body(script, body, io)
            if outcome is None:
                break
            status = outcome
        return status

    async def _loop_body(self, script: Script, body: list[Any], io: IO) -> int | None:
        """The body's status, or None when `break` leaves the loop."""
        self._loop_depth += 1
        try:
            return await self.exec_nodes(script, body, io)
        except LoopSignal as signal:
            if signal.levels > 1:
                signal.levels -= 1
                raise
            return None if signal.kind == "break" else self.state.last_status
        finally:
            self._loop_depth -= 1

    @property
    def in_loop(self) -> bool:
        return self._loop_depth > 0

    # -- [[ ]] and (( )) -----------------------------------------------------------------------------------
    async def _conditional(self, text: str, io: IO) -> int:
        try:
            tokens = tokenize(text[2:-2])
        except (ShellSyntaxError, ValueError) as exc:
            raise TestError(f"syntax error in conditional expression: {exc}") from exc
        evaluator = CondEvaluator(
            tokens, self.expander, self.world.vfs, self.state.cwd, self.state.variables
        )
        try:
            result = await evaluator.evaluate()
        except ExpansionError as exc:
            await self.error(io, exc.message)
            if exc.fatal:
                raise ExitSignal(1) from exc
            return 1
        if evaluator.match_groups is not None:
            self.assign("BASH_REMATCH", evaluator.match_groups[0] if evaluator.match_groups else "")
        return 0 if result else 1

    async def _arithmetic_command(self, text: str) -> int:
        try:
            value = await self.expander.arithmetic(text[2:-2])
        except ExpansionError as exc:
            await self.error(self._current_io, exc.message)
            return 1
        return 0 if value != 0 else 1

    # -- functions -----------------------------------------------------------------------------------------
    async def define_function(self, script: Script, node: Any, io: IO) -> int:
        words = [p for p in node.parts if p.kind == "word"]
        self.state.functions[words[0].word] = FunctionDef(script, node.parts[-1])
        return 0

    async def call_function(self, name: str, argv: list[str], io: IO) -> int:
        function = self.state.functions[name]
        if self._function_depth >= MAX_FUNCTION_DEPTH:
            await self.error(io, f"{name}: maximum function nesting level exceeded")
            raise ExitSignal(1)
        saved_positional = self.state.positional
        self.state.positional = argv[1:]
        self._scopes.append({})
        self._function_depth += 1
        try:
            return await self.exec_node(function.script, function.body, io)
        except ReturnSignal as signal:
            return signal.status
        finally:
            self._function_depth -= 1
            self._restore_scope(self._scopes.pop())
            self.state.positional = saved_positional

    def _restore_scope(self, scope: dict[str, str | None]) -> None:
        for name, old in scope.items():
            self.state.readonly.discard(name)
            if old is None:
                self.state.variables.pop(name, None)
            else:
                self.state.variables[name] = old

    @property
    def in_function(self) -> bool:
        return bool(self._scopes)

    def make_local(self, name: str) -> None:
        scope = self._scopes[-1]
        if name not in scope:
            scope[name] = self.state.variables.get(name)


async def run_argv(
    world: World,
    session: Session,
    argv: list[str],
    io: IO,
    env: dict[str, str],
    cwd: str,
    depth: int = 0,
) -> int:
    """Execute argv as a new process on `world` (no shell parsing), like execvp."""
    if depth > MAX_EXEC_DEPTH:
        raise CannotExecute(argv[0], "too many levels of interpreters", 126)
    path = world.find_command(argv[0], env.get("PATH", DEFAULT_PATH), cwd)
    if path is None:
        if "/" in argv[0]:
            raise CannotExecute(argv[0], "No such file or directory", 127)
        raise CommandNotFound(argv[0])
    program = world.program_at(path)
    if program is not None:
        return await program(Ctx(argv, io, env, cwd, world, session))
    inode = world.vfs.lookup(path, cwd)
    if inode.is_dir:
        raise CannotExecute(argv[0], "Is a directory", 126)
    if not inode.mode & 0o111:
        raise CannotExecute(argv[0], "Permission denied", 126)
    data = bytes(inode.data)
    if data.startswith(PROGRAM_MARKER):
        raise CannotExecute(argv[0], "cannot execute binary file: Exec format error", 126)
    interpreter = _shebang(data) or ["/bin/sh"]
    return await run_argv(world, session, [*interpreter, path, *argv[1:]], io, env, cwd, depth + 1)


def _shebang(data: bytes) -> list[str] | None:
    if not data.startswith(b"#!"):
        return None
    line = data[2:].split(b"\n", 1)[0].decode("utf-8", "replace").strip()
    return line.split(None, 1) if line else None


def _negated(node: Any) -> bool:
    return (
        node.kind == "pipeline"
        and bool(node.parts)
        and node.parts[0].kind == "reservedword"
        and node.parts[0].word == "!"
    )


def _split_list(parts: list[Any]) -> list[tuple[list[Any], bool]]:
    """A flat bashlex list -> and-or groups, each with whether it runs in the background."""
    groups: list[tuple[list[Any], bool]] = []
    current: list[Any] = []
    for part in parts:
        if part.kind == "operator" and part.op in (";", "\n", "&"):
            groups.append((current, part.op == "&"))
            current = []
        else:
            current.append(part)
    if current:
        groups.append((current, False))
    return groups


def _segments(parts: list[Any]) -> list[tuple[str, list[Any]]]:
    """Split compound-command parts at reserved words: [("if", [...]), ("then", [...]), ...]."""
    segments: list[tuple[str, list[Any]]] = []
    for part in parts:
        if part.kind == "reservedword" and part.word not in (";", "\n"):
            segments.append((part.word, []))
        elif part.kind != "reservedword" and segments:
            segments[-1][1].append(part)
    return segments


def _fd(node: Any, default: int) -> int:
    return node.input if isinstance(node.input, int) else default


def _duplicate(io: IO, fd: int, source_fd: int) -> IO:
    stream = io.fd(source_fd)
    if stream is None:
        raise RedirectError(f"{source_fd}: Bad file descriptor")
    return io.with_fd(fd, stream)


def _looks_like_assignment(raw: str) -> bool:
    name, sep, _ = raw.partition("=")
    return bool(sep) and name.isidentifier()
