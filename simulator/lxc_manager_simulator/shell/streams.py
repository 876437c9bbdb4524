"""Byte streams between simulated commands: readers, writers and pipes.

Commands never see sockets or files: they read a `Reader` and write `Writer`s. The SSH
server adapts its channel to these, a pipeline connects commands with `Pipe`s, and a
redirection writes into a virtual file as the data is produced.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

from .vfs import Inode, Vfs

PIPE_CAPACITY = 64 * 1024


class Reader:
    """Buffered reading over `_next_chunk()`, which returns b"" at end of input."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._eof = False
        self.closed = False

    async def _next_chunk(self) -> bytes:
        return b""

    async def _fill(self) -> bool:
        if self._eof or self.closed:
            return False
        chunk = await self._next_chunk()
        if not chunk:
            self._eof = True
            return False
        self._buffer.extend(chunk)
        return True

    async def read(self, size: int = -1) -> bytes:
        """Up to `size` bytes (all remaining input for -1); b"" at the end."""
        if size < 0:
            while await self._fill():
                pass
            return self._take(len(self._buffer))
        if not self._buffer:
            await self._fill()
        return self._take(min(size, len(self._buffer)))

    async def read_chunk(self) -> bytes:
        """Whatever arrives next (b"" at the end): lets filters stream as data comes."""
        if not self._buffer:
            await self._fill()
        return self._take(len(self._buffer))

    async def readline(self) -> bytes:
        """One line including its newline; the last line may lack it; b"" at the end."""
        while b"\n" not in self._buffer:
            if not await self._fill():
                return self._take(len(self._buffer))
        return self._take(self._buffer.index(b"\n") + 1)

    async def read_text(self) -> str:
        return (await self.read()).decode("utf-8", "surrogateescape")

    def _take(self, count: int) -> bytes:
        data = bytes(self._buffer[:count])
        del self._buffer[:count]
        return data

    def close(self) -> None:
        self.closed = True


class BytesReader(Reader):
    """A fixed input: a here-document, a file's content, /dev/null."""

    def __init__(self, data: bytes = b"") -> None:
        super().__init__()
        self._pending: bytes | None = data

    async def _next_chunk(self) -> bytes:
        data, self._pending = self._pending or b"", None
        return data


class CallbackReader(Reader):
    """Input pulled from an async callable (the SSH channel's stdin)."""

    def __init__(self, pull: Callable[[], Awaitable[bytes]]) -> None:
        super().__init__()
        self._pull = pull

    async def _next_chunk(self) -> bytes:
        return await self._pull()


class Writer:
    """Where a command's output goes. Subclasses implement `_emit`."""

    def __init__(self) -> None:
        self.closed = False

    async def write(self, data: bytes | str) -> None:
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        if data:
            await self._emit(data)

    async def _emit(self, data: bytes) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        self.closed = True


class NullWriter(Writer):
    async def _emit(self, data: bytes) -> None:
        return None


class BufferWriter(Writer):
    """Collects output in memory (command substitution, tests)."""

    def __init__(self) -> None:
        super().__init__()
        self.buffer = bytearray()

    async def _emit(self, data: bytes) -> None:
        self.buffer.extend(data)

    def text(self) -> str:
        return self.buffer.decode("utf-8", "surrogateescape")


class CallbackWriter(Writer):
    """Output pushed to an async callable (the SSH channel)."""

    def __init__(self, push: Callable[[bytes], Awaitable[None]]) -> None:
        super().__init__()
        self._push = push

    async def _emit(self, data: bytes) -> None:
        await self._push(data)


class FileWriter(Writer):
    """Appends to a virtual file as data comes (`cmd > file` truncates when opening it)."""

    def __init__(self, vfs: Vfs, inode: Inode) -> None:
        super().__init__()
        self._vfs = vfs
        self._inode = inode

    async def _emit(self, data: bytes) -> None:
        self._inode.data.extend(data)
        self._vfs.touch_inode(self._inode)


class Pipe:
    """A one-way byte channel with back-pressure between two concurrent commands.

    Closing the read end makes later writes raise `BrokenPipeError`, which the writer's
    command turns into exit status 141 like SIGPIPE would.
    """

    def __init__(self, capacity: int = PIPE_CAPACITY) -> None:
        self._chunks: deque[bytes] = deque()
        self._size = 0
        self._capacity = capacity
        self._write_closed = False
        self._read_closed = False
        self._changed = asyncio.Event()
        self.reader = _PipeReader(self)
        self.writer = _PipeWriter(self)

    def _notify(self) -> None:
        self._changed.set()

    async def _wait(self) -> None:
        self._changed.clear()
        await self._changed.wait()

    async def put(self, data: bytes) -> None:
        while self._size >= self._capacity and not self._read_closed:
            await self._wait()
        if self._read_closed:
            raise BrokenPipeError("write on a pipe without readers")
        self._chunks.append(data)
        self._size += len(data)
        self._notify()
        await asyncio.sleep(0)  # let the reader run: output streams through a pipeline

    async def get(self) -> bytes:
        while not self._chunks and not self._write_closed:
            await self._wait()
        if not self._chunks:
            return b""
        data = self._chunks.popleft()
        self._size -= len(data)
        self._notify()
        return data

    def close_write(self) -> None:
        self._write_closed = True
        self._notify()

    def close_read(self) -> None:
        self._read_closed = True
        self._chunks.clear()
        self._size = 0
        self._notify()


class _PipeReader(Reader):
    def __init__(self, pipe: Pipe) -> None:
        super().__init__()
        self._pipe = pipe

    async def _next_chunk(self) -> bytes:
        return await self._pipe.get()

    def close(self) -> None:
        super().close()
        self._pipe.close_read()


class _PipeWriter(Writer):
    def __init__(self, pipe: Pipe) -> None:
        super().__init__()
        self._pipe = pipe

    async def _emit(self, data: bytes) -> None:
        await self._pipe.put(data)

    async def close(self) -> None:
        await super().close()
        self._pipe.close_write()
