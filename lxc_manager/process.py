"""Child processes that never outlive their parent.

Every child is started from the main thread with PR_SET_PDEATHSIG (the kernel signals it
when the parent dies, even by SIGKILL) and in a process group of its own, so the terminal's
Ctrl-C reaches only the supervisor, which then stops children in order, and a final
`killpg` also catches grandchildren (RQ work-horses, web server workers).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
_libc: ctypes.CDLL | None = None


def set_parent_death_signal(sig: int = signal.SIGKILL) -> None:
    """Ask the kernel to send `sig` to this process when its parent dies (Linux only)."""
    global _libc
    if not sys.platform.startswith("linux"):
        return
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    if _libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")


def _child_preexec(parent_pid: int, death_signal: int) -> Callable[[], None]:
    def preexec() -> None:
        set_parent_death_signal(death_signal)
        if os.getppid() != parent_pid:  # the parent died between fork and prctl
            os._exit(1)

    return preexec


@dataclass
class Child:
    """One supervised child process."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str] | None = None
    cwd: Path | None = None
    death_signal: int = signal.SIGKILL
    stdout: int | IO[bytes] | None = None
    popen: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def start(self) -> None:
        self.popen = subprocess.Popen(
            list(self.argv),
            env=dict(self.env) if self.env is not None else None,
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            stdout=self.stdout,
            stderr=subprocess.STDOUT if self.stdout is not None else None,
            preexec_fn=_child_preexec(os.getpid(), self.death_signal),
            process_group=0,
        )
        log.debug("started %s pid=%s", self.name, self.popen.pid)

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive() and self.popen is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.popen.pid, sig)

    def kill_group(self) -> None:
        """SIGKILL the child's whole process group (it leads its own)."""
        if self.popen is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        try:
            self.popen.wait(timeout=2)
        except subprocess.TimeoutExpired:
            log.warning("%s (pid %s) did not die after SIGKILL", self.name, self.popen.pid)

    def wait(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds; True when it has exited."""
        if self.popen is None:
            return True
        try:
            self.popen.wait(timeout=max(timeout, 0))
            return True
        except subprocess.TimeoutExpired:
            return False


def stop_children(
    children: Sequence[Child], timeout: float, second_signal_after: float = 1.5
) -> None:
    """SIGTERM all, SIGTERM again after a moment (RQ's first one waits for the job), then SIGKILL.

    Always ends with a process-group SIGKILL so no grandchild survives.
    """
    deadline = time.monotonic() + timeout
    for child in children:
        child.signal(signal.SIGTERM)
    resent = False
    while any(child.alive() for child in children) and time.monotonic() < deadline:
        if not resent and time.monotonic() > deadline - timeout + second_signal_after:
            for child in children:
                child.signal(signal.SIGTERM)
            resent = True
        time.sleep(0.05)
    for child in children:
        if child.alive():
            log.warning("%s did not stop within %.0f s: killing it", child.name, timeout)
        child.kill_group()
