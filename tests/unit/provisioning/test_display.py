"""A provisioning job as its page reads it: elapsed times, output levels, step headings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lxc_manager.provisioning.display import (
    LogEntry,
    elapsed_text,
    keep_last,
    line_level,
    log_lines,
    step_heading,
)
from lxc_manager.provisioning.progress import ProgressEntry

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def test_elapsed_reads_in_seconds_then_minutes() -> None:
    assert elapsed_text(None, T0) == ""
    assert elapsed_text(T0, T0 + timedelta(seconds=12.44)) == "12.4 s"
    assert elapsed_text(T0, T0 + timedelta(seconds=185)) == "3 min 5 s"
    assert elapsed_text(T0, None, now=T0 + timedelta(seconds=2)) == "2.0 s"
    assert elapsed_text(T0, T0 - timedelta(seconds=5)) == "0.0 s"  # clocks apart: never negative


def test_a_line_announces_its_level_near_its_start() -> None:
    assert line_level("[ERROR] apt failed", "stdout") == "error"
    assert line_level("E: error fetching", "stderr") == "error"
    assert line_level("E: error fetching", "stdout") == ""
    assert line_level("[WARNING] old key", "stdout") == "warn"
    assert line_level("[INFO] done", "stdout") == "info"
    assert line_level("x" * 40 + "[ERROR]", "stdout") == ""


def test_a_step_heading_names_the_script_of_a_script_step() -> None:
    assert step_heading({"name": "Start", "state": "ok"}) == "── Start · ok"
    script = {"name": "Scripts", "script": "web.sh", "index": "2", "total": "3", "state": "running"}
    assert step_heading(script) == "── Scripts: script 2/3 web.sh · running"


def test_stream_entries_become_lines_and_say_when_the_job_changed() -> None:
    entries = [
        ProgressEntry("1-0", "line", {"text": "[WARN] slow", "stream": "stderr"}),
        ProgressEntry("2-0", "step", {"name": "Start", "state": "ok"}),
    ]
    assert log_lines(entries[:1]) == ([LogEntry("1-0", "[WARN] slow", "stderr", "warn")], False)
    lines, changed = log_lines([*entries, ProgressEntry("3-0", "status", {"status": "failed"})])
    assert changed and [line.level for line in lines] == ["warn", "step"]


def test_only_the_last_lines_are_kept() -> None:
    assert keep_last([1, 2, 3], 5) == ([1, 2, 3], False)
    assert keep_last([1, 2, 3], 2) == ([2, 3], True)
