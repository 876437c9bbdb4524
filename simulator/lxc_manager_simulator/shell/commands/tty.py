"""Terminal queries: tput, stty, tty (they read the size of the shell's pty, shell/terminal.py).

`tput cols`/`tput lines` as ncurses answers: COLUMNS/LINES from the environment when
exported (ncurses' use_env), else the terminal's window size, else terminfo's 80x24.
`stty size` prints `ROWS COLS` of the terminal on its standard input (a redirected stdin
is no terminal: "Inappropriate ioctl for device"); `stty echo`/`-echo` switch the echo.
"""

from __future__ import annotations

from ..base import Ctx, Program
from ..terminal import is_terminal

NOT_A_TTY = "Inappropriate ioctl for device"


async def tput(ctx: Ctx) -> int:
    if not ctx.args:
        await ctx.err("usage: tput [-V] [-S] [-T term] capname\n")
        return 2
    terminal = ctx.session.terminal
    cap = ctx.args[-1]
    if cap in ("cols", "lines"):
        env = ctx.env.get("COLUMNS" if cap == "cols" else "LINES", "")
        if env.isdigit() and int(env) > 0:
            value = int(env)
        elif terminal is not None:
            value = terminal.cols if cap == "cols" else terminal.rows
        else:
            value = 80 if cap == "cols" else 24
        await ctx.out(f"{value}\n")
        return 0
    if cap in ("clear", "reset"):
        await ctx.out("\x1b[H\x1b[2J")
        return 0
    if cap in ("sgr0", "bold", "smul", "rmul", "rev"):
        codes = {"sgr0": "\x1b(B\x1b[m", "bold": "\x1b[1m", "smul": "\x1b[4m"}
        await ctx.out(codes.get(cap, ""))
        return 0
    await ctx.err(f"tput: unknown terminfo capability '{cap}'\n")
    return 4


async def stty(ctx: Ctx) -> int:
    terminal = ctx.session.terminal
    if terminal is None or not is_terminal(terminal, ctx.io.stdin):
        await ctx.err(f"stty: 'standard input': {NOT_A_TTY}\n")
        return 1
    args = ctx.args
    if args == ["size"]:
        await ctx.out(f"{terminal.rows} {terminal.cols}\n")
        return 0
    for arg in args:
        if arg in ("echo", "-echo"):
            terminal.echo = arg == "echo"
        elif arg == "sane":
            terminal.echo = True
        elif arg not in ("raw", "-raw", "cooked", "icanon", "-icanon", "onlcr", "-onlcr"):
            await ctx.err(
                f"stty: invalid argument '{arg}'\nTry 'stty --help' for more information.\n"
            )
            return 1
    if not args:
        await ctx.out(
            f"speed 38400 baud; rows {terminal.rows}; columns {terminal.cols}; line = 0;\n"
        )
    return 0


async def tty_command(ctx: Ctx) -> int:
    terminal = ctx.session.terminal
    if terminal is None or not is_terminal(terminal, ctx.io.stdin):
        await ctx.out("not a tty\n")
        return 1
    await ctx.out(terminal.name + "\n")
    return 0


PROGRAMS: dict[str, Program] = {
    "/usr/bin/tput": tput,
    "/usr/bin/stty": stty,
    "/usr/bin/tty": tty_command,
}
