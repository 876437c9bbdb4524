"""Shell patterns: `*`, `?`, `[...]` with backslash-escaped literals, and pathname expansion."""

from __future__ import annotations

import posixpath
import re
from functools import lru_cache

from .vfs import Vfs

GLOB_CHARS = set("*?[")
CHARACTER_CLASSES = {
    "alpha": "a-zA-Z",
    "digit": "0-9",
    "alnum": "a-zA-Z0-9",
    "upper": "A-Z",
    "lower": "a-z",
    "space": r"\s",
    "xdigit": "0-9A-Fa-f",
    "punct": r"!-/:-@\[-`{-~",
    "blank": r" \t",
}


def escape(text: str) -> str:
    """A pattern matching `text` literally."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def has_magic(pattern: str) -> bool:
    """Whether the pattern holds an unescaped `*`, `?` or `[`."""
    i = 0
    while i < len(pattern):
        if pattern[i] == "\\":
            i += 2
            continue
        if pattern[i] in GLOB_CHARS:
            return True
        i += 1
    return False


def unescape(pattern: str) -> str:
    return re.sub(r"\\(.)", r"\1", pattern, flags=re.S)


@lru_cache(maxsize=512)
def to_regex(pattern: str) -> str:
    """The regular expression (without anchors) for a shell pattern."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
        elif char == "*":
            out.append(".*")
            i += 1
        elif char == "?":
            out.append(".")
            i += 1
        elif char == "[":
            translated, i = _bracket(pattern, i)
            out.append(translated)
        else:
            out.append(re.escape(char))
            i += 1
    return "".join(out)


def _bracket(pattern: str, start: int) -> tuple[str, int]:
    i = start + 1
    negate = i < len(pattern) and pattern[i] in "!^"
    if negate:
        i += 1
    parts: list[str] = []
    first = True
    while i < len(pattern) and (pattern[i] != "]" or first):
        first = False
        match = re.match(r"\[:(\w+):\]", pattern[i:])
        if match and match.group(1) in CHARACTER_CLASSES:
            parts.append(CHARACTER_CLASSES[match.group(1)])
            i += match.end()
            continue
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            parts.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        parts.append("-" if char == "-" else re.escape(char))
        i += 1
    if i >= len(pattern):
        return re.escape("["), start + 1
    return "[" + ("^" if negate else "") + "".join(parts) + "]", i + 1


def match(pattern: str, text: str) -> bool:
    return re.fullmatch(to_regex(pattern), text, re.S) is not None


def glob(vfs: Vfs, pattern: str, cwd: str) -> list[str]:
    """Pathname expansion against a virtual filesystem (sorted; [] when nothing matches)."""
    absolute = pattern.startswith("/")
    components = [c for c in pattern.split("/") if c]
    results = ["/" if absolute else ""]
    for component in components:
        results = _expand_component(vfs, results, component, cwd)
        if not results:
            return []
    if pattern.endswith("/"):
        results = [r + "/" for r in results if vfs.is_dir(r, cwd)]
    return sorted(results)


def _expand_component(vfs: Vfs, bases: list[str], component: str, cwd: str) -> list[str]:
    out: list[str] = []
    for base in bases:
        directory = base or "."
        if not has_magic(component):
            candidate = posixpath.join(base, unescape(component)) if base else unescape(component)
            if vfs.exists(candidate, cwd, follow=False):
                out.append(candidate)
            continue
        if not vfs.is_dir(directory, cwd):
            continue
        regex = to_regex(component)
        for name in vfs.listdir(directory, cwd):
            if name.startswith(".") and not component.startswith("."):
                continue
            if re.fullmatch(regex, name, re.S):
                out.append(posixpath.join(base, name) if base else name)
    return out
