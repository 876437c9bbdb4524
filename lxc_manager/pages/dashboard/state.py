"""`DashboardState`: the listing of every node, its view, and the lifecycle actions.

Proxmox is the source of truth: the listing is fetched live (all nodes concurrently, one
request each) on load and every few seconds while the page is open, always outside
`async with self`, so a slow node never holds the tab's state lock. The full listing stays
in a backend var; only the visible page of rows and the summary are state the browser
sees, and they are reassigned only when they changed, so a quiet refresh sends almost
nothing. What the page is (filter, sort, page) is computed by `containers.view`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import reflex as rx
from reflex.event import EventSpec

from lxc_manager import routes
from lxc_manager.backups.actions import BackupOptions, delete_container_after_backup
from lxc_manager.backups.cluster_backups import ClusterBackups, newest_of, read_backups
from lxc_manager.backups.selection import DAYS_DEFAULT, DAYS_MAX, parse_days
from lxc_manager.containers import (
    ACTIONS,
    ContainerRow,
    Listing,
    bulk_action,
    delete_container,
    list_containers,
    run_action,
)
from lxc_manager.containers.view import (
    ALL,
    SEARCH_MAX,
    ListingQuery,
    actionable,
    chosen_sort,
    has_next_page,
    listing_view,
    page_label,
    still_listed,
)
from lxc_manager.pages.components.backup_age import BackupCell
from lxc_manager.pages.components.no_nodes import NodeSummaryMixin
from lxc_manager.pages.dashboard.rows import (
    ACTION_LABELS,
    BULK_ACTIONS,
    JobRow,
    Load,
    Row,
    Summary,
    backup_keep,
    bulk_result_line,
    pack_rows,
    to_backup_cell,
    to_job_row,
    to_load,
    to_row,
    to_summary,
    unpack_rows,
)
from lxc_manager.provisioning.jobs import JobView, list_jobs
from lxc_manager.state.assign import assign
from lxc_manager.state.guard import (
    GuardedState,
    require_session,
    require_session_on_load,
    require_session_quiet,
)

FAILED_JOBS_SHOWN = timedelta(hours=24)
BACKUPS_EVERY = 60.0  # seconds between two reads of the backup storages while the page is open
OLDER = "older"  # the backup filter's value for "no backup in N days"
DAYS_ERROR = f"A whole number of days, 1 to {DAYS_MAX}"

Fetched = tuple[Listing, list[JobView]]


async def _fetch(user_id: str) -> Fetched:
    """Every node's containers and the user's recent jobs, side by side. It reaches every
    node, so handlers call it outside `async with self`: the tab's state stays free."""
    listing, views = await asyncio.gather(
        list_containers(user_id),
        list_jobs(
            user_id,
            active_or_failed_only=True,
            failed_since=datetime.now(UTC) - FAILED_JOBS_SHOWN,
        ),
    )
    return listing, views


def _toast(ok: bool, text: str) -> EventSpec:
    toast: EventSpec = (rx.toast.success if ok else rx.toast.error)(text)
    return toast


def _filter_setter(field: str) -> Any:
    """The guarded handler `set_<field>` (a filter select's on_change): sets the filter,
    goes back to the first page and applies the view."""

    def handler(self: DashboardState, value: str) -> None:
        self._filter(field, value)

    handler.__name__ = f"set_{field}"
    handler.__qualname__ = f"DashboardState.set_{field}"  # Reflex names the event by it
    # Any: rx.event's overloads type only handlers written as methods of a State.
    return rx.event(require_session(handler))


class DashboardState(GuardedState, NodeSummaryMixin, rx.State):
    rows: list[Row] = []
    jobs: list[JobRow] = []
    loads: dict[str, Load] = {}  # by row key, for the rows shown
    summary: Summary = Summary()
    problems: list[str] = []
    node_names: list[str] = []
    tag_names: list[str] = []
    matching: int = 0
    loaded: bool = False
    # filters
    node_filter: str = ALL
    status_filter: str = ALL
    tag_filter: str = ALL
    backup_filter: str = ALL  # ALL | OLDER
    backup_days: str = str(DAYS_DEFAULT)  # as typed
    backup_days_n: int = DAYS_DEFAULT  # as applied (the last good number typed)
    backup_days_error: str = ""
    search: str = ""
    sort: str = "name"
    page: int = 0
    # actions
    pending: dict[str, str] = {}
    selected: list[str] = []
    bulk_results: list[str] = []
    delete_key: str = ""
    delete_vmid: str = ""
    delete_running: bool = False
    delete_ha: bool = False
    force_shutdown: bool = False
    view: str = "rows"  # rows | cards
    task_title: str = ""
    task_log: list[str] = []
    task_log_open: bool = False
    _packed: bytes = b""  # every listed container, packed small (rows.pack_rows)
    # last backups: the cells of the rows shown, and what they come from
    backups: dict[str, BackupCell] = {}
    backup_problems: list[str] = []
    _newest: dict[int, dict[int, int]] = {}  # node id -> (VMID -> newest backup ctime)
    _backups_at: float = 0.0  # when the last read of the backups started (monotonic)
    _backups_read: bool = False  # a read has ended (before: the cells say "reading")

    # ---- data -------------------------------------------------------------------------
    def _show(self, listing: Listing, views: list[JobView]) -> None:
        """Take a fetched listing (inside `async with self` in background handlers)."""
        listed = list(listing.containers)
        self._packed = pack_rows(listed)
        assign(
            self,
            jobs=[to_job_row(view) for view in views],
            node_count=listing.node_count,
            problems=[p.message for p in listing.problems],
        )
        self._apply_view(listed)
        assign(self, loaded=True)

    def _apply_view(self, listed: list[ContainerRow] | None = None) -> None:
        """Recompute what the browser sees from `listed` (default: the kept listing);
        assign only what changed (small deltas)."""
        query = ListingQuery(
            node=self.node_filter,
            status=self.status_filter,
            tag=self.tag_filter,
            search=self.search,
            sort=self.sort,
            page=self.page,
        )
        if listed is None:
            listed = unpack_rows(self._packed)
        now = time.time()
        keep = (
            backup_keep(self._newest, self.backup_days_n, now)
            if self.backup_filter == OLDER
            else None
        )
        view = listing_view(listed, query, keep=keep)
        assign(
            self,
            rows=[to_row(c) for c in view.shown],
            loads={c.key: to_load(c) for c in view.shown},
            backups={
                c.key: to_backup_cell(self._newest, c, now, self._backups_read) for c in view.shown
            },
            summary=to_summary(view),
            node_names=list(view.node_names),
            tag_names=list(view.tag_names),
            matching=view.matching,
            page=view.page,
            selected=still_listed(self.selected, listed),
        )

    def _done(self, keys: set[str], fetched: Fetched) -> None:
        """After an action: its rows are no longer pending; show the new listing."""
        self.pending = {k: v for k, v in self.pending.items() if k not in keys}
        self._show(*fetched)

    def _take_backups(self, clusters: list[ClusterBackups]) -> None:
        self._newest, self._backups_read = newest_of(clusters), True
        assign(self, backup_problems=[p for c in clusters for p in c.problems if c.reached])
        self._apply_view()

    @rx.event(background=True)
    @require_session_on_load
    async def load(self) -> None:
        async with self:
            user_id = self._user_id
            self._backups_at = time.monotonic()
        # The backups take longer to read (every backup storage): side by side with the
        # listing, shown when they come, never holding the listing back.
        backups = asyncio.ensure_future(read_backups(user_id))
        try:
            fetched = await _fetch(user_id)  # also counts the user's nodes (one query for both)
            async with self:
                self._show(*fetched)
                assign(self, summary_loaded=True)
        finally:
            clusters = await backups
        async with self:
            self._take_backups(clusters)

    @rx.event(background=True)
    @require_session_quiet
    async def refresh(self, _now: str = "") -> None:
        """The periodic tick while the page is open."""
        # The guard has just checked the session inside `async with self`: what it
        # loaded is current, so no second load of the tab's state to read two values.
        user_id, node_count = self._user_id, self.node_count
        if not node_count:
            return
        backups = None
        if time.monotonic() - self._backups_at > BACKUPS_EVERY:
            async with self:
                self._backups_at = time.monotonic()
            backups = asyncio.ensure_future(read_backups(user_id))
        try:
            fetched = await _fetch(user_id)
            async with self:
                self._show(*fetched)
        finally:
            clusters = await backups if backups is not None else None
        if clusters is not None:
            async with self:
                self._take_backups(clusters)

    # ---- filters ----------------------------------------------------------------------
    def _filter(self, name: str, value: str) -> None:
        setattr(self, name, value)
        self.page = 0
        self._apply_view()

    set_node_filter = _filter_setter("node_filter")
    set_status_filter = _filter_setter("status_filter")
    set_tag_filter = _filter_setter("tag_filter")

    @rx.event
    @require_session
    def set_backup_filter(self, value: str) -> None:
        self._filter("backup_filter", OLDER if value == OLDER else ALL)

    @rx.event
    @require_session
    def set_backup_days(self, value: str) -> None:
        """The N of "no backup in N days": a bad number is said and changes nothing."""
        self.backup_days = value[:8]
        days = parse_days(value)
        if days is None:
            self.backup_days_error = DAYS_ERROR
            return
        self.backup_days_error, self.backup_days_n = "", days
        if self.backup_filter == OLDER:
            self.page = 0
            self._apply_view()

    @rx.var
    def backup_filter_label(self) -> str:
        return f"No backup in {self.backup_days_n} day{'s' if self.backup_days_n != 1 else ''}"

    @rx.event
    @require_session
    def set_search(self, value: str) -> None:
        self._filter("search", value[:SEARCH_MAX])

    @rx.event
    @require_session
    def set_sort(self, value: str) -> None:
        self.sort = chosen_sort(value)
        self._apply_view()

    @rx.event
    @require_session
    def next_page(self) -> None:
        self.page += 1
        self._apply_view()

    @rx.event
    @require_session
    def previous_page(self) -> None:
        self.page = max(0, self.page - 1)
        self._apply_view()

    @rx.var
    def page_label(self) -> str:
        return page_label(self.matching, self.page)

    @rx.var
    def has_next_page(self) -> bool:
        return has_next_page(self.matching, self.page)

    # ---- selection and display --------------------------------------------------------
    @rx.event
    @require_session
    def toggle_selected(self, key: str) -> None:
        self.selected = (
            [k for k in self.selected if k != key]
            if key in self.selected
            else [*self.selected, key]
        )

    @rx.event
    @require_session
    def clear_selection(self) -> None:
        self.selected, self.bulk_results = [], []

    @rx.event
    @require_session
    def set_view(self, value: str | list[str]) -> None:
        value = value[0] if isinstance(value, list) and value else value
        self.view = "cards" if value == "cards" else "rows"

    @rx.event
    @require_session
    def set_force_shutdown(self, value: bool) -> None:
        self.force_shutdown = bool(value)

    @rx.event
    @require_session
    def set_task_log_open(self, value: bool) -> None:
        self.task_log_open = bool(value)

    # ---- actions ----------------------------------------------------------------------
    def _target(self, key: str) -> ContainerRow | None:
        return actionable(unpack_rows(self._packed), key)

    @rx.event(background=True)
    @require_session
    async def act(self, key: str, action: str) -> AsyncIterator[EventSpec]:
        """Run one lifecycle action as a Proxmox task, followed to the end."""
        async with self:
            target = self._target(key)
            if target is None or action not in ACTIONS or key in self.pending:
                return
            self.pending = {**self.pending, key: action}
            user_id = self._user_id
            force, self.force_shutdown = self.force_shutdown and action == "shutdown", False
        result = await run_action(
            user_id, target.node_id, target.pve_node, target.vmid, action, force=force
        )
        label = f"{ACTION_LABELS[action]} {target.name or target.vmid}"
        fetched = await _fetch(user_id)
        async with self:
            self.task_title, self.task_log = label, list(result.task_log)
            self._done({key}, fetched)
        yield _toast(result.ok, f"{label}: {result.message}")

    @rx.event
    @require_session
    def ask_delete(self, key: str) -> None:
        target = self._target(key)
        if target is not None:
            self.delete_key, self.delete_vmid = key, ""
            self.delete_running, self.delete_ha = target.status == "running", target.ha

    @rx.event
    def cancel_delete(self) -> None:
        self.delete_key = ""

    @rx.event
    @require_session
    def set_delete_vmid(self, value: str) -> None:
        self.delete_vmid = value.strip()

    @rx.var
    def delete_target_vmid(self) -> str:
        return self.delete_key.split(":", 1)[1] if ":" in self.delete_key else ""

    @rx.event(background=True)
    @require_session
    async def confirm_delete(self, form: dict[str, str]) -> AsyncIterator[EventSpec]:
        async with self:
            key, target = self.delete_key, self._target(self.delete_key)
            if (
                target is None
                or form.get("vmid", "").strip() != str(target.vmid)
                or key in self.pending
            ):
                return
            self.delete_key = ""
            user_id = self._user_id
            if form.get("backup_first") != "on":
                self.pending = {**self.pending, key: "delete"}
        if form.get("backup_first") == "on":
            outcome = await delete_container_after_backup(
                user_id,
                target.node_id,
                target.pve_node,
                target.vmid,
                BackupOptions(storage=""),
                stop_first=form.get("stop_first") == "on",
            )
            if outcome.ok and outcome.job_id:
                yield rx.redirect(routes.job(outcome.job_id))
            else:
                yield _toast(False, f"Delete CT {target.vmid}: {outcome.message}")
            return
        result = await delete_container(
            user_id,
            target.node_id,
            target.pve_node,
            target.vmid,
            purge=form.get("purge") == "on",
            destroy_unreferenced_disks=form.get("destroy_disks") == "on",
            stop_first=form.get("stop_first") == "on",
        )
        fetched = await _fetch(user_id)
        label = f"Delete CT {target.vmid}"
        async with self:
            self.task_title, self.task_log = label, list(result.task_log)
            self._done({key}, fetched)
        yield _toast(result.ok, f"{label}: {result.message}")

    @rx.event(background=True)
    @require_session
    async def bulk(self, action: str) -> None:
        async with self:
            if action not in BULK_ACTIONS:
                return
            targets = [
                t
                for t in (self._target(k) for k in self.selected)
                if t is not None and t.key not in self.pending
            ]
            self.pending = {**self.pending, **{t.key: action for t in targets}}
            self.bulk_results = []
            user_id = self._user_id
        results = await bulk_action(
            user_id, [(t.node_id, t.pve_node, t.vmid) for t in targets], action
        )
        fetched = await _fetch(user_id)
        async with self:
            self.bulk_results = [
                bulk_result_line(pve_node, vmid, r.ok, r.message)
                for (_, pve_node, vmid), r in results
            ]
            self.selected = []
            self._done({t.key for t in targets}, fetched)
