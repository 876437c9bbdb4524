"""`ActionErrorMixin`: a page's one-line error about the last action on its list (a
delete or a duplicate that was refused), shown above the list until the next action."""

from __future__ import annotations

import reflex as rx


class ActionErrorMixin(rx.State, mixin=True):
    action_error: str = ""

    def _set_action_error(self, message: str) -> None:
        """Assigned only when different: an assignment alone puts the var in the delta."""
        if self.action_error != message:
            self.action_error = message
