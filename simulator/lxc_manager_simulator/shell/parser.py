"""Parsing shell source with bashlex, plus the few rewrites bashlex needs.

bashlex (a port of bash's own grammar) gives the structure: lists, pipelines, compound
commands, functions, redirections and here-documents. It does not accept some constructs
of the supported subset, so a small quote-aware pre-scan rewrites them first. Every rewrite
keeps the source length, so the positions bashlex reports still index the *original* text,
which is what the interpreter expands (bashlex's own `word` values lose quoting):

* `<<'EOF'` / `<<"EOF"` / `<<\\EOF`: the quoted delimiter becomes `EOF` padded with
  spaces; the here-document is remembered as quoted (no expansion of its body).
* `[[ ... ]]` and `(( ... ))` at a command position: replaced by a placeholder word of
  underscores; the interpreter recognises the placeholder by the original text and
  evaluates the conditional / arithmetic expression itself.
* `for (( init; cond; step ))`: the header becomes a placeholder loop variable.
* `$(( expr ))`: becomes `$(:   )` for bashlex; the expander evaluates the original text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import bashlex
import bashlex.errors

COMMAND_PREFIX_WORDS = {"if", "then", "else", "elif", "do", "while", "until", "!", "{", "time"}
COMMAND_END_CHARS = set(";&|()\n")
WORD_BREAK_CHARS = set(" \t\n;&|()<>")
ARRAY_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\+?=")
PLAIN_DELIMITER = re.compile(r"[A-Za-z0-9_.\-]+\Z")


class ShellSyntaxError(Exception):
    """A script the parser refuses; `line` is 1-based."""

    def __init__(self, message: str, line: int, *, incomplete: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.incomplete = incomplete or "unexpected EOF" in message


@dataclass
class Script:
    """Parsed source: bashlex nodes whose positions index `source` (the original text)."""

    source: str
    nodes: list[Any]
    quoted_heredocs: set[int] = field(
        default_factory=set
    )  # positions of `<<` whose delimiter was quoted

    def text(self, node: Any) -> str:
        start, end = node.pos
        return self.source[start:end]

    def line_of(self, position: int) -> int:
        return self.source.count("\n", 0, position) + 1


def parse(source: str) -> Script:
    """Parse a script; raises `ShellSyntaxError` for what bash (or this subset) rejects."""
    scan = _PreScanner(source)
    rewritten = scan.run()
    if not scan.saw_token:
        return Script(source, [], scan.quoted_heredocs)
    try:
        nodes = bashlex.parse(rewritten)
    except bashlex.errors.ParsingError as exc:
        position = getattr(exc, "position", len(source))
        at_end = position >= len(rewritten.rstrip())
        raise ShellSyntaxError(
            f"syntax error: {exc.message}", _line(source, position), incomplete=at_end
        ) from exc
    except NotImplementedError as exc:
        raise ShellSyntaxError(f"construct not supported by the simulator: {exc}", 1) from exc
    return Script(source, list(nodes), scan.quoted_heredocs)


def _line(source: str, position: int) -> int:
    return source.count("\n", 0, max(0, min(position, len(source)))) + 1


def find_closing(text: str, start: int, opener: str, closer: str) -> int:
    """Index just past the `closer` matching an already-consumed `opener`, quote-aware.

    `start` is the index right after the opener. Raises `ShellSyntaxError` when unbalanced.
    """
    depth = 1
    i = start
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char == "'" and opener != "{":
            i = _skip_single_quote(text, i)
            continue
        if char == '"':
            i = _skip_double_quote(text, i)
            continue
        if char == "$" and text.startswith("$(", i):
            i = find_closing(text, i + 2, "(", ")")
            continue
        if char == "$" and text.startswith("${", i):
            i = find_closing(text, i + 2, "{", "}")
            continue
        if char == "`":
            i = _skip_backtick(text, i)
            continue
        if char == opener:
            depth += 1
        elif char == closer:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise ShellSyntaxError(
        f"unexpected EOF while looking for matching `{closer}'", _line(text, len(text))
    )


def _skip_single_quote(text: str, i: int) -> int:
    end = text.find("'", i + 1)
    if end < 0:
        raise ShellSyntaxError("unexpected EOF while looking for matching `''", _line(text, i))
    return end + 1


def _skip_double_quote(text: str, i: int) -> int:
    j = i + 1
    while j < len(text):
        char = text[j]
        if char == "\\":
            j += 2
            continue
        if char == '"':
            return j + 1
        if text.startswith("$(", j):
            j = find_closing(text, j + 2, "(", ")")
            continue
        if text.startswith("${", j):
            j = find_closing(text, j + 2, "{", "}")
            continue
        if char == "`":
            j = _skip_backtick(text, j)
            continue
        j += 1
    raise ShellSyntaxError("unexpected EOF while looking for matching `\"'", _line(text, i))


def _skip_backtick(text: str, i: int) -> int:
    j = i + 1
    while j < len(text):
        if text[j] == "\\":
            j += 2
            continue
        if text[j] == "`":
            return j + 1
        j += 1
    raise ShellSyntaxError("unexpected EOF while looking for matching ``'", _line(text, i))


@dataclass
class _PendingHeredoc:
    delimiter: str
    strip_tabs: bool


class _PreScanner:
    """Walks the source once, quote-aware, and applies the length-preserving rewrites."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.out = list(source)
        self.quoted_heredocs: set[int] = set()
        self.saw_token = False
        self._pending: list[_PendingHeredoc] = []

    def run(self) -> str:
        self._scan_commands(0, len(self.source))
        return "".join(self.out)

    def _replace(self, start: int, end: int, text: str) -> None:
        assert len(text) == end - start
        self.out[start:end] = list(text)

    # -- the command level ----------------------------------------------------------------
    def _scan_commands(self, i: int, end: int) -> int:
        at_command = True
        text = self.source
        while i < end:
            char = text[i]
            if char == "\n":
                i = self._skip_heredoc_bodies(i + 1)
                at_command = True
            elif char in " \t":
                i += 1
            elif char == "#":
                i = self._skip_comment(i)
            elif at_command and text.startswith("((", i):
                self.saw_token = True
                i, at_command = self._opaque_region(i, "))"), False
            elif char in COMMAND_END_CHARS or char in "<>":
                i, at_command = self._operator(i, at_command)
            else:
                self.saw_token = True
                i, at_command = self._word_or_construct(i, at_command)
        return i

    def _skip_comment(self, i: int) -> int:
        newline = self.source.find("\n", i)
        return len(self.source) if newline < 0 else newline

    def _operator(self, i: int, at_command: bool) -> tuple[int, bool]:
        text = self.source
        self.saw_token = True
        if text.startswith(("&&", "||", ";;"), i):
            return i + 2, True
        if text.startswith((">&", "<&", "&>"), i):
            return i + 2, at_command
        if text.startswith("<<<", i):
            return i + 3, False
        if text.startswith("<<", i):
            return self._heredoc_operator(i), False
        if text[i] in "<>":
            return i + 1, at_command
        if text[i] == ")":
            return i + 1, False
        return i + 1, True

    def _word_or_construct(self, i: int, at_command: bool) -> tuple[int, bool]:
        text = self.source
        if at_command and text.startswith("[[", i) and self._is_word_end(i + 2):
            return self._opaque_region(i, "]]"), False
        start = i
        i = self._skip_word(i)
        word = text[start:i]
        if ARRAY_ASSIGNMENT.fullmatch(word) and text.startswith("(", i):
            raise ShellSyntaxError("arrays are not supported by the simulator", _line(text, i))
        if word == "for":
            i = self._maybe_arithmetic_for(i)
        return i, at_command and word in COMMAND_PREFIX_WORDS

    def _is_word_end(self, i: int) -> bool:
        return i >= len(self.source) or self.source[i] in WORD_BREAK_CHARS

    def _skip_word(self, i: int) -> int:
        text = self.source
        while i < len(text) and text[i] not in WORD_BREAK_CHARS:
            char = text[i]
            if char == "\\":
                i += 2
            elif char == "'":
                i = _skip_single_quote(text, i)
            elif char == '"':
                i = self._double_quote(i)
            elif char == "`":
                i = _skip_backtick(text, i)
            elif char == "$":
                i = self._dollar(i)
            else:
                i += 1
        return min(i, len(text))

    def _double_quote(self, i: int) -> int:
        text = self.source
        j = i + 1
        while j < len(text):
            char = text[j]
            if char == "\\":
                j += 2
            elif char == '"':
                return j + 1
            elif char == "$":
                j = self._dollar(j)
            elif char == "`":
                j = _skip_backtick(text, j)
            else:
                j += 1
        raise ShellSyntaxError("unexpected EOF while looking for matching `\"'", _line(text, i))

    def _dollar(self, i: int) -> int:
        text = self.source
        if text.startswith("$((", i):
            end = find_closing(text, i + 3, "(", ")")
            if end < len(text) and text[end] == ")":
                end += 1
                self._replace(i, end, "$(:" + " " * (end - i - 4) + ")")
                return end
            return self._command_substitution(i)
        if text.startswith("$(", i):
            return self._command_substitution(i)
        if text.startswith("${", i):
            return find_closing(text, i + 2, "{", "}")
        if text.startswith("$'", i):
            j = i + 2
            while j < len(text) and text[j] != "'":
                j += 2 if text[j] == "\\" else 1
            return j + 1
        return i + 1

    def _command_substitution(self, i: int) -> int:
        end = find_closing(self.source, i + 2, "(", ")")
        self._scan_commands(i + 2, end - 1)
        return end

    # -- constructs bashlex lacks -----------------------------------------------------------
    def _opaque_region(self, start: int, closer: str) -> int:
        """Replace `[[ ... ]]` / `(( ... ))` by a same-length placeholder word."""
        end = self._find_region_end(start + 2, closer)
        self._replace(start, end, "_" * (end - start))
        return end

    def _find_region_end(self, i: int, closer: str) -> int:
        text = self.source
        depth = 0
        while i < len(text):
            if (
                text.startswith(closer, i)
                and depth == 0
                and (closer == "))" or self._is_word_end(i + 2))
            ):
                return i + 2
            char = text[i]
            if char == "\\":
                i += 2
            elif char == "'":
                i = _skip_single_quote(text, i)
            elif char == '"':
                i = self._double_quote(i)
            elif char == "$":
                i = self._dollar(i)
            else:
                depth += {"(": 1, ")": -1}.get(char, 0) if closer == "))" else 0
                i += 1
        raise ShellSyntaxError(
            f"unexpected EOF while looking for `{closer}'", _line(text, len(text))
        )

    def _maybe_arithmetic_for(self, i: int) -> int:
        text = self.source
        j = i
        while j < len(text) and text[j] in " \t":
            j += 1
        if not text.startswith("((", j):
            return i
        return self._opaque_region(j, "))")

    # -- here-documents -----------------------------------------------------------------------
    def _heredoc_operator(self, i: int) -> int:
        text = self.source
        j = i + 2
        strip_tabs = text.startswith("-", j)
        if strip_tabs:
            j += 1
        while j < len(text) and text[j] in " \t":
            j += 1
        word_end = self._skip_word(j)
        raw = text[j:word_end]
        delimiter = re.sub(r"\\(.)|['\"]", lambda m: m.group(1) or "", raw)
        if delimiter != raw:
            self.quoted_heredocs.add(i)
            if PLAIN_DELIMITER.match(delimiter):
                self._replace(j, word_end, delimiter.ljust(len(raw)))
        self._pending.append(_PendingHeredoc(delimiter, strip_tabs))
        return word_end

    def _skip_heredoc_bodies(self, i: int) -> int:
        text = self.source
        for heredoc in self._pending:
            while i < len(text):
                newline = text.find("\n", i)
                line_end = len(text) if newline < 0 else newline
                line = text[i:line_end]
                i = line_end + 1
                if (line.lstrip("\t") if heredoc.strip_tabs else line) == heredoc.delimiter:
                    break
        self._pending.clear()
        return min(i, len(text))
