"""A small awk: `pattern { action }` items, BEGIN/END, fields, print/printf, variables.

Supported: `$N`/`$NF`/`$0`, NR, NF, FS, OFS, `-F`, `-v`, string/number literals,
`/regex/` patterns, comparisons, `~`/`!~`, `&&`/`||`/`!`, arithmetic, concatenation,
assignments (`=`, `+=`, `-=`, `++`, `--`), `if`/`else`, `next`, and the functions
length, substr, index, tolower, toupper, sprintf. Not supported: arrays, user functions,
getline, output redirection.
"""

from __future__ import annotations

import re
from typing import Any

from .core import _Printf

TOKEN = re.compile(
    r"""[ \t]+|\\\n|(?P<newline>\n)|(?P<string>"(?:[^"\\]|\\.)*")|(?P<number>\d+(?:\.\d*)?|\.\d+)"""
    r"""|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"""
    r"""|(?P<op>\+\+|--|\+=|-=|\*=|/=|==|!=|<=|>=|&&|\|\||!~|[-+*/%<>=!~(){};,$?:])|(?P<slash>/)"""
)
NUMBER = re.compile(r"\s*[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?\s*\Z")
FUNCTIONS = {"length", "substr", "index", "tolower", "toupper", "sprintf"}
STATEMENT_END = {";", "}", "\n", None}
Value = str | float
Node = tuple[Any, ...]


class AwkError(Exception):
    pass


class _Next(Exception):
    pass


def _tokens(source: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(source):
        if source[position] == "/" and _regex_allowed(tokens):
            end = position + 1
            while end < len(source) and source[end] != "/":
                end += 2 if source[end] == "\\" else 1
            tokens.append(("regex", source[position + 1 : end]))
            position = end + 1
            continue
        match = TOKEN.match(source, position)
        if not match:
            raise AwkError(f"unexpected character '{source[position]}'")
        position = match.end()
        kind = match.lastgroup
        if kind is None:
            continue
        text = match.group(kind)
        tokens.append(("op", "/") if kind == "slash" else (kind, text))
    return tokens


def _regex_allowed(tokens: list[tuple[str, str]]) -> bool:
    if not tokens:
        return True
    kind, text = tokens[-1]
    return kind == "newline" or (kind == "op" and text not in (")", "$", "++", "--"))


def _unescape(text: str) -> str:
    return re.sub(
        r"\\(.)",
        lambda m: {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "/": "/"}.get(
            m.group(1), "\\" + m.group(1)
        ),
        text,
    )


class _Parser:
    def __init__(self, source: str) -> None:
        self.tokens = _tokens(source)
        self.index = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def peek_text(self) -> str | None:
        token = self.peek()
        return token[1] if token else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise AwkError("unexpected end of program")
        self.index += 1
        return token

    def expect(self, text: str) -> None:
        token = self.take()
        if token[1] != text:
            raise AwkError(f"expected '{text}' near '{token[1]}'")

    def skip_terminators(self) -> None:
        while self.peek() is not None and self.peek_text() in (";", "\n"):
            self.take()

    # -- program structure --------------------------------------------------------------------
    def program(self) -> list[tuple[str, Node | None, list[Node]]]:
        items = []
        self.skip_terminators()
        while self.peek() is not None:
            items.append(self.item())
            self.skip_terminators()
        return items

    def item(self) -> tuple[str, Node | None, list[Node]]:
        text = self.peek_text()
        if text in ("BEGIN", "END"):
            self.take()
            return text, None, self.block()
        pattern = None if text == "{" else self.expression()
        body = self.block() if self.peek_text() == "{" else [("print", [])]
        return "main", pattern, body

    def block(self) -> list[Node]:
        self.expect("{")
        statements: list[Node] = []
        self.skip_terminators()
        while self.peek_text() != "}":
            statements.append(self.statement())
            self.skip_terminators()
        self.expect("}")
        return statements

    def statement(self) -> Node:
        text = self.peek_text()
        if text == "{":
            return ("block", self.block())
        if text in ("print", "printf"):
            self.take()
            args = [] if self.peek_text() in STATEMENT_END else self.expression_list()
            return (text, args)
        if text == "next":
            self.take()
            return ("next",)
        if text == "if":
            return self.if_statement()
        return ("expr", self.expression())

    def if_statement(self) -> Node:
        self.take()
        self.expect("(")
        condition = self.expression()
        self.expect(")")
        self.skip_terminators()
        then = self.statement()
        saved = self.index
        self.skip_terminators()
        if self.peek_text() == "else":
            self.take()
            self.skip_terminators()
            return ("if", condition, then, self.statement())
        self.index = saved
        return ("if", condition, then, None)

    def expression_list(self) -> list[Node]:
        items = [self.expression()]
        while self.peek_text() == ",":
            self.take()
            items.append(self.expression())
        return items

    # -- expressions ------------------------------------------------------------------------------
    def expression(self) -> Node:
        left = self.ternary()
        if self.peek_text() in ("=", "+=", "-=", "*=", "/=") and left[0] in ("var", "field"):
            op = self.take()[1]
            return ("assign", op, left, self.expression())
        return left

    def ternary(self) -> Node:
        condition = self.logical_or()
        if self.peek_text() != "?":
            return condition
        self.take()
        yes = self.ternary()
        self.expect(":")
        return ("ternary", condition, yes, self.ternary())

    def logical_or(self) -> Node:
        node = self.logical_and()
        while self.peek_text() == "||":
            self.take()
            node = ("or", node, self.logical_and())
        return node

    def logical_and(self) -> Node:
        node = self.match()
        while self.peek_text() == "&&":
            self.take()
            node = ("and", node, self.match())
        return node

    def match(self) -> Node:
        node = self.comparison()
        while self.peek_text() in ("~", "!~"):
            op = self.take()[1]
            node = ("match", op, node, self.comparison())
        return node

    def comparison(self) -> Node:
        node = self.concatenation()
        if self.peek_text() in ("==", "!=", "<", "<=", ">", ">="):
            op = self.take()[1]
            node = ("compare", op, node, self.concatenation())
        return node

    def concatenation(self) -> Node:
        node = self.additive()
        while self._starts_operand():
            node = ("concat", node, self.additive())
        return node

    def _starts_operand(self) -> bool:
        token = self.peek()
        if token is None:
            return False
        kind, text = token
        if kind in ("string", "number", "regex"):
            return True
        if kind == "name":
            return text not in ("in", "else")
        return text in ("$", "(")

    def additive(self) -> Node:
        node = self.multiplicative()
        while self.peek_text() in ("+", "-"):
            op = self.take()[1]
            node = ("arith", op, node, self.multiplicative())
        return node

    def multiplicative(self) -> Node:
        node = self.unary()
        while self.peek_text() in ("*", "/", "%"):
            op = self.take()[1]
            node = ("arith", op, node, self.unary())
        return node

    def unary(self) -> Node:
        text = self.peek_text()
        if text in ("!", "-", "+"):
            self.take()
            return ("unary", text, self.unary())
        if text in ("++", "--"):
            self.take()
            return ("incr", text, self.primary(), True)
        node = self.primary()
        if self.peek_text() in ("++", "--") and node[0] in ("var", "field"):
            return ("incr", self.take()[1], node, False)
        return node

    def primary(self) -> Node:
        kind, text = self.take()
        if kind == "number":
            return ("num", float(text))
        if kind == "string":
            return ("str", _unescape(text[1:-1]))
        if kind == "regex":
            return ("regex", text)
        if text == "$":
            return ("field", self.primary())
        if text == "(":
            node = self.expression()
            self.expect(")")
            return node
        if kind == "name" and text in FUNCTIONS:
            return self.call(text)
        if kind == "name":
            return ("var", text)
        raise AwkError(f"unexpected '{text}'")

    def call(self, name: str) -> Node:
        if self.peek_text() != "(":
            return ("call", name, [])
        self.take()
        args = [] if self.peek_text() == ")" else self.expression_list()
        self.expect(")")
        return ("call", name, args)


def _is_number(value: Value) -> bool:
    return isinstance(value, float) or bool(NUMBER.match(value))


def to_number(value: Value) -> float:
    if isinstance(value, float):
        return value
    match = re.match(r"\s*[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?", value)
    return float(match.group()) if match else 0.0


def to_string(value: Value) -> str:
    if isinstance(value, float):
        return str(int(value)) if value == int(value) and abs(value) < 1e16 else f"{value:.6g}"
    return value


class AwkProgram:
    def __init__(self, source: str, separator: str | None, assignments: dict[str, str]) -> None:
        self.items = _Parser(source).program()
        self.variables: dict[str, Value] = {
            "FS": separator or " ",
            "OFS": " ",
            "NR": 0.0,
            "NF": 0.0,
        }
        self.variables.update(assignments)
        self.fields: list[str] = [""]
        self.out: list[str] = []

    def run(self, text: str) -> str:
        self._run_items("BEGIN")
        for line in text.splitlines():
            self.variables["NR"] = to_number(self.variables["NR"]) + 1
            self._set_record(line)
            try:
                for kind, pattern, body in self.items:
                    if kind == "main" and (pattern is None or self._truthy(self.eval(pattern))):
                        self._statements(body)
            except _Next:
                continue
        self._run_items("END")
        return "".join(self.out)

    def _run_items(self, which: str) -> None:
        for kind, _, body in self.items:
            if kind == which:
                self._statements(body)

    def _set_record(self, line: str) -> None:
        separator = to_string(self.variables["FS"])
        if separator == " ":
            parts = line.split()
        elif len(separator) == 1:
            parts = line.split(separator)
        else:
            parts = re.split(separator, line)
        self.fields = [line, *parts]
        self.variables["NF"] = float(len(parts))

    def _statements(self, statements: list[Node]) -> None:
        for statement in statements:
            self._statement(statement)

    def _statement(self, node: Node) -> None:
        kind = node[0]
        if kind == "print":
            values = [to_string(self.eval(a)) for a in node[1]] or [self.fields[0]]
            self.out.append(to_string(self.variables["OFS"]).join(values) + "\n")
        elif kind == "printf":
            values = [to_string(self.eval(a)) for a in node[1]]
            self.out.append(_Printf(values[0], values[1:]).render() if values else "")
        elif kind == "next":
            raise _Next()
        elif kind == "block":
            self._statements(node[1])
        elif kind == "if":
            if self._truthy(self.eval(node[1])):
                self._statement(node[2])
            elif node[3] is not None:
                self._statement(node[3])
        else:
            self.eval(node[1])

    @staticmethod
    def _truthy(value: Value) -> bool:
        if isinstance(value, float):
            return value != 0
        return value != "" and (not NUMBER.match(value) or to_number(value) != 0)

    def _field(self, index: int) -> str:
        if index < 0:
            raise AwkError(f"attempt to access field {index}")
        return self.fields[index] if index < len(self.fields) else ""

    def _assign(self, target: Node, value: Value) -> None:
        if target[0] == "var":
            self.variables[target[1]] = value
            return
        index = int(to_number(self.eval(target[1])))
        while len(self.fields) <= index:
            self.fields.append("")
        self.fields[index] = to_string(value)
        if index > 0:
            self.fields[0] = to_string(self.variables["OFS"]).join(self.fields[1:])
            self.variables["NF"] = float(len(self.fields) - 1)

    def eval(self, node: Node) -> Value:
        handler = getattr(self, f"_eval_{node[0]}")
        result: Value = handler(*node[1:])
        return result

    def _eval_num(self, value: float) -> Value:
        return value

    def _eval_str(self, value: str) -> Value:
        return value

    def _eval_regex(self, pattern: str) -> Value:
        return 1.0 if re.search(pattern, self.fields[0]) else 0.0

    def _eval_field(self, index_node: Node) -> Value:
        return self._field(int(to_number(self.eval(index_node))))

    def _eval_var(self, name: str) -> Value:
        return self.variables.get(name, "")

    def _eval_assign(self, op: str, target: Node, value_node: Node) -> Value:
        value = self.eval(value_node)
        if op != "=":
            value = _arith(op[0], to_number(self.eval(target)), to_number(value))
        self._assign(target, value)
        return value

    def _eval_incr(self, op: str, target: Node, prefix: bool) -> Value:
        old = to_number(self.eval(target))
        new = old + (1 if op == "++" else -1)
        self._assign(target, new)
        return new if prefix else old

    def _eval_ternary(self, condition: Node, yes: Node, no: Node) -> Value:
        return self.eval(yes) if self._truthy(self.eval(condition)) else self.eval(no)

    def _eval_or(self, left: Node, right: Node) -> Value:
        return 1.0 if self._truthy(self.eval(left)) or self._truthy(self.eval(right)) else 0.0

    def _eval_and(self, left: Node, right: Node) -> Value:
        return 1.0 if self._truthy(self.eval(left)) and self._truthy(self.eval(right)) else 0.0

    def _eval_match(self, op: str, left: Node, right: Node) -> Value:
        pattern = right[1] if right[0] == "regex" else to_string(self.eval(right))
        found = re.search(pattern, to_string(self.eval(left))) is not None
        return 1.0 if found == (op == "~") else 0.0

    def _eval_compare(self, op: str, left_node: Node, right_node: Node) -> Value:
        left, right = self.eval(left_node), self.eval(right_node)
        pair: tuple[Any, Any] = (
            (to_number(left), to_number(right))
            if _is_number(left) and _is_number(right)
            else (to_string(left), to_string(right))
        )
        a, b = pair
        result = {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[
            op
        ]
        return 1.0 if result else 0.0

    def _eval_concat(self, left: Node, right: Node) -> Value:
        return to_string(self.eval(left)) + to_string(self.eval(right))

    def _eval_arith(self, op: str, left: Node, right: Node) -> Value:
        return _arith(op, to_number(self.eval(left)), to_number(self.eval(right)))

    def _eval_unary(self, op: str, operand: Node) -> Value:
        value = self.eval(operand)
        if op == "!":
            return 0.0 if self._truthy(value) else 1.0
        return -to_number(value) if op == "-" else to_number(value)

    def _eval_call(self, name: str, arg_nodes: list[Node]) -> Value:
        args = [self.eval(a) for a in arg_nodes]
        text = to_string(args[0]) if args else self.fields[0]
        if name == "length":
            return float(len(text))
        if name == "tolower":
            return text.lower()
        if name == "toupper":
            return text.upper()
        if name == "index":
            return float(text.find(to_string(args[1])) + 1) if len(args) > 1 else 0.0
        if name == "sprintf":
            return _Printf(text, [to_string(a) for a in args[1:]]).render()
        start = int(to_number(args[1])) if len(args) > 1 else 1
        length = int(to_number(args[2])) if len(args) > 2 else len(text)
        begin = max(start, 1)
        end = start + length
        return text[begin - 1 : max(begin - 1, end - 1)]


def _arith(op: str, left: float, right: float) -> float:
    if op in ("/", "%") and right == 0:
        raise AwkError("division by zero")
    if op == "%":
        return left - right * int(left / right)
    return {
        "+": left + right,
        "-": left - right,
        "*": left * right,
        "/": left / right if right else 0.0,
    }[op]
