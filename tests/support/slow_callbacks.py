"""A pytest plugin: a callback that blocks the event loop fails the test that ran it.

Each callback a pytest-asyncio loop runs (one step of a task) is timed. A step that held
the loop for `LXCM_SLOW_CALLBACK_MS` (default 100 ms) or longer fails the test phase
(setup, call, teardown) it ran in.

The time counted is the wall-clock time of the step minus the time the thread waited for
a CPU (the run-queue delay Linux reports in /proc/.../schedstat), minus the CPU time
other threads of the process used meanwhile (while one runs Python, the loop's thread
waits for the GIL) and minus garbage-collector pauses (they land on whatever step
allocates next). Sleeping, disk and network waits and the step's own CPU work count;
other processes crowding the machine's cores do not, so the threshold means the same on
a busy 2-core CI box as on a quiet one. Without schedstat it is wall-clock time less the
other threads' CPU. With LXCM_ASYNCIO_DEBUG=1 the loops also run in asyncio's debug
mode, whose own (wall-clock) slow-callback warning then logs with the same threshold.

Who is to blame: while a step runs past the threshold, a watchdog thread samples the
loop thread's stack and notes the innermost frame of this repository. When that frame
is the app's (lxc_manager/) or unknown, the test fails; when it is test code under
tests/ (a test starting a simulator with a blocking call, say), the test gets a warning
instead: the guard is about the product's event loop; test helpers may block their own.

A second check does not depend on timing: a database connection taken on a thread that
runs an event loop, from a page's event handler (lxc_manager/pages/, lxc_manager/state/),
fails the test too. Handlers await the services' async functions, which do database
work in a thread.
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import threading
import time
import warnings
import weakref
from collections.abc import Callable, Generator
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.pool import Pool

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
APP_DIR = os.path.join(REPO, "lxc_manager") + os.sep
TESTS_DIR = os.path.join(REPO, "tests") + os.sep
HERE = os.path.abspath(__file__)
HANDLER_DIRS = (
    os.sep + os.path.join("lxc_manager", "pages") + os.sep,
    os.sep + os.path.join("lxc_manager", "state") + os.sep,
)

DEFAULT_THRESHOLD_MS = 100.0
ENV_THRESHOLD = "LXCM_SLOW_CALLBACK_MS"
# asyncio's debug mode records a stack trace at every callback it schedules: 500
# concurrent sign-ins (tests/integration/signin) then run into their timeouts. The guard
# times the callbacks itself, so debug mode is opt-in: LXCM_ASYNCIO_DEBUG=1.
DEBUG = os.environ.get("LXCM_ASYNCIO_DEBUG", "0") == "1"


def threshold_seconds() -> float:
    raw = os.environ.get(ENV_THRESHOLD, "").strip()
    try:
        value = float(raw) if raw else DEFAULT_THRESHOLD_MS
    except ValueError:
        raise pytest.UsageError(f"{ENV_THRESHOLD} must be a number of milliseconds") from None
    if value <= 0:
        raise pytest.UsageError(f"{ENV_THRESHOLD} must be positive")
    return value / 1000


class RunQueueClock:
    """Seconds this thread has spent waiting for a CPU so far (0.0 where unknown)."""

    def __init__(self) -> None:
        self._fds: dict[int, int] = {}

    def waited(self) -> float:
        tid = threading.get_native_id()
        fd = self._fds.get(tid)
        if fd is None:
            try:
                fd = os.open(f"/proc/self/task/{tid}/schedstat", os.O_RDONLY)
            except OSError:
                fd = -1
            self._fds[tid] = fd
        if fd < 0:
            return 0.0
        try:
            return int(os.pread(fd, 128, 0).split()[1]) / 1e9
        except (OSError, IndexError, ValueError):
            return 0.0


class GcClock:
    """Seconds spent in the cyclic garbage collector so far (all generations)."""

    def __init__(self) -> None:
        self.total = 0.0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.total += time.perf_counter() - self._started


class SlowCallbackGuard:
    """Times the callbacks of the loops it watches; keeps the slow ones until taken."""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self.loops: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()
        self.seen: list[str] = []
        self._clock = RunQueueClock()
        self._gc = GcClock()
        self._original: Callable[[asyncio.Handle], None] | None = None
        self.warnings: list[str] = []
        self._running: tuple[int, float] | None = None  # (thread id, start) of a step
        self._blame: str | None = None
        self._watchdog = threading.Thread(target=self._watch, name="slow-callbacks", daemon=True)

    def _watch(self) -> None:
        """Sample the stack of a step that runs past half the threshold (once per step)."""
        while True:
            time.sleep(self.threshold / 10)
            running = self._running
            if running is None or self._blame is not None:
                continue
            tid, started = running
            if time.perf_counter() - started < self.threshold / 2:
                continue
            frame = sys._current_frames().get(tid)
            if self._running is running:
                self._blame = _innermost_project_frame(frame)

    def watch(self, loop: asyncio.AbstractEventLoop) -> None:
        if DEBUG:  # asyncio's own checks, and where each handle was created
            loop.set_debug(True)
            loop.slow_callback_duration = self.threshold
        self.loops.add(loop)

    def install(self) -> None:
        self._watchdog.start()
        original = asyncio.Handle._run
        self._original = original
        guard = self
        gc.callbacks.append(self._gc)

        def timed_run(handle: asyncio.Handle) -> None:
            if handle._loop not in guard.loops:  # type: ignore[attr-defined]
                return original(handle)
            started, waited = time.perf_counter(), guard._clock.waited()
            guard._running, guard._blame = (threading.get_ident(), started), None
            others = time.process_time() - time.thread_time()
            collecting = guard._gc.total
            try:
                return original(handle)
            finally:
                guard._running = None
                wall = time.perf_counter() - started
                others = time.process_time() - time.thread_time() - others
                collecting = guard._gc.total - collecting
                busy = wall - (guard._clock.waited() - waited) - others - collecting
                if busy >= guard.threshold:
                    blame = guard._blame or "?"
                    line = (
                        f"{_describe(handle)} held the loop {busy:.3f} s ({wall:.3f} s wall)"
                        f", blocked in {blame}"
                    )
                    if blame.startswith(TESTS_DIR):
                        guard.warnings.append(line)
                    else:
                        guard.seen.append(line)

        asyncio.Handle._run = timed_run  # type: ignore[method-assign]

    def uninstall(self) -> None:
        if self._original is not None:
            asyncio.Handle._run = self._original  # type: ignore[method-assign]
            self._original = None
            gc.callbacks.remove(self._gc)

    def on_checkout(self, *_args: Any) -> None:
        """SQLAlchemy pool checkout: refuse it on a loop thread under a page handler."""
        if asyncio._get_running_loop() is None:
            return
        frame = sys._getframe(1)
        while frame is not None:
            path = frame.f_code.co_filename
            if any(part in path for part in HANDLER_DIRS):
                self.seen.append(
                    f"database work on the event loop in {frame.f_code.co_name} "
                    f"({os.path.basename(path)}:{frame.f_lineno})"
                )
                return
            frame = frame.f_back  # type: ignore[assignment]

    def take(self) -> list[str]:
        seen, self.seen = self.seen, []
        return seen

    def check(self, phase: str) -> None:
        for line in self.warnings:
            warnings.warn(f"test code blocked the event loop: {line}", stacklevel=1)
        self.warnings = []
        seen = self.take()
        if seen:
            lines = "\n  ".join(seen)
            pytest.fail(
                f"the event loop was blocked during {phase} (slow-callback threshold "
                f"{self.threshold * 1000:g} ms, {ENV_THRESHOLD}):\n  {lines}",
                pytrace=False,
            )


def _innermost_project_frame(frame: Any) -> str | None:
    """`path:line` of the innermost frame in lxc_manager/ or tests/ (not this plugin)."""
    while frame is not None:
        path = frame.f_code.co_filename
        if path != HERE and (path.startswith(APP_DIR) or path.startswith(TESTS_DIR)):
            return f"{path}:{frame.f_lineno}"
        frame = frame.f_back
    return None


def _describe(handle: asyncio.Handle) -> str:
    """The task a step belongs to, with the line it stopped at after the slow step."""
    owner = getattr(handle._callback, "__self__", None)  # type: ignore[attr-defined]
    if isinstance(owner, asyncio.Task):
        return repr(owner)
    return repr(handle)


_guard_key = pytest.StashKey[SlowCallbackGuard]()


def pytest_configure(config: pytest.Config) -> None:
    guard = SlowCallbackGuard(threshold_seconds())
    guard.install()
    event.listen(Pool, "checkout", guard.on_checkout)
    config.stash[_guard_key] = guard


def pytest_unconfigure(config: pytest.Config) -> None:
    if _guard_key in config.stash:
        guard = config.stash[_guard_key]
        event.remove(Pool, "checkout", guard.on_checkout)
        guard.uninstall()


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any], request: Any) -> Generator[None]:
    """pytest-asyncio's loops come from its `_<scope>_scoped_runner` fixtures: watch each."""
    result = yield
    if fixturedef.argname.endswith("_scoped_runner") and isinstance(result, asyncio.Runner):
        request.config.stash[_guard_key].watch(result.get_loop())
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None]:
    guard = item.config.stash[_guard_key]
    guard.take()  # anything before this test belongs to no test
    result = yield
    guard.check("setup")
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None]:
    result = yield
    item.config.stash[_guard_key].check("the test")
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None]:
    result = yield
    item.config.stash[_guard_key].check("teardown")
    return result
