"""When and how long to wait before connecting again (pure policy + a small loop)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from .errors import SshError, SshUnreachable

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """`attempts` connection attempts; before attempt n+1 wait `delay(n)`:
    base, base*factor, ... capped at max_delay (0.5 s, 1 s, 2 s, 2 s, ... by default)."""

    attempts: int = 3
    base_delay: float = 0.5
    factor: float = 2.0
    max_delay: float = 2.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.base_delay < 0 or self.factor < 1 or self.max_delay < 0:
            raise ValueError("delays must be non-negative and the factor at least 1")

    def delay(self, failed_attempts: int) -> float:
        """The wait after `failed_attempts` (1-based) failures."""
        return float(min(self.max_delay, self.base_delay * self.factor ** (failed_attempts - 1)))

    def delays(self) -> list[float]:
        """Every wait between the attempts (attempts - 1 of them)."""
        return [self.delay(n) for n in range(1, self.attempts)]

    @staticmethod
    def should_retry(error: BaseException) -> bool:
        """Only connection-level failures are retried: never a refused credential or a
        wrong host key (retrying those would only repeat the refusal, or the risk)."""
        return isinstance(error, SshUnreachable)


async def with_retries(
    attempt: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    what: str = "connect",
) -> T:
    """Run `attempt` until it succeeds, fails with a non-retryable error, or the policy's
    attempts are used up (the last error is raised)."""
    failures = 0
    while True:
        try:
            return await attempt()
        except SshError as exc:
            failures += 1
            if not policy.should_retry(exc) or failures >= policy.attempts:
                raise
            wait = policy.delay(failures)
            log.info(
                "%s failed (%s); attempt %d of %d in %.1f s",
                what,
                exc,
                failures + 1,
                policy.attempts,
                wait,
            )
            await sleep(wait)
