"""A failed task's message: its exit status and the last lines its log printed before it."""

from __future__ import annotations

import pytest

from lxc_manager.containers.lifecycle import failure_message
from lxc_manager.proxmox import ProxmoxError, TaskFailed
from lxc_manager.proxmox.tasks import failure_reason


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ((), "The task failed: startup for container '105' failed"),
        (
            (
                "run_buffer: 571 Script exited with status 2",
                'lxc_init: 845 Failed to run lxc.hook.pre-start for container "105"',
                '__lxc_start: 2034 Failed to initialize container "105"',
                "TASK ERROR: startup for container '105' failed",
            ),
            "The task failed: startup for container '105' failed (run_buffer: 571 Script "
            "exited with status 2; lxc_init: 845 Failed to run lxc.hook.pre-start for "
            'container "105"; __lxc_start: 2034 Failed to initialize container "105")',
        ),
    ],
)
def test_a_failed_tasks_message_ends_with_its_last_log_lines(
    lines: tuple[str, ...], expected: str
) -> None:
    error = TaskFailed(
        "UPID:pve1:0:0:0:vzstart:105:root@pam:", "startup for container '105' failed"
    )
    assert failure_message(error, lines) == expected


def test_the_reason_skips_status_lines_blank_lines_and_repeats() -> None:
    lines = [
        "",
        "first",
        "  second  ",
        "failed hard",
        "TASK WARNINGS: 1",
        "TASK ERROR: failed hard",
    ]
    assert failure_reason("failed hard", lines) == "failed hard (first; second)"
    assert failure_reason("failed hard", lines, keep=1) == "failed hard (second)"
    assert failure_reason("failed hard", lines, keep=0) == "failed hard"


def test_other_errors_keep_their_short_message() -> None:
    assert failure_message(ProxmoxError("CT is locked (backup)"), ["x"]) == (
        "The container is locked (backup)"
    )


def test_a_long_reason_is_cut() -> None:
    error = TaskFailed("UPID:x", "failed")
    message = failure_message(error, ["y" * 400])
    assert len(message) == len("The task failed: ") + 300 and message.endswith("…")
