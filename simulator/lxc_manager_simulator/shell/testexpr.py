"""The primaries shared by `test`/`[` and `[[ ]]`: file tests, string and integer comparisons."""

from __future__ import annotations

import re

from .vfs import Vfs

UNARY_FILE_OPS = {
    "-e",
    "-a",
    "-f",
    "-d",
    "-L",
    "-h",
    "-r",
    "-w",
    "-x",
    "-s",
    "-b",
    "-c",
    "-p",
    "-S",
    "-u",
    "-g",
    "-k",
    "-O",
    "-G",
    "-N",
}
UNARY_STRING_OPS = {"-n", "-z", "-v", "-t"}
UNARY_OPS = UNARY_FILE_OPS | UNARY_STRING_OPS
INTEGER_OPS = {"-eq", "-ne", "-lt", "-le", "-gt", "-ge"}
BINARY_OPS = {"=", "==", "!=", "<", ">", "-nt", "-ot", "-ef"} | INTEGER_OPS
INTEGER = re.compile(r"\s*[-+]?\d+\s*\Z")


class TestError(Exception):
    """A malformed test expression (exit status 2)."""


def file_test(op: str, path: str, vfs: Vfs, cwd: str) -> bool:
    if not path:
        return False
    if op in ("-L", "-h"):
        node = vfs.try_lookup(path, cwd, follow=False)
        return node is not None and node.is_symlink
    node = vfs.try_lookup(path, cwd)
    if node is None:
        return False
    checks = {
        "-e": True,
        "-a": True,
        "-f": node.is_file,
        "-d": node.is_dir,
        "-r": True,
        "-w": True,
        "-x": bool(node.mode & 0o111) or node.is_dir,
        "-s": node.size > 0,
        "-u": bool(node.mode & 0o4000),
        "-g": bool(node.mode & 0o2000),
        "-k": bool(node.mode & 0o1000),
        "-O": node.uid == 0,
        "-G": node.gid == 0,
        "-N": node.mtime > node.atime,
    }
    return checks.get(op, False)


def unary_test(
    op: str, operand: str, vfs: Vfs, cwd: str, variables: dict[str, str] | None = None
) -> bool:
    if op == "-n":
        return operand != ""
    if op == "-z":
        return operand == ""
    if op == "-v":
        return variables is not None and operand in variables
    if op == "-t":
        return False
    return file_test(op, operand, vfs, cwd)


def to_integer(text: str, context: str) -> int:
    if not INTEGER.match(text):
        raise TestError(f"{context}{text}: integer expression expected")
    return int(text)


def binary_test(op: str, left: str, right: str, vfs: Vfs, cwd: str, context: str = "") -> bool:
    if op in ("=", "=="):
        return left == right
    if op == "!=":
        return left != right
    if op == "<":
        return left < right
    if op == ">":
        return left > right
    if op in INTEGER_OPS:
        a, b = to_integer(left, context), to_integer(right, context)
        return {
            "-eq": a == b,
            "-ne": a != b,
            "-lt": a < b,
            "-le": a <= b,
            "-gt": a > b,
            "-ge": a >= b,
        }[op]
    first, second = vfs.try_lookup(left, cwd), vfs.try_lookup(right, cwd)
    if op == "-ef":
        return first is not None and first is second
    if op == "-nt":
        return first is not None and (second is None or first.mtime > second.mtime)
    if op == "-ot":
        return second is not None and (first is None or first.mtime < second.mtime)
    raise TestError(f"{context}{op}: binary operator expected")


class ArgvTest:
    """`test` / `[` over already-expanded arguments, with POSIX's argument-count rules."""

    def __init__(self, args: list[str], vfs: Vfs, cwd: str, context: str) -> None:
        self.args = args
        self.vfs = vfs
        self.cwd = cwd
        self.context = context
        self.index = 0

    def evaluate(self) -> bool:
        args = self.args
        if len(args) == 0:
            return False
        if len(args) == 1:
            return args[0] != ""
        if len(args) == 2 and args[0] == "!":
            return args[1] == ""
        if len(args) == 2:
            return self._unary(args[0], args[1])
        if len(args) == 3 and args[1] in BINARY_OPS:
            return binary_test(args[1], args[0], args[2], self.vfs, self.cwd, self.context)
        result = self._or()
        if self.index != len(args):
            raise TestError(f"{self.context}too many arguments")
        return result

    def _unary(self, op: str, operand: str) -> bool:
        if op not in UNARY_OPS:
            raise TestError(f"{self.context}{op}: unary operator expected")
        return unary_test(op, operand, self.vfs, self.cwd)

    def _peek(self, offset: int = 0) -> str | None:
        position = self.index + offset
        return self.args[position] if position < len(self.args) else None

    def _take(self) -> str:
        token = self._peek()
        if token is None:
            raise TestError(f"{self.context}argument expected")
        self.index += 1
        return token

    def _or(self) -> bool:
        result = self._and()
        while self._peek() == "-o":
            self._take()
            right = self._and()
            result = result or right
        return result

    def _and(self) -> bool:
        result = self._not()
        while self._peek() == "-a":
            self._take()
            right = self._not()
            result = result and right
        return result

    def _not(self) -> bool:
        if self._peek() == "!":
            self._take()
            return not self._not()
        if self._peek() == "(":
            self._take()
            result = self._or()
            if self._take() != ")":
                raise TestError(f"{self.context}`)' expected")
            return result
        return self._primary()

    def _primary(self) -> bool:
        token = self._take()
        if token in UNARY_OPS and self._peek() is not None:
            return self._unary(token, self._take())
        op = self._peek()
        if op in BINARY_OPS and self._peek(1) is not None:
            self._take()
            return binary_test(op, token, self._take(), self.vfs, self.cwd, self.context)
        return token != ""
