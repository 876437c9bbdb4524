"""Word expansion on the original source text of a word.

Order as in bash: tilde, parameter, command substitution and arithmetic (left to right),
then field splitting of unquoted expansion results on IFS, pathname expansion of unquoted
glob characters, and quote removal.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from typing import Protocol

from . import arith, patterns
from .parser import ShellSyntaxError, find_closing

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
PARAMETER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+|[@*#?$!\-]")
SPECIAL_CHARS = set("@*#?$!-0123456789")
OPERATORS = [
    ":-",
    ":=",
    ":+",
    ":?",
    "-",
    "=",
    "+",
    "?",
    "##",
    "#",
    "%%",
    "%",
    "//",
    "/#",
    "/%",
    "/",
    "^^",
    "^",
    ",,",
    ",",
    ":",
]
DQUOTE_ESCAPABLE = set('$`"\\\n')


class ExpansionError(Exception):
    """A failed expansion; `fatal` ones end a non-interactive shell (unbound variable, ${x:?})."""

    def __init__(self, message: str, *, fatal: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.fatal = fatal


class ExpansionHost(Protocol):
    """What expansion needs from the interpreter."""

    def lookup(self, name: str) -> str | None: ...
    def positional(self) -> list[str]: ...
    def assign(self, name: str, value: str) -> None: ...
    def nounset(self) -> bool: ...
    def ifs(self) -> str: ...
    async def substitute(self, source: str) -> str: ...
    def home_of(self, user: str) -> str | None: ...
    def glob(self, pattern: str) -> list[str]: ...


@dataclass
class Piece:
    """A stretch of a word: source text or an expansion result."""

    text: str
    quoted: bool
    splittable: bool = False  # an unquoted expansion result (subject to IFS splitting)
    fields: list[str] | None = None  # quoted "$@": one field per positional parameter


@dataclass
class _Fields:
    """Assembles pieces into fields, tracking which characters may glob."""

    ifs: str
    fields: list[tuple[str, str]] = field(default_factory=list)  # (text, glob pattern)
    text: list[str] = field(default_factory=list)
    pattern: list[str] = field(default_factory=list)
    open: bool = False

    def add(self, text: str, quoted: bool) -> None:
        self.text.append(text)
        self.pattern.append(patterns.escape(text) if quoted else text)
        self.open = True

    def finish(self) -> None:
        if self.open:
            self.fields.append(("".join(self.text), "".join(self.pattern)))
        self.text, self.pattern, self.open = [], [], False

    def add_split(self, text: str) -> None:
        if not text:
            return
        whitespace = "".join(c for c in self.ifs if c in " \t\n")
        others = "".join(c for c in self.ifs if c not in " \t\n")
        if not self.ifs:
            self.add(text, False)
            return
        if text[0] in self.ifs and text[0] in whitespace:
            self.finish()
        parts = _split_ifs(text, whitespace, others)
        for index, part in enumerate(parts):
            if index > 0:
                self.finish()
            if part or index > 0 or self.open:
                self.add(part, False)
        if text[-1] in self.ifs:
            self.finish()

    def add_fields(self, values: list[str]) -> None:
        for index, value in enumerate(values):
            if index > 0:
                self.finish()
            self.add(value, True)


def _split_ifs(text: str, whitespace: str, others: str) -> list[str]:
    stripped = text.strip(whitespace) if whitespace else text
    if not stripped:
        return []
    ws = f"[{re.escape(whitespace)}]*" if whitespace else ""
    alternatives = []
    if others:
        alternatives.append(f"{ws}[{re.escape(others)}]{ws}")
    if whitespace:
        alternatives.append(f"[{re.escape(whitespace)}]+")
    parts = re.split("|".join(alternatives), stripped)
    if others and parts and parts[-1] == "" and stripped[-1] in others:
        parts.pop()
    return parts


class Expander:
    """Expands words against an `ExpansionHost` (the interpreter)."""

    def __init__(self, host: ExpansionHost) -> None:
        self.host = host

    # -- public entry points ------------------------------------------------------------------
    async def fields(self, raw: str) -> list[str]:
        """A command word: expansions, field splitting, pathname expansion, quote removal."""
        collected = _Fields(self.host.ifs())
        for piece in await self.pieces(raw):
            if piece.fields is not None:
                collected.add_fields(piece.fields)
            elif piece.splittable:
                collected.add_split(piece.text)
            else:
                collected.add(piece.text, piece.quoted)
        collected.finish()
        out: list[str] = []
        for text, pattern in collected.fields:
            matches = self.host.glob(pattern) if patterns.has_magic(pattern) else []
            out.extend(matches or [text])
        return out

    async def single(self, raw: str, *, tilde: bool = True) -> str:
        """An assignment value, a redirection target, a here-string: no splitting, no globbing."""
        pieces = await self.pieces(raw, tilde=tilde)
        return "".join(" ".join(p.fields) if p.fields is not None else p.text for p in pieces)

    async def pattern(self, raw: str) -> str:
        """A pattern word (`[[ x == pat ]]`, `${x#pat}`): quoted parts match literally."""
        pieces = await self.pieces(raw, tilde=False)
        return "".join(patterns.escape(p.text) if p.quoted else p.text for p in pieces)

    async def heredoc(self, body: str) -> str:
        """An unquoted here-document body: expansions and backslash escapes, no quote removal."""
        scanner = _Scanner(self, body, heredoc=True)
        return "".join(p.text for p in await scanner.scan())

    async def pieces(self, raw: str, *, quoted: bool = False, tilde: bool = True) -> list[Piece]:
        return await _Scanner(self, raw, in_dquote=quoted, tilde=tilde).scan()

    async def arithmetic(self, expression: str) -> int:
        expanded = await self.heredoc(expression)
        variables = arith.Variables(get=lambda n: self.host.lookup(n) or "", set=self.host.assign)
        try:
            return arith.evaluate(expanded, variables)
        except arith.ArithmeticError_ as exc:
            raise ExpansionError(f"{expanded.strip()}: {exc}") from exc

    # -- parameters ---------------------------------------------------------------------------
    def parameter(self, name: str) -> str | None:
        value = self.host.lookup(name)
        if value is None and self.host.nounset() and name not in ("@", "*"):
            raise ExpansionError(f"{name}: unbound variable", fatal=True)
        return value

    async def braced(self, body: str, in_dquote: bool) -> list[Piece]:
        """`${...}`: the forms of the supported subset."""
        if body.startswith("#") and len(body) > 1 and PARAMETER.fullmatch(body[1:]):
            return [Piece(str(self._length(body[1:])), in_dquote, not in_dquote)]
        match = PARAMETER.match(body)
        if not match:
            raise ExpansionError(f"${{{body}}}: bad substitution")
        name, rest = match.group(), body[match.end() :]
        if not rest:
            return self._plain(name, in_dquote)
        op = next((o for o in OPERATORS if rest.startswith(o)), None)
        if op is None:
            raise ExpansionError(f"${{{body}}}: bad substitution")
        return await self._operator(name, op, rest[len(op) :], in_dquote, body)

    def _length(self, name: str) -> int:
        if name in ("@", "*"):
            return len(self.host.positional())
        return len(self.parameter(name) or "")

    def _plain(self, name: str, in_dquote: bool) -> list[Piece]:
        if name == "@" and in_dquote:
            return [Piece("", True, fields=self.host.positional())]
        value = self.parameter(name)
        return [Piece(value or "", in_dquote, not in_dquote)]

    async def _operator(
        self, name: str, op: str, word: str, in_dquote: bool, body: str
    ) -> list[Piece]:
        value = self.host.lookup(name)
        if op in (":-", "-", ":=", "=", ":+", "+", ":?", "?"):
            return await self._conditional(name, value, op, word, in_dquote)
        if value is None and self.host.nounset():
            raise ExpansionError(f"{name}: unbound variable", fatal=True)
        text = value or ""
        if op == ":":
            result = await self._substring(text, word, body)
        elif op in ("^^", "^", ",,", ","):
            result = _case(text, op)
        elif op.startswith("/"):
            result = await self._replace(text, op, word)
        else:
            result = _trim(text, op, await self.pattern(word))
        return [Piece(result, in_dquote, not in_dquote)]

    async def _conditional(
        self, name: str, value: str | None, op: str, word: str, in_dquote: bool
    ) -> list[Piece]:
        unset = value is None or (op.startswith(":") and value == "")
        kind = op.lstrip(":")
        if kind == "+":
            return await self._word_pieces(word, in_dquote) if not unset else []
        if not unset:
            return [Piece(value or "", in_dquote, not in_dquote)]
        if kind == "-":
            return await self._word_pieces(word, in_dquote)
        if kind == "=":
            if not NAME.fullmatch(name):
                raise ExpansionError(f"${name}: cannot assign in this way")
            assigned = await self.single(word)
            self.host.assign(name, assigned)
            return [Piece(assigned, in_dquote, not in_dquote)]
        message = await self.single(word) if word else "parameter null or not set"
        raise ExpansionError(f"{name}: {message}", fatal=True)

    async def _word_pieces(self, word: str, in_dquote: bool) -> list[Piece]:
        pieces = await self.pieces(word, quoted=in_dquote)
        if in_dquote:
            return pieces
        return [
            p if p.quoted or p.fields is not None else Piece(p.text, False, True) for p in pieces
        ]

    async def _substring(self, text: str, spec: str, body: str) -> str:
        offset_text, _, length_text = spec.partition(":")
        try:
            offset = await self.arithmetic(offset_text)
            length = await self.arithmetic(length_text) if length_text.strip() else None
        except ExpansionError as exc:
            raise ExpansionError(f"${{{body}}}: bad substitution") from exc
        if offset < 0:
            offset = max(0, len(text) + offset)
        if length is None:
            return text[offset:]
        end = offset + length if length >= 0 else len(text) + length
        return text[offset:end]

    async def _replace(self, text: str, op: str, word: str) -> str:
        pattern_raw, replacement_raw = _split_replacement(word)
        pattern = await self.pattern(pattern_raw)
        replacement = await self.single(replacement_raw)
        if not pattern:
            return text
        regex = patterns.to_regex(pattern)
        if op == "/#":
            return re.sub(f"^(?:{regex})", lambda _: replacement, text, count=1, flags=re.S)
        if op == "/%":
            return re.sub(f"(?:{regex})$", lambda _: replacement, text, count=1, flags=re.S)
        count = 0 if op == "//" else 1
        return re.sub(regex, lambda _: replacement, text, count=count, flags=re.S)

    def home(self, user: str) -> str | None:
        return self.host.home_of(user)


def _case(text: str, op: str) -> str:
    if op == "^^":
        return text.upper()
    if op == ",,":
        return text.lower()
    if not text:
        return text
    return (text[0].upper() if op == "^" else text[0].lower()) + text[1:]


def _trim(text: str, op: str, pattern: str) -> str:
    regex = patterns.to_regex(pattern)
    candidates = range(len(text) + 1)
    if op in ("#", "##"):
        order = candidates if op == "#" else reversed(candidates)
        for end in order:
            if re.fullmatch(regex, text[:end], re.S):
                return text[end:]
        return text
    order = reversed(candidates) if op == "%" else candidates
    for start in order:
        if re.fullmatch(regex, text[start:], re.S):
            return text[:start]
    return text


def _split_replacement(word: str) -> tuple[str, str]:
    i = 0
    while i < len(word):
        if word[i] == "\\":
            i += 2
            continue
        if word[i] == "/":
            return word[:i], word[i + 1 :]
        i += 1
    return word, ""


def decode_ansi_c(body: str) -> str:
    """The value of `$'...'` (backslash escapes as in C)."""

    def replace(match: re.Match[str]) -> str:
        escape = match.group(0)
        if escape[1] == "c" and len(escape) == 3:
            return chr(ord(escape[2]) & 0x1F)
        if escape[1] == "'":
            return "'"
        if escape[1] == "e" or escape[1] == "E":
            return "\x1b"
        return codecs.decode(escape, "unicode_escape")

    return re.sub(
        r"\\(?:x[0-9a-fA-F]{1,2}|u[0-9a-fA-F]{1,4}|[0-7]{1,3}|c.|.)", replace, body, flags=re.S
    )


class _Scanner:
    """Splits raw word text into pieces, running expansions as it meets them."""

    def __init__(
        self,
        expander: Expander,
        raw: str,
        *,
        in_dquote: bool = False,
        tilde: bool = True,
        heredoc: bool = False,
    ) -> None:
        self.expander = expander
        self.raw = raw
        self.in_dquote = in_dquote or heredoc
        self.heredoc = heredoc
        self.tilde = tilde and not in_dquote and not heredoc
        self.out: list[Piece] = []
        self.literal: list[str] = []

    def _flush(self) -> None:
        if self.literal:
            self.out.append(Piece("".join(self.literal), self.in_dquote))
            self.literal = []

    def _emit(self, pieces: list[Piece]) -> None:
        self._flush()
        self.out.extend(pieces)

    async def scan(self) -> list[Piece]:
        i = self._tilde(0) if self.tilde else 0
        raw = self.raw
        while i < len(raw):
            char = raw[i]
            if char == "\\":
                i = self._backslash(i)
            elif char == "'" and not self.in_dquote:
                i = self._single_quote(i)
            elif char == '"' and not self.heredoc:
                i = await self._double_quote(i)
            elif char == "$":
                i = await self._dollar(i)
            elif char == "`":
                i = await self._backtick(i)
            elif char in "<>" and raw.startswith("(", i + 1) and not self.in_dquote:
                raise ExpansionError("process substitution is not supported by the simulator")
            else:
                self.literal.append(char)
                i += 1
        self._flush()
        if not self.out:
            return [Piece("", self.in_dquote)] if self.in_dquote else []
        return self.out

    def _tilde(self, i: int) -> int:
        raw = self.raw
        if not raw.startswith("~"):
            return i
        end = raw.find("/")
        end = len(raw) if end < 0 else end
        user = raw[1:end]
        if user and not NAME.fullmatch(user.replace("-", "_").replace(".", "_")):
            return i
        home = self.expander.home(user)
        if home is None:
            return i
        self._emit([Piece(home, True)])
        return end

    def _backslash(self, i: int) -> int:
        raw = self.raw
        if i + 1 >= len(raw):
            self.literal.append("\\")
            return i + 1
        nxt = raw[i + 1]
        if nxt == "\n":
            return i + 2
        if self.in_dquote and nxt not in DQUOTE_ESCAPABLE:
            self.literal.append("\\")
            return i + 1
        if self.heredoc and nxt == '"':
            self.literal.append("\\")
            return i + 1
        self._flush()
        self.out.append(Piece(nxt, True))
        return i + 2

    def _single_quote(self, i: int) -> int:
        end = self.raw.find("'", i + 1)
        if end < 0:
            raise ShellSyntaxError("unexpected EOF while looking for matching `''", 1)
        self._emit([Piece(self.raw[i + 1 : end], True)])
        return end + 1

    async def _double_quote(self, i: int) -> int:
        if self.in_dquote:
            self._flush()
            return i + 1
        end = _double_quote_end(self.raw, i)
        inner = await _Scanner(self.expander, self.raw[i + 1 : end - 1], in_dquote=True).scan()
        self._emit(inner)
        return end

    async def _dollar(self, i: int) -> int:
        raw = self.raw
        nxt = raw[i + 1] if i + 1 < len(raw) else ""
        if nxt == "(":
            return await self._paren(i)
        if nxt == "{":
            end = find_closing(raw, i + 2, "{", "}")
            self._emit(await self.expander.braced(raw[i + 2 : end - 1], self.in_dquote))
            return end
        if nxt == "'" and not self.in_dquote:
            end = _ansi_quote_end(raw, i + 2)
            self._emit([Piece(decode_ansi_c(raw[i + 2 : end - 1]), True)])
            return end
        match = PARAMETER.match(raw, i + 1)
        if match is None:
            self.literal.append("$")
            return i + 1
        name = match.group()
        if name[0].isdigit():
            name = name[0]
        self._emit(
            self.expander._plain(name, self.in_dquote)
            if name == "@"
            else [self._value_piece(self.expander.parameter(name) or "")]
        )
        return i + 1 + len(name)

    def _value_piece(self, value: str) -> Piece:
        return Piece(value, self.in_dquote, not self.in_dquote)

    async def _paren(self, i: int) -> int:
        raw = self.raw
        if raw.startswith("$((", i):
            end = find_closing(raw, i + 3, "(", ")")
            if end < len(raw) and raw[end] == ")":
                value = await self.expander.arithmetic(raw[i + 3 : end - 1])
                self._emit([self._value_piece(str(value))])
                return end + 1
        end = find_closing(raw, i + 2, "(", ")")
        output = await self.expander.host.substitute(raw[i + 2 : end - 1])
        self._emit([self._value_piece(output.rstrip("\n"))])
        return end

    async def _backtick(self, i: int) -> int:
        raw = self.raw
        j = i + 1
        inner: list[str] = []
        while j < len(raw) and raw[j] != "`":
            if raw[j] == "\\" and j + 1 < len(raw) and raw[j + 1] in "$`\\":
                inner.append(raw[j + 1])
                j += 2
                continue
            inner.append(raw[j])
            j += 1
        output = await self.expander.host.substitute("".join(inner))
        self._emit([self._value_piece(output.rstrip("\n"))])
        return j + 1


def _double_quote_end(raw: str, i: int) -> int:
    j = i + 1
    while j < len(raw):
        char = raw[j]
        if char == "\\":
            j += 2
        elif char == '"':
            return j + 1
        elif raw.startswith("$(", j):
            j = find_closing(raw, j + 2, "(", ")")
        elif raw.startswith("${", j):
            j = find_closing(raw, j + 2, "{", "}")
        elif char == "`":
            j = raw.find("`", j + 1) + 1 or len(raw)
        else:
            j += 1
    raise ShellSyntaxError("unexpected EOF while looking for matching `\"'", 1)


def _ansi_quote_end(raw: str, start: int) -> int:
    j = start
    while j < len(raw) and raw[j] != "'":
        j += 2 if raw[j] == "\\" else 1
    return j + 1
