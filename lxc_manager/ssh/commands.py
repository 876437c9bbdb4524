"""Building the command lines sent to the Proxmox host (pure functions, no I/O).

An SSH exec request carries one string that the host's login shell parses, so every command
is built from an argv list with `shlex.join`: each argument arrives as exactly one word,
whatever quotes, `;`, `$(...)` or newlines it contains. No caller text is ever pasted into a
shell string.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence

VMID_MIN = 100
VMID_MAX = 999_999_999
_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}$")
_WORD_RE = re.compile(r"^[A-Za-z0-9_./][A-Za-z0-9_./@+-]{0,63}$")


def validate_vmid(vmid: object) -> int:
    """The vmid as an int in 100..999999999; ValueError otherwise (bools and strings too)."""
    if isinstance(vmid, bool) or not isinstance(vmid, int):
        raise ValueError(f"vmid must be an integer, not {type(vmid).__name__}")
    if not VMID_MIN <= vmid <= VMID_MAX:
        raise ValueError(f"vmid must be between {VMID_MIN} and {VMID_MAX}")
    return vmid


def validate_argv(argv: Sequence[str]) -> list[str]:
    """A non-empty list of str without NUL characters (a NUL cannot travel in an argv)."""
    if isinstance(argv, str | bytes):
        raise ValueError("argv must be a list of arguments, not a single string")
    args = list(argv)
    if not args:
        raise ValueError("argv must not be empty")
    for arg in args:
        if not isinstance(arg, str):
            raise ValueError(f"every argument must be a str, not {type(arg).__name__}")
        if "\x00" in arg:
            raise ValueError("arguments must not contain NUL characters")
    if not args[0]:
        raise ValueError("the program name must not be empty")
    return args


def command_line(argv: Sequence[str]) -> str:
    """The shell-quoted command line for an argv list."""
    return shlex.join(validate_argv(argv))


def pct_exec_argv(vmid: int, argv: Sequence[str]) -> list[str]:
    """`pct exec VMID -- ARGV...`: the `--` ends pct's options, so argv may start with `-`."""
    return ["pct", "exec", str(validate_vmid(vmid)), "--", *validate_argv(argv)]


def validate_dest(dest: str) -> str:
    if not isinstance(dest, str) or not dest.startswith("/"):
        raise ValueError("the destination must be an absolute path inside the container")
    if "\x00" in dest or "\n" in dest:
        raise ValueError("the destination must not contain NUL or newline characters")
    if dest.endswith("/"):
        raise ValueError("the destination must name a file, not a directory")
    return dest


def validate_mode(mode: int) -> int:
    if isinstance(mode, bool) or not isinstance(mode, int) or not 0 <= mode <= 0o7777:
        raise ValueError("mode must be an integer between 0 and 0o7777")
    return mode


def validate_owner(name: str | None, what: str) -> str | None:
    """A user or group name (or numeric id); None means pct's default (root)."""
    if name is None:
        return None
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValueError(f"{what} must be a user/group name or a numeric id")
    return name


def pct_push_argv(
    vmid: int,
    source: str,
    dest: str,
    mode: int,
    owner: str | None = None,
    group: str | None = None,
) -> list[str]:
    """`pct push VMID SOURCE DEST --perms MODE [--user U] [--group G]` (mode in octal)."""
    argv = [
        "pct",
        "push",
        str(validate_vmid(vmid)),
        source,
        validate_dest(dest),
        "--perms",
        format(validate_mode(mode), "04o"),
    ]
    if (user := validate_owner(owner, "owner")) is not None:
        argv += ["--user", user]
    if (grp := validate_owner(group, "group")) is not None:
        argv += ["--group", grp]
    return argv


def describe(argv: Sequence[str]) -> str:
    """What a log line may say about a command: the program (and pct's subcommand / vmid),
    never the other arguments, which may hold data the user would not want in a log."""
    args = list(argv)
    if args[:2] == ["pct", "exec"] and len(args) >= 5:
        shown = args[:5]
    elif args[:1] == ["pct"]:
        shown = args[:3]
    else:
        shown = args[:1]
    shown = [word if _WORD_RE.match(word) or word == "--" else "?" for word in shown]
    rest = len(args) - len(shown)
    return " ".join(shown) + (f" (+{rest} args)" if rest else "")
