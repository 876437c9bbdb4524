"""`StartState`: what the wizard starts from. "An OS template" is the wizard's own flow
(`WizardState`); "a Proxmox CT template" clones a container with template=1 (linked when
its storage allows it) through the shared clone form (`CloneFormMixin`). A sibling of
`WizardState` on the flat tree."""

from __future__ import annotations

from collections.abc import AsyncIterator

import reflex as rx

from lxc_manager.cloning.options import clone_options, list_ct_templates
from lxc_manager.nodes import service as nodes
from lxc_manager.pages.components.clone_form import Choice, CloneFormMixin
from lxc_manager.state.guard import GuardedState, require_session

STARTS = ("recipe", "ct-template")


class StartState(GuardedState, CloneFormMixin, rx.State):
    start: str = "recipe"
    node_choices: list[Choice] = []
    node_value: str = ""
    ct_templates: list[Choice] = []
    template_value: str = ""
    list_error: str = ""
    listing: bool = False

    @rx.event
    @require_session
    async def set_start(self, value: str) -> AsyncIterator[None]:
        if value not in STARTS or value == self.start:
            return
        self.start = value
        if value == "recipe":
            return
        views = await nodes.list_nodes(self._user_id)
        self.node_choices = [Choice(value=str(v.id), label=v.name) for v in views]
        default = next((v for v in views if v.is_default), views[0] if views else None)
        self.node_value = str(default.id) if default else ""
        yield
        async for update in self._list():
            yield update

    async def _list(self) -> AsyncIterator[None]:
        self.ct_templates, self.template_value, self._vmid = [], "", 0
        self._clear_form()
        if not self.node_value.isdigit():
            return
        self._node_id = int(self.node_value)
        self.listing = True
        yield
        try:
            found, self.list_error = await list_ct_templates(self._user_id, self._node_id)
        finally:
            self.listing = False
        self.ct_templates = [
            Choice(value=str(t.vmid), label=f"{t.name} (CT {t.vmid} on {t.pve_node})")
            for t in found
        ]

    @rx.event
    @require_session
    async def choose_node(self, value: str) -> AsyncIterator[None]:
        if any(c.value == value for c in self.node_choices) and value != self.node_value:
            self.node_value = value
            async for update in self._list():
                yield update

    @rx.event
    @require_session
    async def choose_template(self, value: str) -> AsyncIterator[None]:
        if not any(c.value == value for c in self.ct_templates) or self.loading:
            return
        self.template_value, self._vmid = value, int(value)
        self._clear_form()
        self.loading = True
        yield
        try:
            self._apply(await clone_options(self._user_id, self._node_id, self._vmid))
        finally:
            self.loading = False
