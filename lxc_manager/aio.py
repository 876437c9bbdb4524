"""Small asyncio helpers that keep the event loop free.

`in_thread`: services keep a plain synchronous core (one transaction, easy to test and to
call from a worker's thread) and offer async functions at their boundary, so a Reflex
handler never runs a query on the event loop. `all_of`: independent loads side by side.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


def in_thread(blocking: Callable[P, T]) -> Callable[P, Awaitable[T]]:
    """An async version of `blocking` that runs it in the default thread pool."""

    @functools.wraps(blocking)
    async def run(*args: P.args, **kwargs: P.kwargs) -> T:
        return await asyncio.to_thread(blocking, *args, **kwargs)

    return run


async def all_of(*loads: Awaitable[Any]) -> list[Any]:
    """Run independent loads concurrently and return their results in order. Every load
    runs to its end (none is left running unobserved); then the first failure is raised."""
    results = await asyncio.gather(*loads, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results
