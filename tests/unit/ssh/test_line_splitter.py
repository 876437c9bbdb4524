"""`LineSplitter`: streamed output split into lines of bounded length."""

from __future__ import annotations

from lxc_manager.ssh.results import LineSplitter

MARK = " … [line cut at 8 bytes]"


def split(*chunks: bytes, max_line: int = 8) -> list[str]:
    splitter = LineSplitter(max_line)
    lines = [text for chunk in chunks for text in splitter.feed(chunk)]
    return lines + splitter.flush()


def test_lines_across_chunks_and_line_ends() -> None:
    assert split(b"ab", b"c\nde\r\n", b"f") == ["abc", "de", "f"]
    assert split(b"\n\n") == ["", ""]
    assert split(b"") == []


def test_a_line_of_exactly_the_limit_is_whole() -> None:
    assert split(b"12345678\n") == ["12345678"]
    assert split(b"12345678") == ["12345678"]


def test_a_longer_line_is_cut_once_and_the_rest_dropped() -> None:
    assert split(b"123456789\nnext\n") == ["12345678" + MARK, "next"]
    # the same line arriving in many pieces: cut once, its tail dropped until the break
    assert split(b"12345", b"6789abc", b"defgh", b"ij\nok") == ["12345678" + MARK, "ok"]
    # an endless line: one cut line, nothing buffered afterwards
    splitter = LineSplitter(8)
    out = [t for _ in range(1000) for t in splitter.feed(b"x" * 1000)]
    assert out == ["x" * 8 + MARK] and splitter.flush() == []


def test_invalid_utf8_is_replaced() -> None:
    assert split(b"caf\xc3\n\xff\n") == ["caf\ufffd", "\ufffd"]
