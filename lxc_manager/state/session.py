"""Who is signed in, as the layout's header shows it: a small state of its own.

Page States do not inherit from it (see `lxc_manager.state.guard`): the guard of a page's
events writes into it when the page loads or the user changes, so Reflex loads it only
then, never with every page's state. Authorisation never reads it: every event re-checks
the session in Redis.
"""

from __future__ import annotations

import reflex as rx
from reflex.event import EventSpec

from lxc_manager import routes
from lxc_manager.state.marks import not_an_event


class SessionState(rx.State):
    """Display only: the user's name, role and sign-in endpoint in the header."""

    user_name: str = ""
    endpoint_label: str = ""
    is_admin: bool = False

    @not_an_event
    def show(self, user_name: str, is_admin: bool, endpoint_label: str) -> None:
        """Called by the guard, never by a browser. Assigned only when different: an
        assignment alone puts the var in the delta sent to the browser."""
        if self.user_name != user_name:
            self.user_name = user_name
        if self.is_admin != is_admin:
            self.is_admin = is_admin
        if self.endpoint_label != endpoint_label:
            self.endpoint_label = endpoint_label

    @not_an_event
    def forget(self) -> None:
        self.show("", False, "")

    @rx.event
    def sign_out(self) -> EventSpec:
        """The logout route deletes the session and clears the HttpOnly cookie."""
        self.forget()
        return rx.call_script(f"window.location.assign('{routes.LOGOUT}')")
