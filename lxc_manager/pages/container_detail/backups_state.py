"""`BackupsState`: the Backups tab of the container page — the container's backups on
every backup storage of its cluster, and the actions on them (back up now, restore over
it or as a new container, protect, notes, delete). A sibling of `ContainerDetailState`
on the flat tree: its events load only this state.

Long actions become operation jobs (`lxc_manager.backups.actions`): the tab sends the
browser to the job page, which follows the job live and after a reload. Every handler
re-checks the session; the volume a handler acts on must be one this tab listed for this
container, and the service checks the user's node and the Proxmox privileges again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import reflex as rx
from pydantic import BaseModel
from reflex.event import EventSpec

from lxc_manager import routes
from lxc_manager.aio import all_of
from lxc_manager.backups import actions
from lxc_manager.backups.actions import BackupOptions, Outcome
from lxc_manager.backups.listing import BackupEntry, list_backups
from lxc_manager.containers.locate import locate
from lxc_manager.nodes import NodeNotFound, NodeSecretError
from lxc_manager.pages.components.format import human_bytes
from lxc_manager.provisioning.options import node_options
from lxc_manager.proxmox import ProxmoxError
from lxc_manager.proxmox.backup_api import COMPRESSIONS, MODES
from lxc_manager.proxmox.errors import short_message
from lxc_manager.state.guard import GuardedState, require_session

MODE_HELP = {
    "snapshot": "Snapshot: the container keeps running; a temporary storage snapshot is "
    "archived (the storage must support snapshots).",
    "suspend": "Suspend: the container is frozen for the final sync and resumes at once; "
    "a short pause, no snapshot needed.",
    "stop": "Stop: the container is shut down for the backup and started again after "
    "(if it was running); the most consistent, with downtime.",
}
COMPRESS_LABELS = {"zstd": "zstd (fast, good)", "gzip": "gzip", "lzo": "lzo", "0": "none"}
NOT_LISTED = "This backup is not one of this container's: reload the tab"


class BackupRow(BaseModel):
    volid: str
    storage: str
    pve_node: str
    filename: str
    size: str
    date: str
    notes: str
    protected: bool
    format: str
    origin: str


class Choice(BaseModel):
    value: str
    label: str


def backup_row(entry: BackupEntry) -> BackupRow:
    when = datetime.fromtimestamp(entry.ctime, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return BackupRow(
        volid=entry.volid,
        storage=entry.storage,
        pve_node=entry.pve_node,
        filename=entry.filename,
        size=human_bytes(entry.size),
        date=when if entry.ctime else "—",
        notes=entry.notes,
        protected=entry.protected,
        format=entry.format,
        origin=entry.origin or "—",
    )


def _number(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def _why(exc: Exception) -> str:
    if isinstance(exc, NodeNotFound):
        return "Node not found"
    if isinstance(exc, NodeSecretError):
        return exc.user_message
    if isinstance(exc, ProxmoxError):
        return short_message(exc)
    return "Unexpected error; see the server log"


def _toast(outcome: Outcome) -> EventSpec:
    toast: EventSpec = (rx.toast.success if outcome.ok else rx.toast.error)(outcome.message)
    return toast


class BackupsState(GuardedState, rx.State):
    loaded: bool = False
    loading: bool = False
    error: str = ""
    notice: str = ""  # storages that could not be read
    rows: list[BackupRow] = []
    storages: list[Choice] = []  # backup storages this container's node can write to
    busy: str = ""
    # back up now
    backup_open: bool = False
    bk_storage: str = ""
    bk_mode: str = "snapshot"
    bk_compress: str = "zstd"
    backup_errors: dict[str, str] = {}
    # restore
    restore_open: bool = False
    restore_volid: str = ""
    restore_date: str = ""
    restore_mode: str = "new"  # new | over
    rs_node: str = ""
    rs_storage: str = ""
    pve_nodes: list[str] = []
    target_storages: list[Choice] = []
    backup_first: bool = False
    restore_errors: dict[str, str] = {}
    # notes
    notes_open: bool = False
    notes_volid: str = ""
    notes_text: str = ""
    # Not `ct_vmid` / `ct_node`: those names are the route's own vars (`routes.route_arg`).
    this_vmid: int = 0
    this_node: str = ""
    _node_id: int = 0
    _rootfs: dict[str, list[Choice]] = {}
    _own_storage: str = ""  # this container's root disk storage

    @rx.var
    def node_choices(self) -> list[Choice]:
        return [Choice(value=n, label=n) for n in self.pve_nodes]

    @rx.var
    def notice_text(self) -> str:
        return f"Not everything could be read: {self.notice}" if self.notice else ""

    @rx.var
    def mode_help(self) -> str:
        return MODE_HELP.get(self.bk_mode, "")

    def _row(self, volid: str) -> BackupRow | None:
        return next((r for r in self.rows if r.volid == volid), None)

    async def _load(self) -> None:
        listing = await list_backups(self._user_id, self._node_id, self.this_vmid)
        self.rows = [backup_row(e) for e in listing.entries]
        self.storages = [
            Choice(value=s.storage, label=f"{s.storage} ({s.type}{', shared' if s.shared else ''})")
            for s in listing.storages
            if s.shared or s.pve_node == self.this_node
        ]
        self.notice = "; ".join(listing.errors)
        if self.bk_storage not in [c.value for c in self.storages]:
            self.bk_storage = self.storages[0].value if self.storages else ""

    @rx.event
    @require_session
    async def open(self) -> AsyncIterator[None]:
        """The tab opened (or was reloaded): this container's backups, newest first."""
        node_id = _number(routes.route_arg(self, routes.CT_NODE))
        vmid = _number(routes.route_arg(self, routes.CT_VMID))
        if node_id is None or vmid is None:
            self.error, self.loaded = "Container not found", True
            return
        self._node_id, self.this_vmid = node_id, vmid
        self.loading, self.error = True, ""
        yield None
        try:
            found = await locate(self._user_id, node_id, vmid)
            if found is None:
                self.error = "Container not found"
            else:
                self.this_node = found[0]
                await self._load()
        except (NodeNotFound, NodeSecretError, ProxmoxError) as exc:
            self.error = _why(exc)
        finally:
            self.loading, self.loaded = False, True

    # ---- back up now --------------------------------------------------------------------
    @rx.event
    @require_session
    def set_backup_open(self, value: bool) -> None:
        self.backup_open, self.backup_errors = bool(value), {}

    @rx.event
    @require_session
    def set_bk_storage(self, value: str) -> None:
        if any(c.value == value for c in self.storages):
            self.bk_storage = value

    @rx.event
    @require_session
    def set_bk_mode(self, value: str) -> None:
        if value in MODES:
            self.bk_mode = value

    @rx.event
    @require_session
    def set_bk_compress(self, value: str) -> None:
        if value in COMPRESSIONS:
            self.bk_compress = value

    def _options(self, form: dict[str, Any]) -> BackupOptions:
        return BackupOptions(
            storage=self.bk_storage,
            mode=self.bk_mode,
            compress=self.bk_compress,
            notes=str(form.get("notes") or "").strip(),
            protected=form.get("protected") in ("on", True, "true"),
        )

    @rx.event
    @require_session
    async def back_up(self, form: dict[str, Any]) -> AsyncIterator[EventSpec | None]:
        if self.busy or not self.this_vmid:
            return
        self.busy, self.backup_errors = "backup", {}
        yield None
        try:
            outcome = await actions.back_up(
                self._user_id, self._node_id, self.this_node, self.this_vmid, self._options(form)
            )
        finally:
            self.busy = ""
        if outcome.ok and outcome.job_id:
            self.backup_open = False
            yield rx.redirect(routes.job(outcome.job_id))
            return
        self.backup_errors = {outcome.field: outcome.message}

    # ---- restore ------------------------------------------------------------------------
    @rx.event
    @require_session
    async def open_restore(self, volid: str) -> AsyncIterator[EventSpec | None]:
        row = self._row(volid)
        if row is None:
            yield rx.toast.error(NOT_LISTED)
            return
        self.restore_volid, self.restore_date = row.volid, row.date
        self.restore_mode, self.backup_first, self.restore_errors = "new", False, {}
        self.restore_open, self.busy = True, "options"
        yield None
        try:
            options, self._own_storage = await all_of(
                node_options(self._user_id, self._node_id),
                actions.rootfs_storage(
                    self._user_id, self._node_id, self.this_node, self.this_vmid
                ),
            )
        finally:
            self.busy = ""
        if options.error:
            self.restore_errors = {"form": options.error}
        self.pve_nodes = list(options.pve_nodes)
        self._rootfs = {
            node: [Choice(value=s.storage, label=s.label) for s in storages]
            for node, storages in options.rootfs_storages.items()
        }
        self._pick_node(self.this_node if self.this_node in self.pve_nodes else "")

    def _pick_node(self, node: str) -> None:
        if not node and self.pve_nodes:
            node = self.pve_nodes[0]
        self.rs_node = node
        self.target_storages = self._rootfs.get(node, [])
        if self.rs_storage not in [c.value for c in self.target_storages]:
            self.rs_storage = self.target_storages[0].value if self.target_storages else ""

    @rx.event
    @require_session
    def set_restore_open(self, value: bool) -> None:
        self.restore_open = bool(value)
        if not value:
            self.restore_errors = {}

    @rx.event
    @require_session
    def set_restore_mode(self, value: str) -> None:
        if value in ("new", "over"):
            self.restore_mode, self.restore_errors = value, {}
            if value == "over":
                self._pick_node(self.this_node)
                if any(c.value == self._own_storage for c in self.target_storages):
                    self.rs_storage = self._own_storage

    @rx.event
    @require_session
    def set_rs_node(self, value: str) -> None:
        if value in self.pve_nodes:
            self._pick_node(value)

    @rx.event
    @require_session
    def set_rs_storage(self, value: str) -> None:
        if any(c.value == value for c in self.target_storages):
            self.rs_storage = value

    @rx.event
    @require_session
    def set_backup_first(self, value: bool) -> None:
        self.backup_first = bool(value)

    @rx.event
    @require_session
    async def restore(self, form: dict[str, Any]) -> AsyncIterator[EventSpec | None]:
        row = self._row(self.restore_volid)
        if self.busy or row is None:
            return
        self.busy, self.restore_errors = "restore", {}
        yield None
        try:
            if self.restore_mode == "over":
                first = self._options({"notes": "before restore"}) if self.backup_first else None
                outcome = await actions.restore_over(
                    self._user_id, self._node_id, self.this_node, self.this_vmid, row.volid,
                    confirm=str(form.get("confirm") or ""), storage=self.rs_storage,
                    backup_first=first,
                )  # fmt: skip
            else:
                outcome = await actions.restore_new(
                    self._user_id, self._node_id, row.volid,
                    vmid_text=str(form.get("vmid") or ""),
                    hostname=str(form.get("hostname") or "").strip(),
                    storage=self.rs_storage, pve_node=self.rs_node, backup_node=row.pve_node,
                )  # fmt: skip
        finally:
            self.busy = ""
        if outcome.ok and outcome.job_id:
            self.restore_open = False
            yield rx.redirect(routes.job(outcome.job_id))
            return
        self.restore_errors = {outcome.field: outcome.message}

    # ---- protect, notes, delete ---------------------------------------------------------
    async def _volume(self, what: str, volid: str, call: Any) -> AsyncIterator[EventSpec | None]:
        row = self._row(volid)
        if row is None:
            yield rx.toast.error(NOT_LISTED)
            return
        if self.busy:
            return
        self.busy = what
        yield None
        try:
            outcome: Outcome = await call(row)
            if outcome.ok:
                await self._load()
        except (NodeNotFound, NodeSecretError, ProxmoxError) as exc:
            outcome = Outcome(False, _why(exc))
        finally:
            self.busy = ""
        yield _toast(outcome)

    @rx.event
    @require_session
    async def set_protected(self, volid: str, protected: bool) -> AsyncIterator[EventSpec | None]:
        async def call(row: BackupRow) -> Outcome:
            return await actions.set_protected(
                self._user_id, self._node_id, row.pve_node, row.volid, bool(protected)
            )

        async for update in self._volume("protect", volid, call):
            yield update

    @rx.event
    @require_session
    def open_notes(self, volid: str) -> EventSpec | None:
        row = self._row(volid)
        if row is None:
            return _toast(Outcome(False, NOT_LISTED))
        self.notes_volid, self.notes_text, self.notes_open = row.volid, row.notes, True
        return None

    @rx.event
    @require_session
    def set_notes_open(self, value: bool) -> None:
        self.notes_open = bool(value)

    @rx.event
    @require_session
    async def save_notes(self, form: dict[str, Any]) -> AsyncIterator[EventSpec | None]:
        text = str(form.get("notes") or "")

        async def call(row: BackupRow) -> Outcome:
            return await actions.set_notes(
                self._user_id, self._node_id, row.pve_node, row.volid, text
            )

        async for update in self._volume("notes", self.notes_volid, call):
            yield update
        self.notes_open = False

    @rx.event
    @require_session
    async def delete(self, volid: str) -> AsyncIterator[EventSpec | None]:
        async def call(row: BackupRow) -> Outcome:
            return await actions.delete_backup(
                self._user_id, self._node_id, row.pve_node, row.volid
            )

        async for update in self._volume("delete", volid, call):
            yield update
