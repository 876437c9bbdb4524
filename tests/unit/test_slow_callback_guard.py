"""The slow-callback guard (tests/support/slow_callbacks.py) fails a test that blocks the
loop and passes one that waits properly."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytest_plugins = ["pytester"]

BLOCKING = """
import asyncio, time

async def test_blocks():
    time.sleep(0.3)

async def test_waits():
    await asyncio.sleep(0.3)

async def test_thread():
    await asyncio.to_thread(time.sleep, 0.3)
"""


def _run(pytester: pytest.Pytester, threshold_ms: str) -> pytest.RunResult:
    pytester.makeconftest('pytest_plugins = ["tests.support.slow_callbacks"]\n')
    pytester.makepyfile(test_loop=BLOCKING)
    pytester.makeini(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = session\n"
    )
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LXCM_SLOW_CALLBACK_MS", threshold_ms)
        env.setenv("PYTHONPATH", str(REPO))
        return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")


def test_a_blocking_test_fails(pytester: pytest.Pytester) -> None:
    result = _run(pytester, "100")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*test_blocks*", "*the event loop was blocked*"])


def test_the_threshold_is_configurable(pytester: pytest.Pytester) -> None:
    _run(pytester, "1000").assert_outcomes(passed=3)


def test_a_bad_threshold_is_refused(pytester: pytest.Pytester) -> None:
    result = _run(pytester, "fast")
    assert result.ret != 0
    result.stderr.fnmatch_lines(["*LXCM_SLOW_CALLBACK_MS must be a number*"])
