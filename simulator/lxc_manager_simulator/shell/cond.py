"""`[[ ... ]]`: tokenised from the original text (bashlex cannot parse it), then evaluated.

Words are expanded without field splitting or pathname expansion; the right side of
`==`/`!=` is a pattern (quoted parts literal) and of `=~` an extended regular expression.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import patterns
from .expand import Expander
from .parser import ShellSyntaxError, find_closing
from .testexpr import BINARY_OPS, UNARY_OPS, TestError, binary_test, unary_test
from .vfs import Vfs

COND_OPERATORS = ("&&", "||", "(", ")", "!")


@dataclass
class CondToken:
    text: str
    is_operator: bool


def tokenize(inner: str) -> list[CondToken]:
    """Split the text between `[[` and `]]` into operators and raw (unexpanded) words."""
    tokens: list[CondToken] = []
    i = 0
    while i < len(inner):
        if inner[i] in " \t\n":
            i += 1
            continue
        operator = next((op for op in COND_OPERATORS if inner.startswith(op, i)), None)
        if operator and (operator != "!" or _ends_word(inner, i + 1)):
            tokens.append(CondToken(operator, True))
            i += len(operator)
            continue
        regex_word = bool(tokens) and tokens[-1].text == "=~" and not tokens[-1].is_operator
        end = _word_end(inner, i, allow_parens=regex_word)
        tokens.append(CondToken(inner[i:end], False))
        i = end
    return tokens


def _ends_word(text: str, i: int) -> bool:
    return i >= len(text) or text[i] in " \t\n"


def _word_end(text: str, i: int, *, allow_parens: bool) -> int:
    depth = 0
    while i < len(text):
        char = text[i]
        if char in " \t\n" and depth == 0:
            return i
        if not allow_parens and (char in "()" or text.startswith(("&&", "||"), i)):
            return i
        if char == "\\":
            i += 2
        elif char == "'":
            i = text.index("'", i + 1) + 1
        elif char == '"':
            i = _double_quote_end(text, i)
        elif text.startswith(("$(", "${"), i):
            i = find_closing(text, i + 2, text[i + 1], ")" if text[i + 1] == "(" else "}")
        else:
            depth += {"(": 1, ")": -1}.get(char, 0) if allow_parens else 0
            i += 1
    return len(text)


def _double_quote_end(text: str, i: int) -> int:
    j = i + 1
    while j < len(text) and text[j] != '"':
        if text[j] == "\\":
            j += 1
        elif text.startswith(("$(", "${"), j):
            j = find_closing(text, j + 2, text[j + 1], ")" if text[j + 1] == "(" else "}") - 1
        j += 1
    if j >= len(text):
        raise ShellSyntaxError("unexpected EOF while looking for matching `\"'", 1)
    return j + 1


class CondEvaluator:
    """Recursive descent over the tokens: `||` < `&&` < `!` < `( )` < primaries."""

    def __init__(
        self,
        tokens: list[CondToken],
        expander: Expander,
        vfs: Vfs,
        cwd: str,
        variables: dict[str, str],
    ) -> None:
        self.tokens = tokens
        self.expander = expander
        self.vfs = vfs
        self.cwd = cwd
        self.variables = variables
        self.index = 0
        self.match_groups: list[str] | None = None

    async def evaluate(self) -> bool:
        if not self.tokens:
            raise TestError("syntax error in conditional expression")
        result = await self._or()
        if self.index != len(self.tokens):
            raise TestError(f"syntax error in conditional expression near `{self._peek_text()}'")
        return result

    def _peek(self) -> CondToken | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def _peek_text(self) -> str:
        token = self._peek()
        return token.text if token else ""

    def _is_op(self, text: str) -> bool:
        token = self._peek()
        return token is not None and token.is_operator and token.text == text

    def _take(self) -> CondToken:
        token = self._peek()
        if token is None:
            raise TestError("unexpected argument to conditional expression")
        self.index += 1
        return token

    async def _or(self) -> bool:
        result = await self._and()
        while self._is_op("||"):
            self._take()
            right = await self._and()
            result = result or right
        return result

    async def _and(self) -> bool:
        result = await self._not()
        while self._is_op("&&"):
            self._take()
            right = await self._not()
            result = result and right
        return result

    async def _not(self) -> bool:
        if self._is_op("!"):
            self._take()
            return not await self._not()
        if self._is_op("("):
            self._take()
            result = await self._or()
            if not self._is_op(")"):
                raise TestError("expected `)'")
            self._take()
            return result
        return await self._primary()

    async def _primary(self) -> bool:
        first = self._take()
        nxt = self._peek()
        if (
            not first.is_operator
            and first.text in UNARY_OPS
            and nxt is not None
            and not (nxt.is_operator and nxt.text in ("&&", "||", ")"))
        ):
            operand = await self.expander.single(self._take().text)
            return unary_test(first.text, operand, self.vfs, self.cwd, self.variables)
        left = await self.expander.single(first.text)
        op = self._peek()
        if op is None or op.is_operator:
            return left != ""
        if op.text not in BINARY_OPS and op.text != "=~":
            raise TestError(f"conditional binary operator expected near `{op.text}'")
        self._take()
        right_raw = self._take().text
        return await self._binary(op.text, left, right_raw)

    async def _binary(self, op: str, left: str, right_raw: str) -> bool:
        if op in ("==", "=", "!="):
            pattern = await self.expander.pattern(right_raw)
            matched = patterns.match(pattern, left)
            return matched if op != "!=" else not matched
        if op == "=~":
            regex = await self._regex(right_raw)
            try:
                found = re.search(regex, left)
            except re.error as exc:
                raise TestError(f"invalid regular expression: {exc}") from exc
            self.match_groups = (
                [found.group(0), *[g or "" for g in found.groups()]] if found else []
            )
            return found is not None
        right = await self.expander.single(right_raw)
        return binary_test(op, left, right, self.vfs, self.cwd)

    async def _regex(self, raw: str) -> str:
        pieces = await self.expander.pieces(raw, tilde=False)
        return "".join(re.escape(p.text) if p.quoted else p.text for p in pieces)
