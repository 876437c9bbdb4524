"""`ListPageMixin`: a list page (templates, package buckets) that loads its list afresh on
each visit and shows a one-line error about the last action on it (a delete or a
duplicate that was refused) above the list until the next action."""

from __future__ import annotations

import reflex as rx

from lxc_manager.state.guard import require_session_on_load


class ListPageMixin(rx.State, mixin=True):
    action_error: str = ""

    async def _refresh(self) -> None:
        """Read the list again (each State reads its own)."""
        raise NotImplementedError

    def _set_action_error(self, message: str) -> None:
        """Assigned only when different: an assignment alone puts the var in the delta."""
        if self.action_error != message:
            self.action_error = message

    @rx.event
    @require_session_on_load
    async def load(self) -> None:
        self._set_action_error("")
        await self._refresh()
