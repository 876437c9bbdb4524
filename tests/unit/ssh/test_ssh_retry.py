"""The connect retry policy: which errors are retried and how long between attempts."""

from __future__ import annotations

import pytest

from lxc_manager.ssh import (
    HostKeyMismatch,
    HostKeyNotPinned,
    RetryPolicy,
    SshAuthFailed,
    SshError,
    SshTimeout,
    SshUnreachable,
)
from lxc_manager.ssh.retry import with_retries


class Recorder:
    def __init__(self, outcomes: list[SshError | str]) -> None:
        self.outcomes = outcomes
        self.calls = 0
        self.sleeps: list[float] = []

    async def attempt(self) -> str:
        outcome = self.outcomes[self.calls]
        self.calls += 1
        if isinstance(outcome, SshError):
            raise outcome
        return outcome

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


def test_default_policy_is_three_attempts_with_doubling_waits() -> None:
    policy = RetryPolicy()
    assert policy.attempts == 3
    assert policy.delays() == [0.5, 1.0]
    assert RetryPolicy(attempts=6).delays() == [0.5, 1.0, 2.0, 2.0, 2.0]
    assert RetryPolicy(attempts=4, base_delay=0.1, factor=3, max_delay=10).delays() == (
        pytest.approx([0.1, 0.3, 0.9])
    )
    assert RetryPolicy(attempts=1).delays() == []


@pytest.mark.parametrize(
    "kwargs", [{"attempts": 0}, {"base_delay": -1}, {"factor": 0.5}, {"max_delay": -1}]
)
def test_bad_policies_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_only_connection_errors_are_retryable() -> None:
    assert RetryPolicy.should_retry(SshUnreachable("refused"))
    for error in (
        SshAuthFailed("no"),
        HostKeyMismatch("SHA256:a", "SHA256:b"),
        HostKeyNotPinned("SHA256:b"),
        SshTimeout("slow"),
        SshError("other"),
    ):
        assert not RetryPolicy.should_retry(error)


async def test_unreachable_is_retried_with_backoff_then_succeeds() -> None:
    recorder = Recorder([SshUnreachable("a"), SshUnreachable("b"), "connected"])
    result = await with_retries(recorder.attempt, RetryPolicy(), sleep=recorder.sleep)
    assert result == "connected"
    assert recorder.calls == 3
    assert recorder.sleeps == [0.5, 1.0]


async def test_the_last_error_is_raised_when_attempts_run_out() -> None:
    recorder = Recorder([SshUnreachable("first"), SshUnreachable("second"), SshUnreachable("3")])
    with pytest.raises(SshUnreachable, match="3"):
        await with_retries(recorder.attempt, RetryPolicy(), sleep=recorder.sleep)
    assert recorder.calls == 3
    assert recorder.sleeps == [0.5, 1.0]


@pytest.mark.parametrize(
    "error", [SshAuthFailed("denied"), HostKeyMismatch("SHA256:a", "SHA256:b")]
)
async def test_auth_failure_and_host_key_mismatch_are_never_retried(error: SshError) -> None:
    recorder = Recorder([SshUnreachable("blip"), error, "never reached"])
    with pytest.raises(type(error)):
        await with_retries(recorder.attempt, RetryPolicy(), sleep=recorder.sleep)
    assert recorder.calls == 2
    assert recorder.sleeps == [0.5]
