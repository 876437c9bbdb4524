"""The parser's rewrites on top of bashlex, word expansion details, the VFS and pipes."""

from __future__ import annotations

import asyncio
import errno

import pytest

from lxc_manager_simulator.shell.arith import ArithmeticError_, Variables, evaluate
from lxc_manager_simulator.shell.parser import ShellSyntaxError, parse
from lxc_manager_simulator.shell.streams import Pipe
from lxc_manager_simulator.shell.vfs import Vfs, VfsError


def test_rewrites_keep_positions_of_the_original_text() -> None:
    source = "[[ -n $x ]] && echo $(( 1 + 2 )); (( i++ ))\nfor ((i=0;i<2;i++)); do :; done\n"
    script = parse(source)
    words = [part for node in script.nodes for part in _words(node)]
    texts = [script.text(w) for w in words]
    assert "[[ -n $x ]]" in texts
    assert "$(( 1 + 2 ))" in texts
    assert "(( i++ ))" in texts
    assert "((i=0;i<2;i++))" in texts


def _words(node: object) -> list[object]:
    found: list[object] = []
    kind = getattr(node, "kind", "")
    if kind == "word":
        found.append(node)
    for child in list(getattr(node, "parts", []) or []) + list(getattr(node, "list", []) or []):
        found += _words(child)
    return found


def test_quoted_heredoc_delimiters_are_recorded() -> None:
    source = "cat <<'EOF'\n$x\nEOF\ncat <<EOF\n$x\nEOF\ncat << \"END\"\nbody\nEND\n"
    script = parse(source)
    positions = sorted(script.quoted_heredocs)
    assert [source[p : p + 2] for p in positions] == ["<<", "<<"]
    assert source.index("<<'EOF'") in positions
    assert source.index('<< "END"') in positions


def test_heredoc_bodies_are_not_scanned_for_constructs() -> None:
    script = parse("cat <<'EOF'\n[[ not a command ]] $(( 1 +\nEOF\necho ok\n")
    assert len(script.nodes) == 2


def test_comment_only_and_empty_scripts_parse_to_nothing() -> None:
    assert parse("").nodes == []
    assert parse("# comment\n\n   # another\n").nodes == []


def test_syntax_errors_carry_a_line_number() -> None:
    with pytest.raises(ShellSyntaxError) as caught:
        parse("echo a\necho b\nif true; then\n")
    assert caught.value.line >= 3
    with pytest.raises(ShellSyntaxError):
        parse('echo "unterminated')


def test_arithmetic_evaluation() -> None:
    store = {"a": "6", "b": "a"}
    variables = Variables(get=lambda n: store.get(n, ""), set=store.__setitem__)
    assert evaluate("a * 7 + (1 << 3)", variables) == 50
    assert evaluate("b + 1", variables) == 7
    assert evaluate("c += 2, c * 10", variables) == 20
    assert evaluate("0x10 + 010", variables) == 24
    assert evaluate("a > 5 && a < 7 ? 1 : 0", variables) == 1
    assert evaluate("-7 % 3", variables) == -1
    with pytest.raises(ArithmeticError_):
        evaluate("1 / 0", variables)
    with pytest.raises(ArithmeticError_):
        evaluate("1 +", variables)


def test_vfs_paths_symlinks_and_errors() -> None:
    vfs = Vfs()
    vfs.mkdir("/usr/bin", parents=True)
    vfs.symlink("usr/bin", "/bin")
    vfs.write_text("/bin/tool", "x")
    assert vfs.read_text("/usr/bin/tool") == "x"
    assert vfs.realpath("/bin/tool") == "/usr/bin/tool"
    assert vfs.realpath("/bin/../bin") == "/usr/bin"
    assert vfs.readlink("/bin") == "usr/bin"
    with pytest.raises(VfsError) as missing:
        vfs.read_text("/nope")
    assert missing.value.code == errno.ENOENT
    with pytest.raises(VfsError) as not_dir:
        vfs.write_text("/usr/bin/tool/sub", "y")
    assert not_dir.value.code == errno.ENOTDIR
    vfs.mkdir("/d")
    vfs.write_text("/d/f", "z")
    with pytest.raises(VfsError) as not_empty:
        vfs.rmdir("/d")
    assert not_empty.value.code == errno.ENOTEMPTY
    vfs.rename("/d", "/e")
    assert vfs.listdir("/e") == ["f"]
    with pytest.raises(VfsError):
        vfs.rename("/e", "/e/f/inside")


def test_vfs_writes_through_a_dangling_symlink() -> None:
    vfs = Vfs()
    vfs.mkdir("/etc")
    vfs.symlink("/etc/real.conf", "/etc/link.conf")
    vfs.write_text("/etc/link.conf", "content")
    assert vfs.read_text("/etc/real.conf") == "content"


async def test_pipe_backpressure_and_broken_pipe() -> None:
    pipe = Pipe(capacity=4)
    await pipe.writer.write(b"abcd")
    blocked = asyncio.ensure_future(pipe.writer.write(b"efgh"))
    await asyncio.sleep(0.01)
    assert not blocked.done()
    assert await pipe.reader.read(4) == b"abcd"
    await asyncio.wait_for(blocked, 1)
    pipe.reader.close()
    with pytest.raises(BrokenPipeError):
        await pipe.writer.write(b"more")


async def test_pipe_end_of_input() -> None:
    pipe = Pipe()
    await pipe.writer.write(b"line1\nline2")
    await pipe.writer.close()
    assert await pipe.reader.readline() == b"line1\n"
    assert await pipe.reader.readline() == b"line2"
    assert await pipe.reader.readline() == b""
