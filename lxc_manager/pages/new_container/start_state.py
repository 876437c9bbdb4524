"""`StartState`: what the wizard starts from. "An OS template" is the wizard's own flow
(`WizardState`); "a Proxmox CT template" clones a container with template=1 (linked when
its storage allows it) through the shared clone form (`CloneFormMixin`); "a backup"
restores a vzdump archive of the cluster as a new container (`backups.actions.
restore_new`, which checks the privileges and holds the VMID like the wizard). A sibling of
`WizardState` on the flat tree."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import reflex as rx
from reflex.event import EventSpec

from lxc_manager import routes
from lxc_manager.backups import actions
from lxc_manager.backups.listing import BackupEntry, list_backups
from lxc_manager.cloning.options import clone_options, list_ct_templates, restore_targets
from lxc_manager.nodes import NodeNotFound, NodeSecretError
from lxc_manager.nodes import service as nodes
from lxc_manager.pages.components.clone_form import Choice, CloneFormMixin
from lxc_manager.proxmox import ProxmoxError
from lxc_manager.proxmox.errors import short_message
from lxc_manager.state.guard import GuardedState, require_session

STARTS = ("recipe", "ct-template", "backup")
RESTORE_FIELDS = ("vmid", "hostname", "pve_node", "storage", "form")


def backup_label(entry: BackupEntry) -> str:
    """`CT 105 · 2026-12-01 03:00 · nas · 512 MB`"""
    when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(entry.ctime)) if entry.ctime else "?"
    size = f" · {entry.size / 1024**2:.0f} MB" if entry.size else ""
    return f"CT {entry.vmid} · {when} · {entry.storage}{size}"


class StartState(GuardedState, CloneFormMixin, rx.State):
    start: str = "recipe"
    node_choices: list[Choice] = []
    node_value: str = ""
    ct_templates: list[Choice] = []
    template_value: str = ""
    backups: list[Choice] = []
    backup_value: str = ""
    list_error: str = ""
    listing: bool = False
    # restore as a new container
    restore_nodes: list[Choice] = []
    restore_pve_node: str = ""
    restore_storage: str = ""
    restore_vmid: str = ""
    restore_hostname: str = ""
    restore_errors: dict[str, str] = {}
    _backup_nodes: dict[str, str] = {}  # volid -> the PVE node it was listed on
    _restore_storages: dict[str, list[str]] = {}  # PVE node -> rootdir storages

    @rx.var
    def restore_storage_choices(self) -> list[Choice]:
        return [
            Choice(value=s, label=s) for s in self._restore_storages.get(self.restore_pve_node, [])
        ]

    @rx.event
    @require_session
    async def set_start(self, value: str) -> AsyncIterator[None]:
        if value not in STARTS or value == self.start:
            return
        self.start = value
        if value == "recipe":
            return
        if not self.node_choices:
            views = await nodes.list_nodes(self._user_id)
            self.node_choices = [Choice(value=str(v.id), label=v.name) for v in views]
            default = next((v for v in views if v.is_default), views[0] if views else None)
            self.node_value = str(default.id) if default else ""
        yield
        async for update in self._list():
            yield update

    async def _list(self) -> AsyncIterator[None]:
        self.ct_templates, self.template_value, self._vmid = [], "", 0
        self.backups, self.backup_value, self.restore_errors = [], "", {}
        self._clear_form()
        if not self.node_value.isdigit():
            return
        self._node_id = int(self.node_value)
        self.listing, self.list_error = True, ""
        yield
        try:
            if self.start == "ct-template":
                await self._list_templates()
            elif self.start == "backup":
                await self._list_backups()
        finally:
            self.listing = False

    async def _list_templates(self) -> None:
        found, self.list_error = await list_ct_templates(self._user_id, self._node_id)
        self.ct_templates = [
            Choice(value=str(t.vmid), label=f"{t.name} (CT {t.vmid} on {t.pve_node})")
            for t in found
        ]

    async def _list_backups(self) -> None:
        try:
            listing = await list_backups(self._user_id, self._node_id)
        except NodeNotFound:
            self.list_error = "Node not found"
            return
        except (NodeSecretError, ProxmoxError) as exc:
            self.list_error = getattr(exc, "user_message", "") or short_message(exc)
            return
        self.list_error = "; ".join(listing.errors)
        self._backup_nodes = {e.volid: e.pve_node for e in listing.entries}
        self.backups = [Choice(value=e.volid, label=backup_label(e)) for e in listing.entries]

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

    @rx.event
    @require_session
    async def choose_backup(self, value: str) -> AsyncIterator[None]:
        if value not in self._backup_nodes or self.loading:
            return
        self.backup_value, self.restore_errors = value, {}
        self.loading = True
        yield
        try:
            targets = await restore_targets(self._user_id, self._node_id)
        finally:
            self.loading = False
        self.error = targets.error
        self.restore_nodes = [Choice(value=n, label=n) for n in targets.pve_nodes]
        storages: dict[str, list[str]] = {}
        for choice in targets.storages:
            for node in choice.nodes:
                storages.setdefault(node, []).append(choice.storage)
        self._restore_storages = storages
        backup_node = self._backup_nodes[value]
        names = [c.value for c in self.restore_nodes]
        self.restore_pve_node = backup_node if backup_node in names else (names[0] if names else "")
        self._pick_storage()
        self.restore_vmid = str(targets.next_vmid or "")
        self.restore_hostname = ""

    def _pick_storage(self) -> None:
        choices = self._restore_storages.get(self.restore_pve_node, [])
        if self.restore_storage not in choices:
            self.restore_storage = choices[0] if choices else ""

    @rx.event
    @require_session
    def set_restore(self, name: str, value: str) -> None:
        if name == "restore_pve_node" and any(c.value == value for c in self.restore_nodes):
            self.restore_pve_node = value
            self._pick_storage()
        elif name == "restore_storage" and value in self._restore_storages.get(
            self.restore_pve_node, []
        ):
            self.restore_storage = value
        elif name in ("restore_vmid", "restore_hostname"):
            setattr(self, name, value.strip()[:253])
        else:
            return
        self.restore_errors = {}

    @rx.event
    @require_session
    async def restore(self, _form: dict[str, str] | None = None) -> AsyncIterator[EventSpec | None]:
        """Restore the chosen backup as a new container (an operation job)."""
        volid = self.backup_value
        if self.busy or volid not in self._backup_nodes:
            return
        self.busy, self.restore_errors = True, {}
        yield None
        try:
            outcome = await actions.restore_new(
                self._user_id,
                self._node_id,
                volid,
                vmid_text=self.restore_vmid,
                hostname=self.restore_hostname,
                storage=self.restore_storage,
                pve_node=self.restore_pve_node,
                backup_node=self._backup_nodes[volid],
            )
        finally:
            self.busy = False
        if not outcome.ok or outcome.job_id is None:
            where = outcome.field if outcome.field in RESTORE_FIELDS else "form"
            self.restore_errors = {where: outcome.message}
            return
        yield rx.redirect(routes.job(outcome.job_id))
