"""The session guard every page State shares, as a mixin: the state tree stays flat.

A page State is `class DashboardState(GuardedState, rx.State)`: a direct child of Reflex's
root state, not of a session state. Reflex loads a state together with all its substates
(reflex/istate/manager/redis.py, `_get_required_state_classes`), so a page that inherited
from a shared session state made every event of every page load every other page's state
from Redis. With the mixin, an event loads the root and its own page State only.

Every event that reads or changes data is wrapped in `require_session` (or
`require_admin`), which re-checks the session in Redis server-side before the handler
runs; background handlers too. A page's `load` is such a handler and is its only on_load
event, so the check runs once per event, through the guard. What the page does by itself
(periodic refreshes, heartbeats, follow loops) uses `require_session_quiet`, and follow
loops call `_login_if_ended` at every tick: both check without extending the idle timeout,
which only a user's action does. A test walks every handler
(tests/unit/test_handler_guards.py). The session id itself never enters state: it is read
from the Cookie header of the websocket request on each check.

Who is signed in is shown by the layout from `SessionState`, a small sibling state. The
guard of a page's `load` (`require_session_on_load`) updates it at every navigation; other
events never touch it, so it is not loaded on every event.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

import reflex as rx
from reflex.event import EventSpec
from reflex.istate.proxy import StateProxy

from lxc_manager import routes
from lxc_manager.redis_client import async_client
from lxc_manager.security.actor import Actor
from lxc_manager.security.sessions import Session, get_session, session_id_from_cookie_header
from lxc_manager.settings import get_settings
from lxc_manager.state.marks import not_an_event
from lxc_manager.state.session import SessionState

F = TypeVar("F", bound=Callable[..., Any])

ADMIN_ONLY = "Only an administrator of LXC Manager can do this"


class GuardedState(rx.State, mixin=True):
    """What a page State needs of the signed-in user (authorisation is re-checked on
    every event by the guards below)."""

    is_admin: bool = False  # shows admin controls; admin events re-check the session
    _user_id: str = ""

    def _actor(self) -> Actor:
        """Who acts in this event (as the last guard found them)."""
        return Actor(self._user_id, self.is_admin)

    @not_an_event
    async def current_session(self, touch: bool = True) -> Session | None:
        """The session of this tab's cookie. `touch=False` for automatic refreshes and
        background loops: only a user's action extends the idle timeout."""
        session_id = session_id_from_cookie_header(self.router.headers.cookie)
        return await get_session(async_client(), get_settings(), session_id, touch=touch)

    async def _adopt(self, session: Session, show: bool = False) -> None:
        """Copy who is signed in; assigned only when different, since an assignment alone
        puts the var in the delta every event sends to the browser. The header
        (`SessionState`) is updated only when `show` (a page load): other events send
        nothing but their own page's delta."""
        if self._user_id != session.user_id:
            self._user_id = session.user_id
        if self.is_admin != session.is_admin:
            self.is_admin = session.is_admin
        if show:
            header = await self.get_state(SessionState)
            header.show(session.display_name, session.is_admin, session.endpoint_label)

    @not_an_event
    def login_redirect(self, ended: bool) -> EventSpec:
        return rx.redirect(routes.login(self.router.url.path, ended=ended), replace=True)

    async def _to_login(self) -> EventSpec:
        """To /login; "Your session has ended" only if there was one (a signed-in tab or a
        session cookie), not for a visitor who never signed in."""
        had_session = bool(self._user_id) or bool(
            session_id_from_cookie_header(self.router.headers.cookie)
        )
        if self._user_id or self.is_admin:
            self._user_id, self.is_admin = "", False
            (await self.get_state(SessionState)).forget()
        return self.login_redirect(ended=had_session)

    async def _login_if_ended(self) -> EventSpec | None:
        """Once per tick of a background loop, inside `async with self`: the redirect to
        /login when the session has ended (the loop returns it and stops), else None.

        It never extends the idle timeout: a tab left open with a live log or a
        provisioning job on screen must not keep a session alive (DESIGN §3.1)."""
        session = await self.current_session(touch=False)
        if session is None:
            return await self._to_login()
        await self._adopt(session)
        return None


def _guard(handler: F, *, admin: bool, touch: bool, show: bool = False) -> F:
    """Wrap an event handler in the server-side session check (and the admin check).

    In a background handler (`@rx.event(background=True)`, `self` is Reflex's StateProxy)
    the check runs inside `async with self`, since it writes the signed-in user into state.
    """

    async def check(self: GuardedState) -> EventSpec | None:
        session = await self.current_session(touch=touch)
        if session is None:
            return await self._to_login()
        await self._adopt(session, show=show)
        if admin and not session.is_admin:
            refusal: EventSpec = rx.toast.error(ADMIN_ONLY)
            return refusal
        return None

    @functools.wraps(handler)
    async def guarded(self: GuardedState, *args: Any, **kwargs: Any) -> Any:
        if isinstance(self, StateProxy):
            async with self:
                refused = await check(self)
        else:
            refused = await check(self)
        if refused is not None:
            return refused
        result = handler(self, *args, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        return result

    # Read by the handler walk (tests/unit/test_handler_guards.py).
    guarded.__lxcm_guard__ = "admin" if admin else "session"  # type: ignore[attr-defined]
    guarded.__lxcm_touch__ = touch  # type: ignore[attr-defined]
    return guarded  # type: ignore[return-value]


def require_session(handler: F) -> F:
    """Re-check the session server-side before an event handler reads or changes anything.

    Without a valid session the handler does not run: the tab is sent to /login (with
    "Your session has ended" when it had one). On success `self._user_id` is the signed-in
    user's id. This is a user's action, so it extends the session's idle timeout.
    """
    return _guard(handler, admin=False, touch=True)


def require_session_on_load(handler: F) -> F:
    """`require_session` for a page's `load`, its only on_load event: it also shows who is
    signed in (and through which endpoint) in the layout's header."""
    return _guard(handler, admin=False, touch=True, show=True)


def require_session_quiet(handler: F) -> F:
    """`require_session` for what the page does by itself (periodic refreshes, heartbeats,
    follow loops): the same check, but it never extends the idle timeout, so a tab left
    open ends its session like any other once the user stops acting."""
    return _guard(handler, admin=False, touch=False)


def require_admin(handler: F) -> F:
    """Like `require_session`, and the signed-in user must be an administrator (DESIGN
    §3.2): otherwise nothing runs and the page shows `ADMIN_ONLY` in a toast."""
    return _guard(handler, admin=True, touch=True)
