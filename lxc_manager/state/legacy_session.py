"""TRANSITIONAL (issue 15): the old session base of pages not yet moved to
`lxc_manager.state.guard`; deleted when the last page has moved.

The signed-in user: the one piece of state every guarded page shares.

Every guarded page runs `SessionState.check_session` on load, and every event that reads
or changes data is wrapped in `require_session` (or `require_admin`), which re-checks the
session in Redis server-side before the handler runs; background handlers too. What the
page does by itself (periodic refreshes, heartbeats, follow loops) uses
`require_session_quiet`, and follow loops call `_login_if_ended` at every tick: both check
without extending the idle timeout, which only a user's action does. A test walks every
handler (tests/unit/test_handler_guards.py). The session id itself never enters state: it
is read from the Cookie header of the websocket request on each check.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

import reflex as rx
from reflex.istate.proxy import StateProxy

from lxc_manager.redis_client import async_client
from lxc_manager.security.sessions import (
    Session,
    get_session,
    safe_next,
    session_id_from_cookie_header,
)
from lxc_manager.settings import get_settings

F = TypeVar("F", bound=Callable[..., Any])


def _not_an_event(method: F) -> F:
    """Keep a helper method out of the State's event handlers.

    Reflex turns every public method of a State into an event that any browser may fire
    by name; these helpers are called by the handlers and the guards only. The marker is
    the one Reflex uses for its own overridden base methods, and the handler walk checks
    that they stay out (tests/unit/test_handler_guards.py).
    """
    method.__override_base_method__ = True  # type: ignore[attr-defined]
    return method


class LegacySessionState(rx.State):
    """Who is signed in (display only; authorisation is re-checked on every event)."""

    user_name: str = ""
    endpoint_label: str = ""
    is_admin: bool = False  # shows admin controls; admin events re-check the session
    _user_id: str = ""

    @_not_an_event
    async def current_session(self, touch: bool = True) -> Session | None:
        """The session of this tab's cookie. `touch=False` for automatic refreshes and
        background loops: only a user's action extends the idle timeout."""
        session_id = session_id_from_cookie_header(self.router.headers.cookie)
        return await get_session(async_client(), get_settings(), session_id, touch=touch)

    def _adopt(self, session: Session) -> None:
        """Copy who is signed in; assigned only when different, since an assignment alone
        puts the var in the delta every event sends to the browser."""
        if self._user_id != session.user_id:
            self._user_id = session.user_id
        if self.user_name != session.display_name:
            self.user_name = session.display_name
        if self.is_admin != session.is_admin:
            self.is_admin = session.is_admin

    @_not_an_event
    def login_redirect(self, ended: bool) -> rx.event.EventSpec:
        query = {"next": safe_next(self.router.url.path)}
        if ended:
            query["ended"] = "1"
        return rx.redirect("/login?" + urlencode(query), replace=True)

    def _to_login(self) -> rx.event.EventSpec:
        """To /login; "Your session has ended" only if there was one (a signed-in tab or a
        session cookie), not for a visitor who never signed in."""
        had_session = (
            bool(self.user_name)
            or bool(self._user_id)
            or bool(session_id_from_cookie_header(self.router.headers.cookie))
        )
        self._forget_user()
        return self.login_redirect(ended=had_session)

    def _forget_user(self) -> None:
        self.user_name = ""
        self.endpoint_label = ""
        self.is_admin = False
        self._user_id = ""

    @rx.event
    async def check_session(self) -> rx.event.EventSpec | None:
        """on_load of every guarded page: no valid session → /login?next=PATH."""
        session = await self.current_session()
        if session is None:
            return self._to_login()
        self._adopt(session)
        self.endpoint_label = session.endpoint_label  # display only: set on page load
        from lxc_manager.state.session import SessionState

        (await self.get_state(SessionState)).show(
            session.display_name, session.is_admin, session.endpoint_label
        )
        return None

    @rx.event
    def sign_out(self) -> rx.event.EventSpec:
        """The logout route deletes the session and clears the HttpOnly cookie."""
        self._forget_user()
        return rx.call_script("window.location.assign('/auth/logout')")

    async def _login_if_ended(self) -> rx.event.EventSpec | None:
        """Once per tick of a background loop, inside `async with self`: the redirect to
        /login when the session has ended (the loop returns it and stops), else None.

        It never extends the idle timeout: a tab left open with a live log or a
        provisioning job on screen must not keep a session alive (DESIGN §3.1)."""
        session = await self.current_session(touch=False)
        if session is None:
            return self._to_login()
        self._adopt(session)
        return None


def _guard(handler: F, *, admin: bool, touch: bool) -> F:
    """Wrap an event handler in the server-side session check (and the admin check).

    In a background handler (`@rx.event(background=True)`, `self` is Reflex's StateProxy)
    the check runs inside `async with self`, since it writes the signed-in user into state.
    """

    async def check(self: LegacySessionState) -> rx.event.EventSpec | None:
        session = await self.current_session(touch=touch)
        if session is None:
            return self._to_login()
        self._adopt(session)
        if admin and not session.is_admin:
            return rx.toast.error(ADMIN_ONLY)
        return None

    @functools.wraps(handler)
    async def guarded(self: LegacySessionState, *args: Any, **kwargs: Any) -> Any:
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


def require_session_quiet(handler: F) -> F:
    """`require_session` for what the page does by itself (periodic refreshes, heartbeats,
    follow loops): the same check, but it never extends the idle timeout, so a tab left
    open ends its session like any other once the user stops acting."""
    return _guard(handler, admin=False, touch=False)


ADMIN_ONLY = "Only an administrator of LXC Manager can do this"


def require_admin(handler: F) -> F:
    """Like `require_session`, and the signed-in user must be an administrator (DESIGN
    §3.2): otherwise nothing runs and the page shows `ADMIN_ONLY` in a toast."""
    return _guard(handler, admin=True, touch=True)


class NodeSummaryState(LegacySessionState):
    """How many nodes the signed-in user has (pages that need a node load it)."""

    node_count: int = 0
    summary_loaded: bool = False

    @rx.var
    def has_nodes(self) -> bool:
        return self.node_count > 0
