"""The signed-in user: the one piece of state every guarded page shares.

Every guarded page runs `SessionState.check_session` on load, and every event that reads
or changes data is wrapped in `require_session`, which re-checks the session in Redis
server-side before the handler runs. The session id itself never enters state: it is read
from the Cookie header of the websocket request on each check.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

import reflex as rx

from lxc_manager.redis_client import async_client
from lxc_manager.security.sessions import (
    Session,
    get_session,
    safe_next,
    session_id_from_cookie_header,
)
from lxc_manager.settings import get_settings

F = TypeVar("F", bound=Callable[..., Any])


class SessionState(rx.State):
    """Who is signed in (display only; authorisation is re-checked on every event)."""

    user_name: str = ""
    endpoint_label: str = ""
    is_admin: bool = False  # shows admin controls; admin events re-check the session
    _user_id: str = ""

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
        return None

    @rx.event
    def sign_out(self) -> rx.event.EventSpec:
        """The logout route deletes the session and clears the HttpOnly cookie."""
        self._forget_user()
        return rx.call_script("window.location.assign('/auth/logout')")


def require_session(handler: F) -> F:
    """Re-check the session server-side before an event handler reads or changes anything.

    Without a valid session the handler does not run: the tab is sent to /login (with
    "Your session has ended" when it had one). On success `self._user_id` is the signed-in user's id.
    """

    @functools.wraps(handler)
    async def guarded(self: SessionState, *args: Any, **kwargs: Any) -> Any:
        session = await self.current_session()
        if session is None:
            return self._to_login()
        self._adopt(session)
        result = handler(self, *args, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        return result

    guarded.__lxcm_guard__ = "session"  # type: ignore[attr-defined]  # read by the handler walk
    return guarded  # type: ignore[return-value]


ADMIN_ONLY = "Only an administrator of LXC Manager can do this"


def require_admin(handler: F) -> F:
    """Like `require_session`, and the signed-in user must be an administrator (DESIGN
    §3.2): otherwise nothing runs and the page shows `ADMIN_ONLY` in a toast."""

    @functools.wraps(handler)
    async def guarded(self: SessionState, *args: Any, **kwargs: Any) -> Any:
        session = await self.current_session()
        if session is None:
            return self._to_login()
        self._adopt(session)
        if not session.is_admin:
            return rx.toast.error(ADMIN_ONLY)
        result = handler(self, *args, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        return result

    guarded.__lxcm_guard__ = "admin"  # type: ignore[attr-defined]
    return guarded  # type: ignore[return-value]
