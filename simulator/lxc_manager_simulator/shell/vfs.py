"""An in-memory POSIX-like filesystem: directories, regular files and symlinks.

Every simulated host and container owns one. Paths are resolved component by component
(symlinks followed, `..` taken physically), and failures raise `VfsError` with the errno
text coreutils would print ("No such file or directory", "Not a directory", ...).
"""

from __future__ import annotations

import errno
import itertools
import os
import posixpath
import stat as stat_mod
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

MAX_SYMLINK_DEPTH = 40


class VfsError(OSError):
    """An errno-carrying failure on a virtual path."""

    def __init__(self, code: int, path: str) -> None:
        super().__init__(code, os.strerror(code), path)
        self.code = code
        self.path = path

    @property
    def reason(self) -> str:
        return os.strerror(self.code)


@dataclass(eq=False)
class Inode:
    kind: str  # "file" | "dir" | "symlink"
    mode: int
    uid: int = 0
    gid: int = 0
    mtime: float = 0.0
    atime: float = 0.0
    data: bytearray = field(default_factory=bytearray)
    entries: dict[str, Inode] = field(default_factory=dict)
    target: str = ""
    ino: int = 0

    @property
    def is_dir(self) -> bool:
        return self.kind == "dir"

    @property
    def is_file(self) -> bool:
        return self.kind == "file"

    @property
    def is_symlink(self) -> bool:
        return self.kind == "symlink"

    @property
    def size(self) -> int:
        if self.is_file:
            return len(self.data)
        if self.is_symlink:
            return len(self.target)
        return 4096

    @property
    def st_mode(self) -> int:
        kind_bits = {"file": stat_mod.S_IFREG, "dir": stat_mod.S_IFDIR, "symlink": stat_mod.S_IFLNK}
        return kind_bits[self.kind] | (self.mode & 0o7777)


class Vfs:
    """A tree of inodes rooted at `/`."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._next_ino = 2
        self.root = self._new("dir", 0o755)
        self.read_only: tuple[str, ...] = ()  # read-only mounts: changes give EROFS

    def check_writable(self, path: str, cwd: str = "/") -> None:
        """EROFS for a path on a read-only mount (e.g. a container's /proc/sys and /sys)."""
        if not self.read_only:
            return
        full = self.abspath(path, cwd)
        if any(full == mount or full.startswith(mount + "/") for mount in self.read_only):
            raise VfsError(errno.EROFS, path)

    # -- inode helpers --------------------------------------------------------------------
    def _new(self, kind: str, mode: int, uid: int = 0, gid: int = 0) -> Inode:
        now = self.clock()
        self._next_ino += 1
        return Inode(
            kind=kind, mode=mode, uid=uid, gid=gid, mtime=now, atime=now, ino=self._next_ino
        )

    def touch_inode(self, inode: Inode) -> None:
        inode.mtime = self.clock()

    # -- path resolution ------------------------------------------------------------------
    @staticmethod
    def abspath(path: str, cwd: str = "/") -> str:
        joined = path if path.startswith("/") else posixpath.join(cwd, path)
        normal = posixpath.normpath(joined)
        return "/" + normal.lstrip("/") if normal != "/" else "/"

    def _walk(self, path: str, cwd: str, follow_last: bool, depth: int = 0) -> list[Inode]:
        """The chain of inodes from / to the path's target (raises on a missing component)."""
        if depth > MAX_SYMLINK_DEPTH:
            raise VfsError(errno.ELOOP, path)
        full = path if path.startswith("/") else posixpath.join(cwd, path)
        chain = [self.root]
        names = [p for p in full.split("/") if p and p != "."]
        for index, name in enumerate(names):
            current = chain[-1]
            if not current.is_dir:
                raise VfsError(errno.ENOTDIR, path)
            if name == "..":
                if len(chain) > 1:
                    chain.pop()
                continue
            child = current.entries.get(name)
            if child is None:
                raise VfsError(errno.ENOENT, path)
            last = index == len(names) - 1
            if child.is_symlink and (follow_last or not last):
                base = self.path_of_chain(chain)
                chain = self._walk(posixpath.join(base, child.target), "/", True, depth + 1)
                continue
            chain.append(child)
        if path.endswith("/") and not chain[-1].is_dir:
            raise VfsError(errno.ENOTDIR, path)
        return chain

    def path_of_chain(self, chain: list[Inode]) -> str:
        parts: list[str] = []
        for parent, child in itertools.pairwise(chain):
            name = next(n for n, node in parent.entries.items() if node is child)
            parts.append(name)
        return "/" + "/".join(parts)

    def lookup(self, path: str, cwd: str = "/", follow: bool = True) -> Inode:
        return self._walk(path, cwd, follow)[-1]

    def realpath(self, path: str, cwd: str = "/") -> str:
        return self.path_of_chain(self._walk(path, cwd, True))

    def try_lookup(self, path: str, cwd: str = "/", follow: bool = True) -> Inode | None:
        try:
            return self.lookup(path, cwd, follow)
        except VfsError:
            return None

    def parent_and_name(self, path: str, cwd: str = "/") -> tuple[Inode, str]:
        """The existing parent directory of a path and the last component's name."""
        full = self.abspath(path, cwd)
        if full == "/":
            raise VfsError(errno.EEXIST, path)
        parent_path, name = posixpath.split(full)
        parent = self.lookup(parent_path)
        if not parent.is_dir:
            raise VfsError(errno.ENOTDIR, path)
        return parent, name

    # -- queries --------------------------------------------------------------------------
    def exists(self, path: str, cwd: str = "/", follow: bool = True) -> bool:
        return self.try_lookup(path, cwd, follow) is not None

    def is_dir(self, path: str, cwd: str = "/") -> bool:
        inode = self.try_lookup(path, cwd)
        return inode is not None and inode.is_dir

    def is_file(self, path: str, cwd: str = "/") -> bool:
        inode = self.try_lookup(path, cwd)
        return inode is not None and inode.is_file

    def listdir(self, path: str, cwd: str = "/") -> list[str]:
        inode = self.lookup(path, cwd)
        if not inode.is_dir:
            raise VfsError(errno.ENOTDIR, path)
        return sorted(inode.entries)

    def read_bytes(self, path: str, cwd: str = "/") -> bytes:
        inode = self.lookup(path, cwd)
        if inode.is_dir:
            raise VfsError(errno.EISDIR, path)
        inode.atime = self.clock()
        return bytes(inode.data)

    def read_text(self, path: str, cwd: str = "/") -> str:
        return self.read_bytes(path, cwd).decode("utf-8", "surrogateescape")

    def walk(self, path: str, cwd: str = "/") -> Iterator[tuple[str, Inode]]:
        """Every path below (and including) `path`, parents first, symlinks not followed."""
        top = self.abspath(path, cwd)
        inode = self.lookup(top, follow=False)
        yield top, inode
        if inode.is_dir:
            for name in sorted(inode.entries):
                yield from self.walk(posixpath.join(top, name))

    # -- changes --------------------------------------------------------------------------
    def open_file(
        self,
        path: str,
        cwd: str = "/",
        *,
        create: bool = True,
        truncate: bool = False,
        mode: int = 0o644,
        exclusive: bool = False,
    ) -> Inode:
        """The regular file at `path`, created (with `mode`) when missing and `create` is set."""
        existing = self.try_lookup(path, cwd)
        if existing is not None:
            if exclusive:
                raise VfsError(errno.EEXIST, path)
            if existing.is_dir:
                raise VfsError(errno.EISDIR, path)
            if truncate:
                self.check_writable(path, cwd)
                existing.data.clear()
                self.touch_inode(existing)
            return existing
        if not create:
            raise VfsError(errno.ENOENT, path)
        self.check_writable(path, cwd)
        parent, name = self._creation_target(path, cwd)
        inode = self._new("file", mode)
        parent.entries[name] = inode
        self.touch_inode(parent)
        return inode

    def _creation_target(self, path: str, cwd: str) -> tuple[Inode, str]:
        """Where a new entry for `path` goes, following a dangling symlink's target."""
        dangling = self.try_lookup(path, cwd, follow=False)
        if dangling is not None and dangling.is_symlink:
            link_dir = posixpath.dirname(self.abspath(path, cwd))
            return self.parent_and_name(posixpath.join(link_dir, dangling.target))
        if path.endswith("/"):
            raise VfsError(errno.EISDIR, path)
        return self.parent_and_name(path, cwd)

    def write_bytes(
        self, path: str, data: bytes, cwd: str = "/", *, append: bool = False, mode: int = 0o644
    ) -> Inode:
        inode = self.open_file(path, cwd, truncate=not append, mode=mode)
        inode.data.extend(data)
        self.touch_inode(inode)
        return inode

    def write_text(
        self, path: str, text: str, cwd: str = "/", *, append: bool = False, mode: int = 0o644
    ) -> Inode:
        return self.write_bytes(
            path, text.encode("utf-8", "surrogateescape"), cwd, append=append, mode=mode
        )

    def mkdir(self, path: str, cwd: str = "/", *, parents: bool = False, mode: int = 0o755) -> None:
        full = self.abspath(path, cwd)
        if parents:
            self._mkdir_parents(full, mode)
            return
        parent, name = self.parent_and_name(full)
        if name in parent.entries:
            raise VfsError(errno.EEXIST, path)
        self.check_writable(full)
        parent.entries[name] = self._new("dir", mode)
        self.touch_inode(parent)

    def _mkdir_parents(self, full: str, mode: int) -> None:
        current = "/"
        for name in [p for p in full.split("/") if p]:
            current = posixpath.join(current, name)
            inode = self.try_lookup(current)
            if inode is None:
                self.mkdir(current, mode=mode)
            elif not inode.is_dir:
                raise VfsError(errno.ENOTDIR if current != full else errno.EEXIST, current)

    def symlink(self, target: str, path: str, cwd: str = "/") -> None:
        self.check_writable(path, cwd)
        parent, name = self.parent_and_name(path, cwd)
        if name in parent.entries:
            raise VfsError(errno.EEXIST, path)
        inode = self._new("symlink", 0o777)
        inode.target = target
        parent.entries[name] = inode
        self.touch_inode(parent)

    def readlink(self, path: str, cwd: str = "/") -> str:
        inode = self.lookup(path, cwd, follow=False)
        if not inode.is_symlink:
            raise VfsError(errno.EINVAL, path)
        return inode.target

    def unlink(self, path: str, cwd: str = "/") -> None:
        self.check_writable(path, cwd)
        parent, name = self.parent_and_name(path, cwd)
        inode = parent.entries.get(name)
        if inode is None:
            raise VfsError(errno.ENOENT, path)
        if inode.is_dir:
            raise VfsError(errno.EISDIR, path)
        del parent.entries[name]
        self.touch_inode(parent)

    def rmdir(self, path: str, cwd: str = "/") -> None:
        self.check_writable(path, cwd)
        parent, name = self.parent_and_name(path, cwd)
        inode = parent.entries.get(name)
        if inode is None:
            raise VfsError(errno.ENOENT, path)
        if not inode.is_dir:
            raise VfsError(errno.ENOTDIR, path)
        if inode.entries:
            raise VfsError(errno.ENOTEMPTY, path)
        del parent.entries[name]
        self.touch_inode(parent)

    def remove_tree(self, path: str, cwd: str = "/") -> None:
        self.check_writable(path, cwd)
        parent, name = self.parent_and_name(path, cwd)
        if name not in parent.entries:
            raise VfsError(errno.ENOENT, path)
        del parent.entries[name]
        self.touch_inode(parent)

    def rename(self, source: str, dest: str, cwd: str = "/") -> None:
        self.check_writable(source, cwd)
        self.check_writable(dest, cwd)
        src_parent, src_name = self.parent_and_name(source, cwd)
        inode = src_parent.entries.get(src_name)
        if inode is None:
            raise VfsError(errno.ENOENT, source)
        dst_parent, dst_name = self.parent_and_name(dest, cwd)
        existing = dst_parent.entries.get(dst_name)
        if existing is inode:
            return
        if inode.is_dir and self._contains(inode, dst_parent):
            raise VfsError(errno.EINVAL, dest)
        if existing is not None and existing.is_dir and not inode.is_dir:
            raise VfsError(errno.EISDIR, dest)
        if existing is not None and existing.is_dir and existing.entries:
            raise VfsError(errno.ENOTEMPTY, dest)
        del src_parent.entries[src_name]
        dst_parent.entries[dst_name] = inode
        self.touch_inode(src_parent)
        self.touch_inode(dst_parent)

    def _contains(self, ancestor: Inode, inode: Inode) -> bool:
        if ancestor is inode:
            return True
        return any(
            self._contains(child, inode) for child in ancestor.entries.values() if child.is_dir
        )

    def link_inode(self, inode: Inode, path: str, cwd: str = "/") -> None:
        """Place an existing inode (a copy made by the caller) at `path`, replacing a file."""
        self.check_writable(path, cwd)
        parent, name = self.parent_and_name(path, cwd)
        existing = parent.entries.get(name)
        if existing is not None and existing.is_dir:
            raise VfsError(errno.EISDIR, path)
        parent.entries[name] = inode
        self.touch_inode(parent)

    def copy_inode(self, inode: Inode, *, preserve: bool) -> Inode:
        """A deep copy of an inode (directories recursively); new times unless `preserve`."""
        clone = self._new(
            inode.kind, inode.mode, inode.uid if preserve else 0, inode.gid if preserve else 0
        )
        clone.data = bytearray(inode.data)
        clone.target = inode.target
        if preserve:
            clone.mtime, clone.atime = inode.mtime, inode.atime
        clone.entries = {
            name: self.copy_inode(child, preserve=preserve) for name, child in inode.entries.items()
        }
        return clone

    def chmod(self, path: str, mode: int, cwd: str = "/") -> None:
        self.check_writable(path, cwd)
        inode = self.lookup(path, cwd)
        inode.mode = mode & 0o7777

    def chown(
        self, path: str, uid: int | None, gid: int | None, cwd: str = "/", follow: bool = True
    ) -> None:
        self.check_writable(path, cwd)
        inode = self.lookup(path, cwd, follow)
        if uid is not None:
            inode.uid = uid
        if gid is not None:
            inode.gid = gid

    def utime(self, path: str, cwd: str = "/", when: float | None = None) -> None:
        self.check_writable(path, cwd)
        inode = self.lookup(path, cwd)
        inode.mtime = inode.atime = self.clock() if when is None else when
