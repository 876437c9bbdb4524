"""A browser tab as Reflex's event socket sees it, over a real TCP connection.

What the compiled frontend (reflex_base's `utils/state.js` + socket.io-client) does, and no
more: open `/_event/?EIO=4&transport=websocket&token=T` with the tab's Cookie and Origin,
put the `hydrate_and_load` event in the Socket.IO CONNECT packet, answer Engine.IO pings,
send `event` packets with the page's router data, and send back every backend event an
update queues (the page's on_load handlers, chained events) as the browser does.
Frontend-only events (`_redirect`, `_call_script`, ...) are recorded for the test.

Used by the scale-out test (a tab moving between replicas) and the load benchmark.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    CloseConnection,
    Ping,
    RejectConnection,
    Request,
    TextMessage,
)

NAMESPACE = "/_event"
ROOT_STATE = "reflex___state____state"
HYDRATE = f"{ROOT_STATE}.hydrate_and_load"
FIELD_MARKER = "_rx_state_"
ON_LOAD = f"{ROOT_STATE}.reflex___state____on_load_internal_state.on_load_internal"


@functools.cache
def _pages() -> list[str]:
    from lxc_manager import routes

    return [
        str(v).strip("/") or "index"
        for k, v in vars(routes).items()
        if k.isupper() and str(v).startswith("/")
    ]


def route_params(path: str) -> dict[str, str]:
    """The dynamic segments of `path` (`/containers/jobs/ab` → {"job_id": "ab"})."""
    from reflex.route import get_router

    route = get_router(_pages())(path)
    if route is None:
        return {}
    pattern = re.sub(r"\\\[(\w+)\\\]", r"(?P<\1>[^/]+)", re.escape(route))
    found = re.match(f"^/?{pattern}/?$", path)
    return dict(found.groupdict()) if found else {}


class SocketRefused(RuntimeError):
    pass


def event_name(handler: Any) -> str:
    """`DashboardState.refresh` → the full event name the compiled frontend sends."""
    return f"{handler.state.get_full_name()}.{handler.fn.__name__}"


@dataclass
class Update:
    """One `event` packet from the backend: a StateUpdate."""

    delta: dict[str, dict[str, Any]]
    events: list[dict[str, Any]]
    final: bool
    at: float


@dataclass
class ReflexTab:
    """One tab: `await ReflexTab.open(port, "/", cookie=..., origin=...)`."""

    port: int
    path: str
    cookie: str = ""
    origin: str = ""
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    updates: list[Update] = field(default_factory=list)
    state: dict[str, dict[str, Any]] = field(default_factory=dict)
    frontend_events: list[dict[str, Any]] = field(default_factory=list)
    closed: bool = False
    new_tokens: list[str] = field(default_factory=list)
    _reader: asyncio.StreamReader | None = None
    _writer: asyncio.StreamWriter | None = None
    _ws: WSConnection = field(default_factory=lambda: WSConnection(ConnectionType.CLIENT))
    _text: str = ""
    _connected: asyncio.Event = field(default_factory=asyncio.Event)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _reading: asyncio.Task[None] | None = None

    # ---- the connection ------------------------------------------------------------------
    @classmethod
    async def open(
        cls, port: int, path: str, *, cookie: str = "", origin: str = "", token: str | None = None
    ) -> ReflexTab:
        tab = cls(port, path, cookie, origin)
        if token:
            tab.token = token
        await tab.connect()
        return tab

    async def connect(self, timeout: float = 30) -> None:
        """(Re)connect the socket and hydrate the current page, as a page load does."""
        self._ws = WSConnection(ConnectionType.CLIENT)
        self._connected = asyncio.Event()
        self.closed = False
        self._reader, self._writer = await asyncio.open_connection("127.0.0.1", self.port)
        headers = [(b"origin", self.origin.encode())] if self.origin else []
        if self.cookie:
            headers.append((b"cookie", self.cookie.encode()))
        target = "/_event/?" + urlencode(
            {"EIO": "4", "transport": "websocket", "token": self.token}
        )
        self._send_raw(Request(host=f"127.0.0.1:{self.port}", target=target, extra_headers=headers))
        while True:
            data = await asyncio.wait_for(self._reader.read(65536), timeout)
            if not data:
                raise SocketRefused("the backend closed the connection during the handshake")
            self._ws.receive_data(data)
            for event in self._ws.events():
                if isinstance(event, RejectConnection):
                    raise SocketRefused(f"websocket refused with HTTP {event.status_code}")
                if isinstance(event, AcceptConnection):
                    break
            else:
                continue
            break
        self._reading = asyncio.create_task(self._read_loop())
        # The Engine.IO open packet comes first; then the Socket.IO CONNECT carries hydrate.
        connect = {"event": self._event(HYDRATE, {})}
        self._send_text(f"40{NAMESPACE},{json.dumps(connect)}")
        await asyncio.wait_for(self._connected.wait(), timeout)

    def _send_raw(self, event: Any) -> None:
        assert self._writer is not None
        self._writer.write(self._ws.send(event))

    def _send_text(self, text: str) -> None:
        if not self.closed:
            self._send_raw(TextMessage(data=text))

    async def _read_loop(self) -> None:
        assert self._reader is not None
        try:
            while not self.closed:
                data = await self._reader.read(1 << 16)
                if not data:
                    break
                self._ws.receive_data(data)
                for event in self._ws.events():
                    if isinstance(event, TextMessage):
                        self._text += event.data
                        if event.message_finished:
                            text, self._text = self._text, ""
                            self._packet(text)
                    elif isinstance(event, Ping):
                        self._send_raw(event.response())
                    elif isinstance(event, CloseConnection):
                        with contextlib.suppress(Exception):
                            self._send_raw(event.response())
                        self.closed = True
                assert self._writer is not None
                await self._writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self.closed = True
            self._changed.set()

    def _packet(self, text: str) -> None:
        """An Engine.IO packet: 0 open, 2 ping (answered 3), 4 + Socket.IO packet."""
        if text == "2":
            self._send_text("3")
        elif text.startswith(f"40{NAMESPACE}"):
            self._connected.set()
        elif text.startswith(f"44{NAMESPACE}"):
            raise SocketRefused(f"the namespace refused the connection: {text[:300]}")
        elif text.startswith(f"42{NAMESPACE},"):
            name, *args = json.loads(text[len(NAMESPACE) + 3 :])
            if name == "event" and args:
                self._update(args[0])
            elif name == "new_token" and args:  # the token was still linked elsewhere
                self.token = str(args[0])
                self.new_tokens.append(self.token)

    def _update(self, raw: dict[str, Any]) -> None:
        update = Update(
            raw.get("delta") or {},
            raw.get("events") or [],
            bool(raw.get("final")),
            time.monotonic(),
        )
        self.updates.append(update)
        for state, values in update.delta.items():
            self.state.setdefault(state, {}).update(values)
        for event in update.events:
            if str(event.get("name", "")).startswith("_"):
                self.frontend_events.append(event)
            else:  # the browser queues it and sends it back with its router data
                self.send(event["name"], event.get("payload") or {})
        self._changed.set()

    async def close(self) -> None:
        if self._writer is None:
            return
        if not self.closed:
            with contextlib.suppress(Exception):
                self._send_raw(CloseConnection(code=1000))
                await self._writer.drain()
        self.closed = True
        if self._reading is not None:
            self._reading.cancel()
            with contextlib.suppress(BaseException):
                await self._reading
        self._writer.close()
        with contextlib.suppress(Exception):
            await self._writer.wait_closed()

    # ---- what a page does --------------------------------------------------------------
    def _event(self, name: str, payload: dict[str, Any]) -> dict[str, Any]:
        parts = urlsplit(self.path)
        router: dict[str, Any] = {"pathname": parts.path, "asPath": self.path}
        query = (
            dict(
                pair.split("=", 1) if "=" in pair else (pair, "") for pair in parts.query.split("&")
            )
            if parts.query
            else {}
        )
        query.update(route_params(parts.path))  # React Router's params, as the page adds
        if query:
            router["query"] = query
        return {"name": name, "payload": payload, "router_data": router}

    def send(self, name: str, payload: dict[str, Any] | None = None) -> None:
        """Send one event (by full name) from the current page."""
        packet = json.dumps(["event", self._event(name, payload or {})])
        self._send_text(f"42{NAMESPACE},{packet}")

    async def fire(self, handler: Any, **payload: Any) -> None:
        self.send(event_name(handler), payload)
        assert self._writer is not None
        await self._writer.drain()

    async def navigate(self, path: str) -> None:
        """A client-side navigation: the new page's on_load handlers run."""
        self.path = path
        self.send(ON_LOAD, {})
        assert self._writer is not None
        await self._writer.drain()

    def redirects(self) -> list[str]:
        return [
            str(e.get("payload", {}).get("path", ""))
            for e in self.frontend_events
            if e.get("name") == "_redirect"
        ]

    def scripts(self) -> list[str]:
        return [
            str(e.get("payload", {}).get("javascript_code", ""))
            for e in self.frontend_events
            if e.get("name") == "_call_script"
        ]

    def var(self, state: Any, name: str) -> Any:
        """The tab's current value of `state.name` (as the page would render it)."""
        values = self.state.get(state.get_full_name(), {})
        return values.get(name, values.get(name + FIELD_MARKER))

    def _summary(self) -> str:
        states = {k.rsplit(".", 1)[-1]: sorted(v)[:12] for k, v in self.state.items()}
        return f"{len(self.updates)} updates, states {states}, events {self.frontend_events[-5:]}"

    async def until(self, check: Any, timeout: float = 30, what: str = "the condition") -> Any:
        """Wait until `check()` is truthy (re-checked at every update); its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value:
                return value
            if self.closed:
                raise AssertionError(f"the socket closed while waiting for {what}")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"{what} not within {timeout} s; the tab has {self._summary()}"
                )
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 1.0))
