"""Fire the app's Reflex events in-process, through Reflex's own event processor.

A `Tab` is one browser tab as the backend sees it: a client token, the Cookie header of its
websocket and the page it is on. `tab.fire(State.handler, arg=...)` runs the event the way
the websocket would (the same processor, state manager and background-task machinery as
`lxc-manager serve`, minus the socket), so the guards meet the real session functions in a
real Redis. What the backend sends to the tab is recorded: `tab.redirects()` lists the
pages it was sent to.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import reflex as rx
from reflex.route import get_router
from reflex.state import State
from reflex_base.event import Event
from reflex_base.event.processor import BaseStateEventProcessor

import lxc_manager.lxc_manager  # noqa: F401  (registers every page and so every State)
from lxc_manager import routes
from lxc_manager.security.sessions import COOKIE_NAME

S = TypeVar("S", bound=rx.State)

# Every page route, as Reflex keeps them (no leading slash, "index" for /).
_ROUTES = [
    str(v).strip("/") or "index"
    for k, v in vars(routes).items()
    if k.isupper() and str(v).startswith("/")
]
_route_of = get_router(_ROUTES)


def _route_args(path: str) -> dict[str, str]:
    """The dynamic segments of `path` (`/templates/7` → {"tpl": "7"}): the browser sends them
    in the router data's `query`, where Reflex's route vars read them."""
    bare = urlsplit(path).path
    route = _route_of(bare)
    if route is None:
        return {}
    pattern = re.sub(r"\\\[(\w+)\\\]", r"(?P<\1>[^/]+)", re.escape(route))
    found = re.match(f"^/?{pattern}/?$", bare)
    return dict(found.groupdict()) if found else {}


@dataclass
class _Recorder:
    """Stands in for the websocket namespace: keeps what would be sent to each tab."""

    updates: dict[str, list[Any]] = field(default_factory=dict)

    async def emit_update(self, update: Any, token: str) -> None:
        self.updates.setdefault(token, []).append(update)


@dataclass
class Tab:
    processor: BaseStateEventProcessor
    recorder: _Recorder
    path: str
    session_id: str | None
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    # The connection's peer address and extra request headers (e.g. x-forwarded-for), as
    # Reflex takes them from the websocket's ASGI scope.
    ip: str | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)

    def _router_data(self) -> dict[str, Any]:
        headers = {"origin": "http://127.0.0.1:3000", **self.extra_headers}
        if self.session_id:
            headers["cookie"] = f"{COOKIE_NAME}={self.session_id}"
        data = {
            "pathname": self.path,
            "asPath": self.path,
            "query": _route_args(self.path),
            "headers": headers,
            "token": self.token,
        }
        if self.ip is not None:
            data["ip"] = self.ip
        return data

    async def open(self) -> None:
        """What the page's first websocket event does: hydrate (without on_load events)."""
        await self._run(Event(name=_event_name(State, "hydrate"), router_data=self._router_data()))

    async def fire(self, handler: Any, wait: bool = True, **payload: Any) -> Any:
        """Run `State.handler` with `payload`; waits for it (and what it chains) by default."""
        state_cls = handler.state if hasattr(handler, "state") else None
        name = handler.fn.__name__ if state_cls is not None else str(handler)
        event = Event(
            name=_event_name(state_cls, name),
            router_data=self._router_data(),
            payload=payload,
        )
        future = await self.processor.enqueue(self.token, event)
        if wait:
            await future.wait_all()
        return future

    async def _run(self, event: Event) -> None:
        future = await self.processor.enqueue(self.token, event)
        await future.wait_all()

    async def state(self, state_cls: type[S]) -> S:
        """A snapshot of this tab's state of `state_cls` (read under the state lock)."""
        manager = self.processor._root_context.state_manager  # type: ignore[union-attr]
        async with manager.modify_state_with_links(_token(self.token, state_cls)) as root:
            return await root.get_state(state_cls)  # type: ignore[no-any-return]

    async def edit(self, state_cls: type[S], change: Callable[[S], None]) -> None:
        """Change this tab's state directly (what earlier page events would have set)."""
        manager = self.processor._root_context.state_manager  # type: ignore[union-attr]
        async with manager.modify_state_with_links(_token(self.token, state_cls)) as root:
            change(await root.get_state(state_cls))

    def redirects(self) -> list[str]:
        """Paths the backend sent this tab to (`rx.redirect` events), oldest first."""
        paths = []
        for update in self.recorder.updates.get(self.token, []):
            for event in getattr(update, "events", None) or []:
                if event.name == "_redirect":
                    paths.append(str(event.payload.get("path", "")))
        return paths

    def toasts(self) -> list[str]:
        texts = []
        for update in self.recorder.updates.get(self.token, []):
            for event in getattr(update, "events", None) or []:
                if event.name == "_call_function" and "toast" in repr(event.payload):
                    texts.append(repr(event.payload))
        return texts


def _event_name(state_cls: type[rx.State] | None, handler: str) -> str:
    assert state_cls is not None
    return f"{state_cls.get_full_name()}.{handler}"


def _token(client_token: str, state_cls: type[rx.State]) -> Any:
    from reflex.istate.manager.token import BaseStateToken

    return BaseStateToken(ident=client_token, cls=state_cls)


@asynccontextmanager
async def event_processor() -> AsyncIterator[Callable[..., Tab]]:
    """`async with event_processor() as new_tab: tab = new_tab(path, session_id)`
    (keywords `ip` and `extra_headers` set the connection's peer and headers)."""
    recorder = _Recorder()
    processor = BaseStateEventProcessor()
    async with processor.configure(event_namespace=recorder):  # type: ignore[arg-type]

        def new_tab(path: str, session_id: str | None, **connection: Any) -> Tab:
            return Tab(processor, recorder, path, session_id, **connection)

        yield new_tab
        await asyncio.sleep(0)
