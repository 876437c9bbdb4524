"""`push_verified` decides from pct's output and `stat`: a stand-in pool answers both."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import pytest

from lxc_manager.provisioning.push import PushNotVerified, push_verified
from lxc_manager.ssh import ExecResult, SshPool, SshTarget

TARGET = SshTarget("pve.example", password="x", host_key_fingerprint=None)


class _Pool:
    """What push_verified calls: push_file (pct's result) and pct_exec (stat's answer)."""

    def __init__(self, pushed: ExecResult, stat: ExecResult) -> None:
        self.pushed, self.stat = pushed, stat
        self.commands: list[list[str]] = []

    async def push_file(self, *args: Any, **kwargs: Any) -> ExecResult:
        return self.pushed

    async def pct_exec(
        self, target: SshTarget, vmid: int, argv: Sequence[str], **kwargs: Any
    ) -> ExecResult:
        self.commands.append(list(argv))
        return self.stat


async def _push(pool: _Pool, content: bytes = b"hello\n", mode: int = 0o640) -> None:
    await push_verified(cast(SshPool, pool), TARGET, 105, "/etc/app.conf", content, mode)


async def test_a_file_of_the_right_size_and_mode_passes() -> None:
    pool = _Pool(ExecResult(0, "", ""), ExecResult(0, "6 640\n", ""))
    await _push(pool)
    assert pool.commands == [["stat", "-L", "-c", "%s %a", "/etc/app.conf"]]


@pytest.mark.parametrize(
    ("pushed", "stat", "reason"),
    [
        (
            ExecResult(0, "", "failed to create file: /etc/app.conf: Read-only file system\n"),
            ExecResult(1, "", "stat: cannot statx '/etc/app.conf': No such file or directory\n"),
            "failed to create file: /etc/app.conf: Read-only file system",
        ),
        (
            ExecResult(0, "", ""),
            ExecResult(1, "", "stat: cannot statx '/etc/app.conf': No such file or directory\n"),
            "/etc/app.conf is not in the container after the copy (stat: cannot statx "
            "'/etc/app.conf': No such file or directory)",
        ),
        (
            ExecResult(0, "", ""),
            ExecResult(0, "6 644\n", ""),
            "/etc/app.conf has 6 bytes, mode 0644 after the copy; expected 6 bytes, mode 0640",
        ),
        (
            ExecResult(0, "", ""),
            ExecResult(0, "0 640\n", ""),
            "/etc/app.conf has 0 bytes, mode 0640 after the copy; expected 6 bytes, mode 0640",
        ),
        (
            ExecResult(0, "", ""),
            ExecResult(0, "garbage\n", ""),
            "/etc/app.conf is not in the container after the copy (stat gave no answer)",
        ),
    ],
)
async def test_what_is_wrong_is_the_reason(
    pushed: ExecResult, stat: ExecResult, reason: str
) -> None:
    with pytest.raises(PushNotVerified) as caught:
        await _push(_Pool(pushed, stat))
    assert caught.value.reason == reason
    assert caught.value.exit_status == 0
