"""How a provisioning job reads on its page: elapsed times, the output lines of its
progress stream with their level, and the heading a step entry gets in the log.

    lines, changed = log_lines(await progress.read(job_id, after=last_id))
    log, truncated = keep_last([*log, *lines], 500)
    elapsed_text(view.started_at, view.finished_at)   # "12.4 s", "3 min 5 s"
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from .progress import ProgressEntry

__all__ = [
    "FINISHED",
    "LogEntry",
    "elapsed_text",
    "keep_last",
    "line_level",
    "log_lines",
    "step_heading",
]

# A job in one of these states writes nothing more until someone retries it.
FINISHED = ("succeeded", "failed", "destroyed")

T = TypeVar("T")


@dataclass(frozen=True)
class LogEntry:
    id: str  # the stream entry's id
    text: str
    stream: str = "stdout"  # stdout | stderr | task
    level: str = ""  # "" | info | warn | error | step


def elapsed_text(start: datetime | None, end: datetime | None, now: datetime | None = None) -> str:
    """From `start` to `end` (to `now` while it runs): `12.4 s` under a minute, then
    `3 min 5 s`; "" before it started."""
    if start is None:
        return ""
    seconds = max(0.0, ((end or now or datetime.now(UTC)) - start).total_seconds())
    return f"{seconds:.1f} s" if seconds < 60 else f"{int(seconds // 60)} min {int(seconds % 60)} s"


def line_level(text: str, stream: str) -> str:
    """The level an output line announces near its start (`[ERROR]`, `[WARN…]`, `[INFO]`,
    or an "error" on stderr), else ""."""
    head = text[:40]
    if "[ERROR]" in head or (stream == "stderr" and "error" in head.lower()):
        return "error"
    if "[WARN" in head:
        return "warn"
    if "[INFO]" in head:
        return "info"
    return ""


def step_heading(fields: dict[str, str]) -> str:
    """The log's line for a step entry: `── Run scripts: script 2/3 web.sh · ok`."""
    name, script, index = fields.get("name", ""), fields.get("script", ""), fields.get("index")
    label = f"{name}: script {index}/{fields.get('total')} {script}" if script and index else name
    return f"── {label} · {fields.get('state', '')}"


def log_lines(entries: Iterable[ProgressEntry]) -> tuple[list[LogEntry], bool]:
    """The log lines of stream entries (output lines and step headings), and whether a
    step, the status or the result changed (then the job is worth reading again)."""
    lines: list[LogEntry] = []
    changed = False
    for entry in entries:
        if entry.kind == "line":
            text, stream = entry.fields.get("text", ""), entry.fields.get("stream", "stdout")
            lines.append(LogEntry(entry.id, text, stream, line_level(text, stream)))
            continue
        changed = True
        if entry.kind == "step":
            lines.append(LogEntry(entry.id, step_heading(entry.fields), level="step"))
    return lines, changed


def keep_last(items: Sequence[T], keep: int) -> tuple[list[T], bool]:
    """The last `keep` items, and whether any were dropped."""
    return list(items[-keep:]), len(items) > keep
