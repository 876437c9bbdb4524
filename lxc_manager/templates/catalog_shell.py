"""The shell syntax of template.conf: `KEY=VALUE` lines with quoting and `${VAR:-default}`.

A small, safe subset of POSIX shell assignment parsing: nothing is executed and nothing is
read from the environment; command substitution is refused with a message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .catalog_reader import TemplateDir


class _ConfError(Exception):
    pass


class _Unterminated(_ConfError):
    pass


@dataclass(frozen=True)
class _ConfValue:
    value: str
    line: int
    unset: tuple[str, ...]  # variables it referred to that were not set earlier


_ASSIGNMENT = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.DOTALL)
_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BRACED = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-=+])(.*))?$", re.DOTALL)
_SHELL_SPECIAL = set(";&|<>()`")


def parse_conf(tpl: TemplateDir, path: Path, text: str) -> dict[str, _ConfValue]:
    """`KEY=VALUE` lines with shell quoting and `${VAR:-default}` expansion (no commands run).

    Values may refer to keys set earlier in the same file; nothing is read from the
    environment of LXC Manager itself.
    """
    values: dict[str, _ConfValue] = {}
    known: dict[str, str] = {}
    lines = text.removeprefix("\ufeff").splitlines()
    index = 0
    while index < len(lines):
        number = index + 1
        line = lines[index].strip()
        index += 1
        if not line or line.startswith("#"):
            continue
        match = _ASSIGNMENT.match(line)
        if match is None:
            tpl.error(path, number, f"is not a KEY=VALUE line: {_clip(line)!r}")
            continue
        key, raw = match.group(1), match.group(2)
        while True:
            try:
                value, unset = _expand(raw, known)
                break
            except _Unterminated:
                if index >= len(lines):
                    tpl.error(path, number, f"{key}: the quote opened here is never closed")
                    value = None
                    break
                raw += "\n" + lines[index]
                index += 1
            except _ConfError as exc:
                tpl.error(path, number, f"{key}: {exc}")
                value = None
                break
        if value is None:
            continue
        known[key] = value
        values[key] = _ConfValue(value, number, unset)
    return values


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _expand(
    raw: str, known: dict[str, str], *, in_word: bool = False
) -> tuple[str, tuple[str, ...]]:
    """The value of a shell word: quotes removed, variables expanded.

    `in_word` is the default part of `${VAR:-word}`, where blanks are literal.
    """
    out: list[str] = []
    unset: list[str] = []
    i = 0
    while i < len(raw):
        char = raw[i]
        if char == "'":
            end = raw.find("'", i + 1)
            if end < 0:
                raise _Unterminated("unterminated '")
            out.append(raw[i + 1 : end])
            i = end + 1
        elif char == '"':
            i = _double_quoted(raw, i + 1, known, out, unset)
        elif char == "\\":
            if i + 1 < len(raw):
                if raw[i + 1] != "\n":
                    out.append(raw[i + 1])
                i += 2
            else:
                i += 1
        elif char == "$":
            i = _dollar(raw, i, known, out, unset)
        elif char.isspace() and not in_word:
            rest = raw[i:].strip()
            if rest and not rest.startswith("#"):
                raise _ConfError("put the value in quotes: it holds a blank")
            break
        elif char in _SHELL_SPECIAL and not in_word:
            raise _ConfError(f"put the value in quotes: {char!r} is shell syntax here")
        else:
            out.append(char)
            i += 1
    return "".join(out), tuple(unset)


def _double_quoted(
    raw: str, i: int, known: dict[str, str], out: list[str], unset: list[str]
) -> int:
    while i < len(raw):
        char = raw[i]
        if char == '"':
            return i + 1
        if char == "\\" and i + 1 < len(raw) and raw[i + 1] in '$`"\\\n':
            if raw[i + 1] != "\n":
                out.append(raw[i + 1])
            i += 2
        elif char == "$":
            i = _dollar(raw, i, known, out, unset)
        elif char == "`":
            raise _ConfError("command substitution (`...`) is not supported in template.conf")
        else:
            out.append(char)
            i += 1
    raise _Unterminated('unterminated "')


def _dollar(raw: str, i: int, known: dict[str, str], out: list[str], unset: list[str]) -> int:
    """Expands the `$...` at raw[i]; returns the index after it."""
    following = raw[i + 1 : i + 2]
    if following == "(":
        raise _ConfError("command substitution $(...) is not supported in template.conf")
    if following == "{":
        end = _closing_brace(raw, i + 2)
        inner = raw[i + 2 : end]
        match = _BRACED.match(inner)
        if match is None:
            raise _ConfError(f"${{{inner}}} is not supported: use ${{VAR}} or ${{VAR:-default}}")
        name, operator, word = match.group(1), match.group(2), match.group(3) or ""
        current = known.get(name)
        is_set = current is not None
        has_value = bool(current)
        if operator is None:
            if current is None:
                unset.append(name)
            out.append(current or "")
        elif operator in (":-", "-", ":=", "="):
            use_default = not has_value if operator.startswith(":") else not is_set
            if use_default:
                default, default_unset = _expand(word, known, in_word=True)
                unset.extend(default_unset)
                if operator.endswith("="):
                    known[name] = default
                out.append(default)
            else:
                out.append(current or "")
        else:  # :+ and +
            use_word = has_value if operator == ":+" else is_set
            if use_word:
                word_value, word_unset = _expand(word, known, in_word=True)
                unset.extend(word_unset)
                out.append(word_value)
        return end + 1
    match = _VAR_NAME.match(raw, i + 1)
    if match is None:
        out.append("$")
        return i + 1
    name = match.group(0)
    if name not in known:
        unset.append(name)
    out.append(known.get(name, ""))
    return match.end()


def _closing_brace(raw: str, start: int) -> int:
    depth = 1
    i = start
    quote: str | None = None
    while i < len(raw):
        char = raw[i]
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "\\":
            i += 1
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise _Unterminated("unterminated ${")
