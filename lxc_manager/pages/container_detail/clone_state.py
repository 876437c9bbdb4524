"""`CloneState`: the container page's Clone dialog (the shared clone form,
`CloneFormMixin`) and its "Convert to template" action. A sibling of
`ContainerDetailState` on the flat tree: its events load only this small state."""

from __future__ import annotations

from collections.abc import AsyncIterator

import reflex as rx
from reflex.event import EventSpec

from lxc_manager import routes
from lxc_manager.cloning import jobs
from lxc_manager.cloning.options import clone_options
from lxc_manager.pages.components.clone_form import CloneFormMixin
from lxc_manager.state.guard import GuardedState, require_session


def _number(text: str) -> int | None:
    return int(text) if text.isdigit() else None


class CloneState(GuardedState, CloneFormMixin, rx.State):
    open: bool = False
    converting: bool = False

    def _route_ids(self) -> tuple[int, int] | None:
        node_id = _number(routes.route_arg(self, routes.CT_NODE))
        vmid = _number(routes.route_arg(self, routes.CT_VMID))
        return None if node_id is None or vmid is None else (node_id, vmid)

    def _closed(self) -> None:
        self.open = False

    @rx.event
    @require_session
    async def open_dialog(self) -> AsyncIterator[None]:
        """Open the dialog and read what it offers from Proxmox."""
        ids = self._route_ids()
        if ids is None or self.loading:
            return
        self._node_id, self._vmid = ids
        self._clear_form()
        self.open, self.loading = True, True
        yield
        try:
            self._apply(await clone_options(self._user_id, *ids))
        finally:
            self.loading = False

    @rx.event
    @require_session
    def set_open(self, value: bool) -> None:
        if not self.busy:
            self.open = bool(value)

    @rx.event
    @require_session
    async def convert(self) -> AsyncIterator[EventSpec | None]:
        """Convert the container to a template (after the confirmation): checked again on
        the server (stopped, no snapshots, VM.Allocate) and run as an operation job."""
        ids = self._route_ids()
        if ids is None or self.converting:
            return
        self.converting = True
        yield None
        try:
            result = await jobs.submit_template(self._user_id, *ids)
        finally:
            self.converting = False
        if result.job_id is None:
            yield rx.toast.error(next(iter(result.errors.values()), "Not converted"))
            return
        yield rx.redirect(routes.job(result.job_id))
