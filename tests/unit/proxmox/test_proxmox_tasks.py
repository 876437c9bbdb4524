"""UPID parsing and `wait_for_task` with a fake clock."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from lxc_manager.proxmox import ProxmoxTimeout, TaskFailed, TaskStatus, Upid
from lxc_manager.proxmox.tasks import wait_for_task

UPID = "UPID:pve1:0002B1A4:00A3C0DE:6654A1B2:vzcreate:105:root@pam!lxcm:"


def test_parse_upid() -> None:
    upid = Upid.parse(UPID)
    assert upid.node == "pve1"
    assert upid.pid == 0x2B1A4
    assert upid.pstart == 0xA3C0DE
    assert upid.starttime == 0x6654A1B2
    assert upid.type == "vzcreate"
    assert upid.id == "105"
    assert upid.user == "root@pam!lxcm"
    assert str(upid) == UPID


def test_parse_upid_with_empty_id_and_nine_digit_pstart() -> None:
    upid = Upid.parse("UPID:pve-2:00001234:1A3C0DE12:6654A1B2:aptupdate::root@pam:")
    assert (upid.node, upid.pstart, upid.id, upid.type) == ("pve-2", 0x1A3C0DE12, "", "aptupdate")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "UPID:pve1:0002B1A4:00A3C0DE:6654A1B2:vzcreate:105:root@pam",  # no trailing colon
        "UPID:pve1:XYZ:00A3C0DE:6654A1B2:vzcreate:105:root@pam:",
        "TASK:pve1:0002B1A4:00A3C0DE:6654A1B2:vzcreate:105:root@pam:",
        "UPID:pve1:0002B1A4:00A3C0DE:6654A1B2::105:root@pam:",  # empty type
    ],
)
def test_parse_rejects_malformed(text: str) -> None:
    with pytest.raises(ValueError, match="UPID"):
        Upid.parse(text)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


def status(state: str, exitstatus: str | None = None) -> TaskStatus:
    return TaskStatus(
        upid=UPID, node="pve1", status=state, exitstatus=exitstatus, type="vzcreate", id="105"
    )


def fetcher(*answers: TaskStatus) -> tuple[list[int], Callable[[], Awaitable[TaskStatus]]]:
    calls: list[int] = []
    queue = list(answers)

    async def fetch() -> TaskStatus:
        calls.append(1)
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return calls, fetch


async def test_returns_final_status_with_growing_interval() -> None:
    clock = FakeClock()
    calls, fetch = fetcher(*[status("running")] * 8, status("stopped", "OK"))
    final = await wait_for_task(
        fetch,
        UPID,
        timeout=60,
        poll=0.2,
        max_poll=2.0,
        clock=clock,
        sleep=clock.sleep,
    )
    assert final.exitstatus == "OK" and final.succeeded
    assert len(calls) == 9
    assert clock.sleeps == [0.2, 0.3, 0.45, 0.675, 1.0125, 1.51875, 2.0, 2.0]


async def test_task_failure_raises_with_exit_status() -> None:
    clock = FakeClock()
    _, fetch = fetcher(status("running"), status("stopped", "simulated task failure"))
    with pytest.raises(TaskFailed) as info:
        await wait_for_task(fetch, UPID, timeout=10, clock=clock, sleep=clock.sleep)
    assert info.value.exitstatus == "simulated task failure"
    assert info.value.upid == UPID
    assert info.value.task is not None and info.value.task.status == "stopped"


async def test_warnings_count_as_success() -> None:
    clock = FakeClock()
    _, fetch = fetcher(status("stopped", "WARNINGS: 2"))
    final = await wait_for_task(fetch, UPID, timeout=10, clock=clock, sleep=clock.sleep)
    assert final.exitstatus == "WARNINGS: 2"
    assert clock.sleeps == []


async def test_overall_timeout() -> None:
    clock = FakeClock()
    calls, fetch = fetcher(status("running"))
    with pytest.raises(ProxmoxTimeout) as info:
        await wait_for_task(fetch, UPID, timeout=5, clock=clock, sleep=clock.sleep)
    assert info.value.upid == UPID
    assert clock.now == pytest.approx(1005.0)  # never sleeps past the deadline
    assert sum(clock.sleeps) == pytest.approx(5.0)
    assert len(calls) == len(clock.sleeps) + 1  # one last look at the deadline


@pytest.mark.parametrize(
    ("exitstatus", "ok"),
    [("OK", True), ("WARNINGS: 1", True), ("WARNINGS: x", False), ("unexpected status", False)],
)
def test_task_status_success_rule(exitstatus: str, ok: bool) -> None:
    assert status("stopped", exitstatus).succeeded is ok
    assert status("running", None).succeeded is False
