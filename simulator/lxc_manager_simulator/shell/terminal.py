"""A pseudo-terminal for the simulated shell: line discipline, window size, login.

Shared by the two ways into a container's shell with a terminal: Proxmox's console
(`termproxy`, console.py) and `pct enter` over SSH with a PTY (commands/pve.py).

`Terminal` is the canonical-mode line discipline of a Linux pty with its default termios
(`stty sane`): ICRNL (Enter's CR becomes NL), ECHO/ECHOE/ECHOKE/ECHOCTL (typed characters
echo, Backspace (DEL) erases one character with `\\b \\b`, Ctrl-U erases the line, other
control characters echo as `^X`), IEXTEN (Ctrl-W erases a word), ISIG (Ctrl-C discards the
line, echoes `^C` and interrupts the foreground command; Ctrl-Z echoes `^Z`, job control
is not simulated), VEOF (Ctrl-D on an empty line is end-of-file, for one read: a tty's EOF
is not sticky), IUTF8 (Backspace erases a whole UTF-8 character) and OPOST/ONLCR (output
NL becomes CR NL). There is no readline: arrow keys echo as `^[[A`, as `cat` shows them.

`run_shell` is an interactive bash on that terminal: the prompt of Debian's PS1
(`\\u@\\h:\\w\\$ `, so `root@HOSTNAME:~# `), COLUMNS and LINES set (not exported) from the
window size as readline and `checkwinsize` do, Ctrl-C cancels the running command (bash prints
a newline and a fresh prompt), `exit` or Ctrl-D on an empty line ends it printing `exit`
(`logout` for a login shell: bash's exit_builtin).

`run_getty` is what `lxc-console` reaches in a container (a getty on tty1, or on
/dev/console for `cmode: console`): the issue banner, `HOSTNAME login: `, `Password: `
without echo, `Login incorrect` after login's delay, and a login shell; after `logout` the
getty starts over (systemd respawns it), so the console stays open.
"""

from __future__ import annotations

import asyncio
import hmac
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from .base import IO, ExitSignal, LoopSignal, ReturnSignal, TtyPort
from .parser import ShellSyntaxError, parse
from .streams import Reader, Writer
from .vfs import VfsError

if TYPE_CHECKING:
    from .base import World
    from .interp import Interpreter

Output = Callable[[bytes], Awaitable[None]]

VEOF, VINTR, VKILL, VWERASE, VERASE, VSUSP, VQUIT = 0x04, 0x03, 0x15, 0x17, 0x7F, 0x1A, 0x1C


class Terminal:
    """One pty: keystrokes in (`feed`), cooked lines out (`reader`), output (`writer`)."""

    def __init__(
        self, output: Output, *, cols: int = 80, rows: int = 24, name: str = "/dev/pts/0"
    ) -> None:
        self._output = output
        self.cols, self.rows = cols, rows
        self.name = name
        self.echo = True
        self.onlcr = True  # off when the transport translates already (asyncssh's editor)
        self.hung_up = False
        self.on_interrupt: Callable[[], None] | None = None
        self._line = bytearray()
        self._lines: asyncio.Queue[bytes] = asyncio.Queue()  # b"" = end-of-file (Ctrl-D)
        self.reader = TerminalReader(self)
        self.writer = TerminalWriter(self)

    # -- input ----------------------------------------------------------------------------------
    async def feed(self, data: bytes) -> None:
        echo = bytearray()
        for byte in data:
            self._key(byte, echo)
            if byte == VINTR:
                await self._write_echo(echo)
                echo.clear()
                if self.on_interrupt is not None:
                    self.on_interrupt()
        await self._write_echo(echo)

    def _key(self, byte: int, echo: bytearray) -> None:
        if byte == 0x0D:  # ICRNL
            byte = 0x0A
        if byte == 0x0A:
            self._line.append(byte)
            self._lines.put_nowait(bytes(self._line))
            self._line.clear()
            echo.extend(b"\r\n" if self.onlcr else b"\n")
        elif byte == VINTR:
            self.flush()
            echo.extend(b"^C")
        elif byte in (VSUSP, VQUIT):
            echo.extend(b"^Z" if byte == VSUSP else b"^\\")
        elif byte == VEOF:
            if self._line:  # VEOF with a partial line hands it over without a newline
                self._lines.put_nowait(bytes(self._line))
                self._line.clear()
            else:
                self._lines.put_nowait(b"")
        elif byte == VERASE:
            self._erase(1, echo)
        elif byte == VKILL:
            self._erase(len(self._line), echo)
        elif byte == VWERASE:
            self._erase(self._word_length(), echo)
        else:
            self._line.append(byte)
            if byte < 0x20 and byte != 0x09:
                echo.extend(b"^" + bytes([byte + 0x40]))
            else:
                echo.append(byte)
        if not self.echo:
            echo.clear()

    def _word_length(self) -> int:
        """Characters Ctrl-W erases: trailing blanks, then the word before them."""
        text = bytes(self._line)
        trimmed = text.rstrip(b" \t")
        word = re.search(rb"[^ \t]*$", trimmed)
        start = len(trimmed) - (len(word.group(0)) if word else 0)
        return len(text[start:].decode("utf-8", "replace"))

    def _erase(self, count: int, echo: bytearray) -> None:
        """Erase `count` characters (IUTF8: a character is a lead byte and its continuation
        bytes); a control character echoed as `^X` takes two columns."""
        for _ in range(count):
            if not self._line:
                return
            byte = self._line.pop()
            while byte & 0xC0 == 0x80 and self._line:
                byte = self._line.pop()
            width = 2 if byte < 0x20 and byte != 0x09 else 1
            echo.extend(b"\b \b" * width)

    async def _write_echo(self, echo: bytearray) -> None:
        if echo and not self.hung_up:
            await self._output(bytes(echo))

    def flush(self) -> None:
        """Discard the partial line and the lines not read yet (ISIG without NOFLSH)."""
        self._line.clear()
        while not self._lines.empty():
            self._lines.get_nowait()
        self.reader.discard()

    def resize(self, cols: int, rows: int) -> None:
        self.cols, self.rows = max(1, cols), max(1, rows)

    def hangup(self) -> None:
        """The other end went away: reads return end-of-file from now on."""
        self.hung_up = True
        self._lines.put_nowait(b"")

    # -- output ---------------------------------------------------------------------------------
    async def write(self, data: bytes) -> None:
        if self.hung_up:
            return
        if self.onlcr:
            data = data.replace(b"\n", b"\r\n")
        await self._output(data)

    async def next_line(self) -> bytes:
        if self.hung_up:
            return b""
        return await self._lines.get()


class TerminalReader(Reader):
    """The pty's reading end: one cooked line at a time; Ctrl-D ends one read only."""

    def __init__(self, terminal: Terminal) -> None:
        super().__init__()
        self.terminal = terminal

    async def _fill(self) -> bool:
        if self.closed:
            return False
        chunk = await self.terminal.next_line()
        if not chunk:
            return False
        self._buffer.extend(chunk)
        return True

    def discard(self) -> None:
        self._buffer.clear()


class TerminalWriter(Writer):
    def __init__(self, terminal: Terminal) -> None:
        super().__init__()
        self.terminal = terminal

    async def _emit(self, data: bytes) -> None:
        await self.terminal.write(data)


def terminal_io(terminal: Terminal) -> IO:
    return IO(terminal.reader, terminal.writer, terminal.writer)


def is_terminal(terminal: Terminal | None, stream: object) -> bool:
    """Whether `stream` (a command's stdin/stdout) is that terminal."""
    return terminal is not None and stream in (terminal.reader, terminal.writer)


# -- the interactive shell ------------------------------------------------------------------------
def prompt(shell: Interpreter) -> str:
    """Debian's PS1 `\\u@\\h:\\w\\$ ` for root."""
    cwd = shell.state.cwd
    home = shell.state.variables.get("HOME", "/root")
    if cwd == home:
        where = "~"
    elif cwd.startswith(home.rstrip("/") + "/"):
        where = "~" + cwd[len(home.rstrip("/")) :]
    else:
        where = cwd
    return f"{shell.session.user}@{shell.world.hostname}:{where}# "


async def run_shell(shell: Interpreter, terminal: Terminal, *, login: bool = False) -> int:
    """An interactive bash on `terminal` until `exit`, Ctrl-D or a hang-up."""
    io = terminal_io(terminal)
    status = 0
    try:
        while not terminal.hung_up:
            step = asyncio.ensure_future(_one_command(shell, terminal, io))
            terminal.on_interrupt = _canceller(step)
            try:
                await asyncio.wait({step})
            finally:
                terminal.on_interrupt = None
                if not step.done():
                    step.cancel()
            if step.cancelled():  # Ctrl-C: the command (or the line being typed) is gone
                status = 130
                shell.state.last_status = 130
                await io.stdout.write("\n")
                continue
            result = step.result()
            if result is None:  # end of input (Ctrl-D at the prompt)
                if not terminal.hung_up:
                    await io.stderr.write("logout\n" if login else "exit\n")
                break
            status = result
    except ExitSignal as exc:
        status = exc.status
        if not terminal.hung_up:
            await io.stderr.write("logout\n" if login else "exit\n")
    return await shell.finish(io, status)


def _canceller(step: asyncio.Future[int | None]) -> Callable[[], None]:
    def cancel() -> None:
        step.cancel()

    return cancel


async def _one_command(shell: Interpreter, terminal: Terminal, io: IO) -> int | None:
    """Prompt, read a complete command (continuation lines with `> `), run it."""
    pending = ""
    while True:
        await io.stderr.write(prompt(shell) if not pending else "> ")
        line = (await terminal.reader.readline()).decode("utf-8", "surrogateescape")
        if not line and not pending:
            return None
        pending += line or "\n"
        # readline follows SIGWINCH at the prompt, checkwinsize after each command
        shell.state.variables["COLUMNS"] = str(terminal.cols)
        shell.state.variables["LINES"] = str(terminal.rows)
        try:
            script = parse(pending)
        except ShellSyntaxError as exc:
            if exc.incomplete and line:
                continue
            await io.stderr.write(f"bash: {exc.message}\n")
            shell.state.last_status = 2
            return 2
        break
    if not script.nodes:
        return shell.state.last_status
    try:
        return await shell.exec_script(script, io)
    except (ReturnSignal, LoopSignal):
        return 1


# -- a terminal on an SSH channel's PTY ------------------------------------------------------------
async def run_on_tty(
    tty: TtyPort, stdin: Reader, stdout: Writer, make_shell: Callable[[Terminal], Interpreter]
) -> int:
    """An interactive shell on the PTY of an SSH session (`pct enter` with `ssh -t`): raw
    keystrokes from `stdin` through the line discipline, the size from the PTY request and
    window-change messages. asyncssh's channel turns NL into CR NL itself (no ONLCR here)."""
    cols, rows = tty.size()
    terminal = Terminal(stdout.write, cols=cols, rows=rows, name="/dev/pts/1")
    terminal.onlcr = False

    async def feed() -> None:
        while True:
            data = await stdin.read_chunk()
            if not data:
                terminal.hangup()
                return
            await terminal.feed(data)

    tty.set_raw(True)
    tty.on_resize(terminal.resize)
    feeder = asyncio.ensure_future(feed())
    try:
        return await run_shell(make_shell(terminal), terminal)
    finally:
        feeder.cancel()
        tty.on_resize(None)
        tty.set_raw(False)


# -- the getty of lxc-console ---------------------------------------------------------------------
LOGIN_FAIL_DELAY = 3.0  # util-linux login: FAIL_DELAY


def issue(world: World, tty: str) -> str:
    """/etc/issue as agetty shows it (`\\n` the hostname, `\\l` the tty)."""
    os_info = getattr(world, "os", None)
    family = getattr(os_info, "family", "debian")
    version = getattr(os_info, "version", "12")
    line = tty.removeprefix("/dev/")
    if family == "alpine":
        return (
            f"\nWelcome to Alpine Linux {version}\n"
            f"Kernel 6.8.12-1-pve on an x86_64 (/dev/{line})\n\n"
        )
    release = getattr(os_info, "os_release", "")
    match = re.search(r'^VERSION="([\d.]+)', release, re.M)
    name = (
        f"Ubuntu {match.group(1) if match else version} LTS"
        if family == "ubuntu"
        else (f"Debian GNU/Linux {version}")
    )
    return f"\n{name} {world.hostname} {line}\n\n"


def shadow_matches(world: World, user: str, password: str) -> bool:
    """The password against the user's /etc/shadow entry (locked `*`/`!` never match)."""
    from .commands.accounts import shadow_hash

    try:
        lines = world.vfs.read_text("/etc/shadow").splitlines()
    except VfsError:
        return False
    for entry in lines:
        fields = entry.split(":")
        if fields[0] == user and len(fields) > 1:
            stored = fields[1]
            if not stored or stored[0] in "*!":
                return False
            return hmac.compare_digest(stored, shadow_hash(user, password))
    return False


async def run_getty(
    make_shell: Callable[[], Interpreter],
    world: World,
    terminal: Terminal,
    *,
    fail_delay: float = LOGIN_FAIL_DELAY,
) -> None:
    """agetty + login on `terminal` until it hangs up; each login gets a new login shell."""
    io = terminal_io(terminal)
    while not terminal.hung_up:
        await io.stdout.write(issue(world, terminal.name))
        user = await _login(world, terminal, io, fail_delay)
        if user is None:
            continue
        shell = make_shell()
        shell.state.cwd = shell.state.variables.get("HOME", "/root")
        await run_shell(shell, terminal, login=True)


async def _login(world: World, terminal: Terminal, io: IO, fail_delay: float) -> str | None:
    """The login prompt until a correct root login; None when the getty must restart."""
    while not terminal.hung_up:
        await io.stdout.write(f"{world.hostname} login: ")
        raw = await terminal.reader.readline()
        if not raw:  # Ctrl-D: agetty exits, systemd starts another one
            return None
        user = raw.decode("utf-8", "replace").strip()
        if not user:
            continue
        await io.stdout.write("Password: ")
        terminal.echo = False
        try:
            secret = (await terminal.reader.readline()).decode("utf-8", "surrogateescape")
        finally:
            terminal.echo = True
        await io.stdout.write("\n")
        if user == "root" and shadow_matches(world, user, secret.rstrip("\n")):
            await _motd(world, io)
            return user
        await asyncio.sleep(fail_delay)
        await io.stdout.write("\nLogin incorrect\n")
    return None


async def _motd(world: World, io: IO) -> None:
    try:
        text = world.vfs.read_text("/etc/motd")
    except VfsError:
        return
    if text:
        await io.stdout.write(text if text.endswith("\n") else text + "\n")
