"""Step kinds of operations: a name for the pages and an async handler for the worker.

    async def backup_step(ctx: StepContext, args: dict[str, Any]) -> str | None:
        upid = await vzdump(ctx.client, ctx.pve_node, ctx.vmid, storage=args["storage"])
        await ctx.follow(upid, "The backup")
        return "Backed up"          # the step's message (None: "skipped, nothing to do")

    register("backup", "Back up", backup_step)

A handler raises `StepFailed(message)` (or lets a ProxmoxError through) to fail its step;
it may add to the job's result with `ctx.result[...] = ...`. Modules that register kinds
are listed in `HANDLER_MODULES` and imported by the worker before a run (and by `jobs`
before a submit, which refuses an unknown kind).
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .run import StepContext

__all__ = ["HANDLER_MODULES", "StepKind", "kind_of", "load_handlers", "register", "step_name"]

Handler = Callable[["StepContext", dict[str, Any]], Awaitable[str | None]]

# Add your module here when it registers step kinds.
HANDLER_MODULES: tuple[str, ...] = (
    "lxc_manager.backups.steps",
    "lxc_manager.backups.destroy_first",
    "lxc_manager.cloning.steps",
)


@dataclass(frozen=True)
class StepKind:
    kind: str
    name: str
    handler: Handler
    timeout: float


_KINDS: dict[str, StepKind] = {}


def register(kind: str, name: str, handler: Handler, *, timeout: float = 3000.0) -> None:
    """Register (or replace) the handler of a step kind; `timeout` bounds one step."""
    _KINDS[kind] = StepKind(kind, name, handler, timeout)


def load_handlers() -> None:
    for module in HANDLER_MODULES:
        importlib.import_module(module)


def kind_of(kind: str) -> StepKind | None:
    # Not "when none is registered": one module imported on its own (a page importing
    # backups.steps) registers its kinds, and the others would never be loaded.
    if kind not in _KINDS:
        load_handlers()
    return _KINDS.get(kind)


def step_name(kind: str) -> str:
    found = kind_of(kind)
    return found.name if found is not None else kind.replace("-", " ").capitalize()
