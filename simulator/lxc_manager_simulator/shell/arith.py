"""Shell arithmetic (`$(( ))`, `(( ))`, `for (( ))`): integers, C operators, assignments."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

TOKEN = re.compile(
    r"\s*(?:(?P<num>0[xX][0-9a-fA-F]+|\d+)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|"
    r"(?P<op>\*\*=|<<=|>>=|\+\+|--|\*\*|<<|>>|<=|>=|==|!=|&&|\|\||[-+*/%&|^]=|[-+*/%<>=!~&|^?:(),]))"
)
BINARY_PRECEDENCE = {
    "||": 3,
    "&&": 4,
    "|": 5,
    "^": 6,
    "&": 7,
    "==": 8,
    "!=": 8,
    "<": 9,
    "<=": 9,
    ">": 9,
    ">=": 9,
    "<<": 10,
    ">>": 10,
    "+": 11,
    "-": 11,
    "*": 12,
    "/": 12,
    "%": 12,
    "**": 13,
}
ASSIGNMENT_OPS = {"=", "+=", "-=", "*=", "/=", "%=", "<<=", ">>=", "&=", "|=", "^=", "**="}
MAX_DEPTH = 32

Node = tuple[object, ...]


class ArithmeticError_(Exception):
    """An invalid expression or a runtime error (division by zero)."""


@dataclass
class Variables:
    get: Callable[[str], str]
    set: Callable[[str, str], None]


def evaluate(expression: str, variables: Variables, depth: int = 0) -> int:
    """The value of `expression`; raises `ArithmeticError_` with bash's wording."""
    if depth > MAX_DEPTH:
        raise ArithmeticError_("expression recursion level exceeded")
    if not expression.strip():
        return 0
    parser = _Parser(expression)
    node = parser.parse()
    return _Evaluator(variables, depth).eval(node)


def _tokenize(expression: str) -> list[str]:
    tokens: list[str] = []
    position = 0
    stripped_end = len(expression.rstrip())
    while position < stripped_end:
        match = TOKEN.match(expression, position)
        if not match or match.end() == position:
            rest = expression[position:].strip()
            raise ArithmeticError_(
                f'syntax error: invalid arithmetic operator (error token is "{rest}")'
            )
        tokens.append(match.group().strip())
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, expression: str) -> None:
        self.expression = expression
        self.tokens = _tokenize(expression)
        self.index = 0

    def peek(self) -> str | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise ArithmeticError_("syntax error: operand expected")
        self.index += 1
        return token

    def expect(self, token: str) -> None:
        if self.take() != token:
            raise ArithmeticError_(f"syntax error: `{token}' expected")

    def parse(self) -> Node:
        node = self.comma()
        if self.peek() is not None:
            raise ArithmeticError_(f'syntax error in expression (error token is "{self.peek()}")')
        return node

    def comma(self) -> Node:
        node = self.assignment()
        while self.peek() == ",":
            self.take()
            node = ("comma", node, self.assignment())
        return node

    def assignment(self) -> Node:
        start = self.index
        token = self.peek()
        if token is not None and (token[0].isalpha() or token[0] == "_"):
            self.take()
            if self.peek() in ASSIGNMENT_OPS:
                op = self.take()
                return ("assign", op, token, self.assignment())
            self.index = start
        return self.ternary()

    def ternary(self) -> Node:
        condition = self.binary(3)
        if self.peek() != "?":
            return condition
        self.take()
        when_true = self.assignment()
        self.expect(":")
        return ("ternary", condition, when_true, self.assignment())

    def binary(self, min_precedence: int) -> Node:
        left = self.unary()
        while True:
            op = self.peek()
            precedence = BINARY_PRECEDENCE.get(op or "")
            if op is None or precedence is None or precedence < min_precedence:
                return left
            self.take()
            right = self.binary(precedence if op == "**" else precedence + 1)
            left = ("binary", op, left, right)

    def unary(self) -> Node:
        token = self.peek()
        if token in ("!", "~", "-", "+"):
            self.take()
            return ("unary", token, self.unary())
        if token in ("++", "--"):
            self.take()
            name = self.take()
            return ("preinc", token, name)
        return self.postfix()

    def postfix(self) -> Node:
        node = self.primary()
        if node[0] == "var" and self.peek() in ("++", "--"):
            return ("postinc", self.take(), node[1])
        return node

    def primary(self) -> Node:
        token = self.take()
        if token == "(":
            node = self.comma()
            self.expect(")")
            return node
        if token[0].isdigit():
            return ("num", _parse_number(token))
        if token[0].isalpha() or token[0] == "_":
            return ("var", token)
        raise ArithmeticError_(f'syntax error: operand expected (error token is "{token}")')


def _parse_number(token: str) -> int:
    if token.lower().startswith("0x"):
        return int(token, 16)
    if len(token) > 1 and token.startswith("0"):
        try:
            return int(token, 8)
        except ValueError:
            raise ArithmeticError_(
                f'{token}: value too great for base (error token is "{token}")'
            ) from None
    return int(token)


class _Evaluator:
    def __init__(self, variables: Variables, depth: int) -> None:
        self.variables = variables
        self.depth = depth

    def value_of(self, name: str) -> int:
        text = self.variables.get(name).strip()
        if not text:
            return 0
        if re.fullmatch(r"-?\d+", text):
            return int(text)
        return evaluate(text, self.variables, self.depth + 1)

    def eval(self, node: Node) -> int:
        kind = node[0]
        handler = getattr(self, f"_eval_{kind}")
        result: int = handler(*node[1:])
        return result

    def _eval_num(self, value: int) -> int:
        return value

    def _eval_var(self, name: str) -> int:
        return self.value_of(name)

    def _eval_comma(self, left: Node, right: Node) -> int:
        self.eval(left)
        return self.eval(right)

    def _eval_assign(self, op: str, name: str, value_node: Node) -> int:
        value = self.eval(value_node)
        if op != "=":
            value = _apply(op[:-1], self.value_of(name), value)
        self.variables.set(name, str(value))
        return value

    def _eval_ternary(self, condition: Node, when_true: Node, when_false: Node) -> int:
        return self.eval(when_true) if self.eval(condition) else self.eval(when_false)

    def _eval_binary(self, op: str, left: Node, right: Node) -> int:
        if op == "&&":
            return int(bool(self.eval(left)) and bool(self.eval(right)))
        if op == "||":
            return int(bool(self.eval(left)) or bool(self.eval(right)))
        return _apply(op, self.eval(left), self.eval(right))

    def _eval_unary(self, op: str, operand: Node) -> int:
        value = self.eval(operand)
        return {"!": int(not value), "~": ~value, "-": -value, "+": value}[op]

    def _eval_preinc(self, op: str, name: str) -> int:
        value = self.value_of(name) + (1 if op == "++" else -1)
        self.variables.set(name, str(value))
        return value

    def _eval_postinc(self, op: str, name: str) -> int:
        value = self.value_of(name)
        self.variables.set(name, str(value + (1 if op == "++" else -1)))
        return value


def _apply(op: str, left: int, right: int) -> int:
    if op in ("/", "%") and right == 0:
        raise ArithmeticError_('division by 0 (error token is "0")')
    if op == "/":
        quotient = abs(left) // abs(right)
        return quotient if (left >= 0) == (right >= 0) else -quotient
    if op == "%":
        return left - right * _apply("/", left, right)
    if op == "**":
        if right < 0:
            raise ArithmeticError_("exponent less than 0")
        return int(left**right)
    operations: dict[str, Callable[[int, int], int]] = {
        "+": lambda a, b: a + b,
        "-": lambda a, b: a - b,
        "*": lambda a, b: a * b,
        "<<": lambda a, b: a << b,
        ">>": lambda a, b: a >> b,
        "&": lambda a, b: a & b,
        "|": lambda a, b: a | b,
        "^": lambda a, b: a ^ b,
        "<": lambda a, b: int(a < b),
        "<=": lambda a, b: int(a <= b),
        ">": lambda a, b: int(a > b),
        ">=": lambda a, b: int(a >= b),
        "==": lambda a, b: int(a == b),
        "!=": lambda a, b: int(a != b),
    }
    return operations[op](left, right)
