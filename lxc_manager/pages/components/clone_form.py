"""The clone form's State mixin (values, choices and handlers), shared by the container
page's Clone dialog and the wizard's "start from a Proxmox CT template"; its fields are
`clone_fields.clone_fields`.

The choices come from `cloning.options.clone_options` (the source as Proxmox sees it, the
online PVE nodes, the storages that hold container volumes, a free VMID). The rules are
said before anything is sent (`cloning.plan`); the submit re-reads everything on the
server, checks the token's privileges, reserves the new VMID and starts an operation job.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import reflex as rx
from pydantic import BaseModel
from reflex.event import EventSpec

from lxc_manager import routes
from lxc_manager.cloning import jobs
from lxc_manager.cloning.options import CloneOptions
from lxc_manager.cloning.plan import ClonePlan, linked_clone_possible
from lxc_manager.provisioning import vmids
from lxc_manager.state.guard import require_session

CURRENT = "current"  # the snapshot select's value for "the current state" (never a name)
SAME = "same"  # the storage select's value for "the source's own storage"
FIELDS = ("newid", "hostname", "target", "storage", "full", "snapname", "description", "form")


class Choice(BaseModel):
    value: str
    label: str


def _number(text: str) -> int | None:
    return int(text) if text.isdigit() else None


class CloneFormMixin(rx.State, mixin=True):
    loading: bool = False
    busy: bool = False
    error: str = ""
    source_hostname: str = ""
    source_running: bool = False
    source_template: bool = False
    linked_possible: bool = False
    pve_node: str = ""
    targets: list[Choice] = []
    snapshots: list[Choice] = []
    newid: str = ""
    vmid_message: str = ""
    hostname: str = ""
    target: str = ""
    storage: str = SAME
    mode: str = "full"  # full / linked
    snapname: str = CURRENT
    description: str = ""
    errors: dict[str, str] = {}
    # storage choices per PVE node: (value, label, shared)
    _storages: dict[str, list[tuple[str, str, bool]]] = {}
    _node_id: int = 0
    _vmid: int = 0

    if TYPE_CHECKING:  # declared by GuardedState, which every State using this mixes in
        _user_id: str

    @rx.var
    def storage_choices(self) -> list[Choice]:
        target = self.target or self.pve_node
        same = Choice(value=SAME, label="Same storage as the source")
        if self.mode == "linked":
            return [same]
        rows = [
            Choice(value=v, label=label)
            for v, label, shared in self._storages.get(target, [])
            if shared or target == self.pve_node
        ]
        return [same, *rows]

    @rx.var
    def moving(self) -> bool:
        return bool(self.target) and self.target != self.pve_node

    def _clear_form(self) -> None:
        self.error, self.errors, self.description, self.vmid_message = "", {}, "", ""
        self.targets, self.snapshots, self._storages = [], [], {}

    def _apply(self, found: CloneOptions) -> None:
        source = found.source
        if source is None:
            self.error = found.error or "The container could not be read"
            return
        self.pve_node, self.source_hostname = source.pve_node, source.hostname
        self.source_running, self.source_template = source.running, source.template
        self.linked_possible = linked_clone_possible(source)
        self.mode = "linked" if self.linked_possible else "full"
        nodes = list(found.pve_nodes)
        if source.pve_node not in nodes:
            nodes.insert(0, source.pve_node)
        self.targets = [Choice(value=n, label=n) for n in nodes]
        self.target = source.pve_node
        self.snapshots = [Choice(value=CURRENT, label="Current state")] + [
            Choice(value=name, label=f"Snapshot {name}") for name in source.snapshots
        ]
        running_with_snapshot = source.running and source.snapshots
        self.snapname = source.snapshots[-1] if running_with_snapshot else CURRENT
        storages: dict[str, list[tuple[str, str, bool]]] = {}
        for choice in found.storages:
            label = f"{choice.storage} ({choice.type}{', shared' if choice.shared else ''})"
            for node in choice.nodes:
                storages.setdefault(node, []).append((choice.storage, label, choice.shared))
        self._storages, self.storage = storages, SAME
        self.newid = str(found.next_vmid or "")
        self.hostname = f"{source.hostname}-clone" if source.hostname else ""

    @rx.event
    @require_session
    def set_text(self, name: str, value: str) -> None:
        if name in ("hostname", "description"):
            setattr(self, name, value.strip()[:255])
            self.errors = {k: v for k, v in self.errors.items() if k != name}

    @rx.event
    @require_session
    def set_choice(self, name: str, value: str) -> None:
        if name == "target" and any(c.value == value for c in self.targets):
            self.target, self.storage = value, SAME
        elif name == "storage" and any(c.value == value for c in self.storage_choices):
            self.storage = value
        elif name == "mode" and value in ("full", "linked"):
            self.mode, self.storage = value, SAME
        elif name == "snapname" and any(c.value == value for c in self.snapshots):
            self.snapname = value
        else:
            return
        self.errors = {}

    @rx.event
    @require_session
    async def set_newid(self, value: str) -> None:
        """The VMID typed, checked like the wizard's (cache of taken ids and holds)."""
        self.newid = value.strip()[:12]
        self.errors = {k: v for k, v in self.errors.items() if k != "newid"}
        if not self.newid or not self._node_id:
            self.vmid_message = ""
            return
        text = self.newid
        result = await vmids.check_vmid(self._user_id, self._node_id, text)
        if text == self.newid:
            self.vmid_message = result.message
            if result.status in ("taken", "invalid"):
                self.errors = {**self.errors, "newid": result.message}

    def _plan(self) -> ClonePlan | None:
        newid = _number(self.newid)
        if newid is None:
            self.errors = {"newid": "Enter the new container's VMID (a whole number)"}
            return None
        return ClonePlan(
            newid=newid,
            hostname=self.hostname,
            full=self.mode != "linked",
            target="" if self.target == self.pve_node else self.target,
            storage="" if self.storage == SAME else self.storage,
            snapname="" if self.snapname == CURRENT else self.snapname,
            description=self.description,
        )

    def _closed(self) -> None:
        """After a clone was queued (the dialog closes)."""

    @rx.event
    @require_session
    async def submit(self, _form: dict[str, Any] | None = None) -> AsyncIterator[EventSpec | None]:
        if self.busy or not self._vmid or self.loading:
            return
        plan = self._plan()
        if plan is None:
            return
        self.busy, self.errors = True, {}
        yield None
        try:
            result = await jobs.submit_clone(self._user_id, self._node_id, self._vmid, plan)
        finally:
            self.busy = False
        if result.job_id is None:
            self.errors = {k if k in FIELDS else "form": v for k, v in result.errors.items()}
            return
        self._closed()
        yield rx.redirect(routes.job(result.job_id))
