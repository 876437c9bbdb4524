"""`/`: every container of every node of the signed-in user, with lifecycle and bulk actions.

Proxmox is the source of truth: the listing is fetched live (all nodes concurrently, one
request each) on load and every few seconds while the page is open. The full listing stays
in a backend var; only the visible page of rows and the summary are state the browser
sees, and they are reassigned only when they changed, so a quiet refresh sends almost
nothing. Rows show the IPv4 address when the app knows it; the containers of an
unreachable node are shown as last listed, greyed, with status "unknown" and no actions.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import reflex as rx
from pydantic import BaseModel

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
    SORTS,
    ListingQuery,
    has_next_page,
    listing_view,
    page_label,
)
from lxc_manager.pages.components.format import disk_text, human_bytes, human_uptime
from lxc_manager.pages.components.layout import empty_state, page_shell
from lxc_manager.pages.components.no_nodes import no_nodes_banner
from lxc_manager.provisioning.jobs import JobView, list_jobs
from lxc_manager.state.legacy_session import (
    NodeSummaryState,
    require_session,
    require_session_quiet,
)

ROUTE = "/"
TITLE = "Dashboard"
REFRESH_MS = 5000
FAILED_JOBS_SHOWN = timedelta(hours=24)
ACTION_LABELS = {
    "start": "Start",
    "shutdown": "Shut down",
    "stop": "Stop",
    "reboot": "Reboot",
    "delete": "Delete",
}


class Row(BaseModel):
    """What the page shows of a container that changes only with the container itself."""

    key: str
    node_id: int
    node_name: str
    pve_node: str
    vmid: int
    name: str
    status: str
    tags: list[str]
    ip: str
    last_known: bool
    ha: bool = False


class Load(BaseModel):
    """The numbers that move at every refresh of a running container: a var of their own,
    so a refresh resends them and not the rows."""

    cpu: str = "—"
    mem: str = "—"
    mem_pct: int = 0
    disk: str = "—"
    uptime: str = "—"


def to_row(ct: ContainerRow) -> Row:
    return Row(
        key=ct.key,
        node_id=ct.node_id,
        node_name=ct.node_name,
        pve_node=ct.pve_node,
        vmid=ct.vmid,
        name=ct.name or f"CT {ct.vmid}",
        status=ct.status,
        tags=list(ct.tags),
        ip=ct.ip,
        last_known=ct.last_known,
        ha=ct.ha,
    )


def to_load(ct: ContainerRow) -> Load:
    running = ct.status == "running"
    return Load(
        cpu=f"{ct.cpu * 100:.0f}%" if running else "—",
        mem=f"{human_bytes(ct.mem)} / {human_bytes(ct.maxmem)}" if ct.maxmem else "—",
        mem_pct=round(100 * ct.mem / ct.maxmem) if ct.maxmem else 0,
        disk=disk_text(ct.disk, ct.maxdisk, running),
        uptime=human_uptime(ct.uptime) if running else "—",
    )



class Summary(BaseModel):
    total: int = 0
    running: int = 0
    stopped: int = 0
    per_node: list[str] = []


class JobRow(BaseModel):
    """A container this app is creating, or failed to create (a provisioning job)."""

    id: str
    hostname: str
    vmid: int
    node_name: str
    template: str
    status: str
    step: str
    percent: int


def to_job_row(view: JobView) -> JobRow:
    return JobRow(
        id=view.id,
        hostname=view.hostname,
        vmid=view.vmid,
        node_name=view.node_name,
        template=view.template_name or "blank",
        status=view.status,
        step=view.step_name if view.step else "waiting for a worker",
        percent=view.percent,
    )


async def _fetch(user_id: str) -> tuple[Listing, list[JobView]]:
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


class DashboardState(NodeSummaryState):
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
    _all: list[ContainerRow] = []

    # ---- data -------------------------------------------------------------------------
    def _show(self, listing: Listing, views: list[JobView]) -> None:
        """Take a fetched listing (inside `async with self` in background handlers)."""
        job_rows = [to_job_row(view) for view in views]
        if job_rows != self.jobs:
            self.jobs = job_rows
        if listing.node_count != self.node_count:
            self.node_count = listing.node_count
        self._all = list(listing.containers)
        problems = [p.message for p in listing.problems]
        if problems != self.problems:
            self.problems = problems
        self._apply_view()
        if not self.loaded:
            self.loaded = True

    def _apply_view(self) -> None:
        """Recompute what the browser sees; assign only what changed (small deltas)."""
        cts = self._all
        query = ListingQuery(
            node=self.node_filter,
            status=self.status_filter,
            tag=self.tag_filter,
            search=self.search,
            sort=self.sort,
            page=self.page,
        )
        view = listing_view(cts, query)
        summary = Summary(
            total=view.total,
            running=view.running,
            stopped=view.stopped,
            per_node=[f"{name}: {count}" for name, count in view.per_node],
        )
        for name, value in (
            ("rows", [to_row(c) for c in view.shown]),
            ("loads", {c.key: to_load(c) for c in view.shown}),
            ("summary", summary),
            ("node_names", list(view.node_names)),
            ("tag_names", list(view.tag_names)),
            ("matching", view.matching),
            ("page", view.page),
        ):
            if getattr(self, name) != value:
                setattr(self, name, value)
        visible = {c.key for c in cts}
        if any(key not in visible for key in self.selected):
            self.selected = [key for key in self.selected if key in visible]

    @rx.event(background=True)
    @require_session
    async def load(self) -> None:
        async with self:
            user_id = self._user_id
        fetched = await _fetch(user_id)  # also counts the user's nodes (one query for both)
        async with self:
            self._show(*fetched)
            if not self.summary_loaded:
                self.summary_loaded = True

    @rx.event(background=True)
    @require_session_quiet
    async def refresh(self, _now: str = "") -> None:
        """The periodic tick while the page is open."""
        async with self:
            user_id, node_count = self._user_id, self.node_count
        if node_count:
            fetched = await _fetch(user_id)
            async with self:
                self._show(*fetched)

    # ---- filters ----------------------------------------------------------------------
    @rx.event
    @require_session
    def set_node_filter(self, value: str) -> None:
        self.node_filter, self.page = value, 0
        self._apply_view()

    @rx.event
    @require_session
    def set_status_filter(self, value: str) -> None:
        self.status_filter, self.page = value, 0
        self._apply_view()

    @rx.event
    @require_session
    def set_tag_filter(self, value: str) -> None:
        self.tag_filter, self.page = value, 0
        self._apply_view()

    @rx.event
    @require_session
    def set_search(self, value: str) -> None:
        self.search, self.page = value[:SEARCH_MAX], 0
        self._apply_view()

    @rx.event
    @require_session
    def set_sort(self, value: str) -> None:
        self.sort = value if value in SORTS else "name"
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

    # ---- selection --------------------------------------------------------------------
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

    # ---- actions ----------------------------------------------------------------------
    def _target(self, key: str) -> ContainerRow | None:
        """The live row to act on; never a last-known one (its node is unreachable)."""
        return next((c for c in self._all if c.key == key and not c.last_known), None)

    @rx.event(background=True)
    @require_session
    async def act(self, key: str, action: str):
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
            self.pending = {k: v for k, v in self.pending.items() if k != key}
            self.task_title, self.task_log = label, list(result.task_log)
            self._show(*fetched)
        yield (rx.toast.success if result.ok else rx.toast.error)(f"{label}: {result.message}")

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

    @rx.event
    @require_session
    def ask_delete(self, key: str) -> None:
        target = self._target(key)
        if target is not None:
            self.delete_key, self.delete_vmid, self.delete_running = (
                key,
                "",
                target.status == "running",
            )
            self.delete_ha = target.ha

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
    async def confirm_delete(self, form: dict[str, str]):
        async with self:
            key, target = self.delete_key, self._target(self.delete_key)
            if (
                target is None
                or form.get("vmid", "").strip() != str(target.vmid)
                or key in self.pending
            ):
                return
            self.delete_key = ""
            self.pending = {**self.pending, key: "delete"}
            user_id = self._user_id
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
        async with self:
            self.pending = {k: v for k, v in self.pending.items() if k != key}
            self.task_title, self.task_log = f"Delete CT {target.vmid}", list(result.task_log)
            self._show(*fetched)
        yield (rx.toast.success if result.ok else rx.toast.error)(
            f"Delete CT {target.vmid}: {result.message}"
        )

    @rx.event(background=True)
    @require_session
    async def bulk(self, action: str):
        async with self:
            if action not in ("start", "shutdown", "stop"):
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
            done = {t.key for t in targets}
            self.pending = {k: v for k, v in self.pending.items() if k not in done}
            self.bulk_results = [
                f"{'✓' if r.ok else '✗'} CT {vmid} ({pve_node}): {r.message}"
                for (_, pve_node, vmid), r in results
            ]
            self.selected = []
            self._show(*fetched)


# ---- components ----------------------------------------------------------------------------


def _status_badge(row: Row) -> rx.Component:
    return rx.cond(
        DashboardState.pending.contains(row.key),
        rx.badge(
            rx.spinner(size="1"),
            DashboardState.pending[row.key],
            color_scheme="amber",
            variant="soft",
        ),
        rx.match(
            row.status,
            ("running", rx.badge("running", color_scheme="green", variant="soft")),
            ("stopped", rx.badge("stopped", color_scheme="gray", variant="soft")),
            rx.cond(
                row.last_known,
                rx.tooltip(
                    rx.badge("unknown", color_scheme="gray", variant="outline"),
                    content="Last known: its node is unreachable",
                ),
                rx.badge(row.status, color_scheme="orange", variant="soft"),
            ),
        ),
    )


def _status_badges(row: Row) -> rx.Component:
    """The status, and "HA" for an HA resource (HA starts and stops it)."""
    return rx.hstack(
        _status_badge(row),
        rx.cond(
            row.ha,
            rx.tooltip(
                rx.badge("HA", color_scheme="purple", variant="outline", class_name="ct-ha"),
                content="Managed by HA: Proxmox HA starts and stops it",
            ),
        ),
        spacing="1",
        align="center",
    )


def _confirm_action(row: Row, action: str, color: str) -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(
            rx.button(
                ACTION_LABELS[action],
                size="1",
                variant="soft",
                color_scheme=color,
                disabled=DashboardState.pending.contains(row.key) | row.last_known,
            ),
        ),
        rx.alert_dialog.content(
            rx.alert_dialog.title(f"{ACTION_LABELS[action]} ", row.name, "?"),
            rx.alert_dialog.description(
                rx.text("CT ", row.vmid, " on ", row.pve_node, " (", row.node_name, ")."),
                *(
                    [
                        rx.text(
                            "Stop is immediate, like pulling the plug: unsaved data may be lost.",
                            color=rx.color("red", 11),
                        )
                    ]
                    if action == "stop"
                    else []
                ),
            ),
            *(
                [
                    rx.el.label(
                        rx.hstack(
                            rx.checkbox(
                                checked=DashboardState.force_shutdown,
                                on_change=DashboardState.set_force_shutdown,
                            ),
                            rx.text("Force a stop if it has not shut down after 60 s", size="2"),
                            spacing="2",
                            margin_top="0.75rem",
                        )
                    )
                ]
                if action == "shutdown"
                else []
            ),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(
                    rx.button(
                        ACTION_LABELS[action],
                        color_scheme=color,
                        on_click=DashboardState.act(row.key, action),
                    )
                ),
                justify="end",
                spacing="3",
                margin_top="1rem",
            ),
        ),
    )


def _actions(row: Row) -> rx.Component:
    return rx.hstack(
        rx.cond(
            row.status == "running",
            rx.fragment(
                _confirm_action(row, "shutdown", "indigo"),
                _confirm_action(row, "reboot", "indigo"),
                _confirm_action(row, "stop", "red"),
            ),
            _confirm_action(row, "start", "green"),
        ),
        rx.icon_button(
            rx.icon("trash-2", size=14),
            size="1",
            variant="soft",
            color_scheme="red",
            aria_label=f"Delete {row.vmid}",
            on_click=DashboardState.ask_delete(row.key),
            disabled=DashboardState.pending.contains(row.key) | row.last_known,
        ),
        spacing="1",
        justify="end",
        wrap="wrap",  # on a narrow table the buttons take two lines rather than clip the row
    )


def _ip(row: Row) -> rx.Component:
    return rx.text(
        rx.cond(row.ip != "", row.ip, "—"),
        size="1",
        font_family="monospace",
        custom_attrs={"data-testid": "ct-ip"},
    )


def _row(row: Row) -> rx.Component:
    load = DashboardState.loads[row.key]
    return rx.table.row(
        rx.table.cell(
            rx.checkbox(
                checked=DashboardState.selected.contains(row.key),
                on_change=DashboardState.toggle_selected(row.key),
                aria_label=f"Select {row.vmid}",
                disabled=row.last_known,
            )
        ),
        rx.table.cell(_status_badges(row)),
        rx.table.cell(rx.text(row.vmid, size="2", weight="medium")),
        rx.table.cell(
            rx.vstack(
                rx.link(
                    row.name, href=f"/containers/{row.node_id}/{row.vmid}", weight="bold", size="2"
                ),
                rx.flex(
                    rx.foreach(row.tags, lambda t: rx.badge(t, variant="outline", size="1")),
                    gap="1",
                    wrap="wrap",
                ),
                spacing="1",
            )
        ),
        rx.table.cell(
            rx.hstack(
                rx.badge(row.node_name, color_scheme="indigo"),
                rx.text(row.pve_node, size="1", color=rx.color("gray", 10)),
                spacing="1",
                align="center",
            )
        ),
        rx.table.cell(_ip(row)),
        rx.table.cell(rx.text(load.cpu, size="2")),
        rx.table.cell(
            rx.vstack(
                rx.text(load.mem, size="1"),
                rx.progress(value=load.mem_pct, size="1", width="6rem"),
                spacing="1",
            )
        ),
        rx.table.cell(rx.text(load.disk, size="1")),
        rx.table.cell(rx.text(load.uptime, size="2")),
        rx.table.cell(_actions(row)),
        align="center",
        opacity=rx.cond(row.last_known, "0.55", "1"),
        custom_attrs={"data-ct": row.vmid, "data-last-known": row.last_known},
    )


def _select(
    label: str, value: rx.Var, on_change: rx.event.EventHandler, *items: rx.Component
) -> rx.Component:
    return rx.select.root(
        rx.select.trigger(aria_label=label),
        rx.select.content(*items),
        value=value,
        on_change=on_change,
    )


def _card(row: Row) -> rx.Component:
    load = DashboardState.loads[row.key]
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.checkbox(
                    checked=DashboardState.selected.contains(row.key),
                    on_change=DashboardState.toggle_selected(row.key),
                    aria_label=f"Select {row.vmid}",
                    disabled=row.last_known,
                ),
                rx.link(
                    row.name, href=f"/containers/{row.node_id}/{row.vmid}", weight="bold", size="3"
                ),
                rx.spacer(),
                _status_badges(row),
                width="100%",
                align="center",
            ),
            rx.hstack(
                rx.text("CT ", row.vmid, size="1", color=rx.color("gray", 11)),
                rx.badge(row.node_name, color_scheme="indigo"),
                rx.text(row.pve_node, size="1", color=rx.color("gray", 10)),
                spacing="2",
                align="center",
            ),
            rx.grid(
                rx.text("CPU", size="1", color=rx.color("gray", 10)),
                rx.text(load.cpu, size="2"),
                rx.text("Memory", size="1", color=rx.color("gray", 10)),
                rx.vstack(
                    rx.text(load.mem, size="1"),
                    rx.progress(value=load.mem_pct, size="1"),
                    spacing="1",
                    width="100%",
                ),
                rx.text("Disk", size="1", color=rx.color("gray", 10)),
                rx.text(load.disk, size="1"),
                rx.text("IP", size="1", color=rx.color("gray", 10)),
                _ip(row),
                rx.text("Uptime", size="1", color=rx.color("gray", 10)),
                rx.text(load.uptime, size="2"),
                columns="5rem 1fr",
                gap="1",
                width="100%",
                align_items="center",
            ),
            rx.flex(
                rx.foreach(row.tags, lambda t: rx.badge(t, variant="outline", size="1")),
                gap="1",
                wrap="wrap",
            ),
            _actions(row),
            spacing="2",
            width="100%",
        ),
        opacity=rx.cond(row.last_known, "0.55", "1"),
        custom_attrs={"data-ct": row.vmid, "data-last-known": row.last_known},
    )


def _cards() -> rx.Component:
    return rx.grid(
        rx.foreach(DashboardState.rows, _card),
        columns=rx.breakpoints(initial="1", sm="2", lg="3", xl="4"),
        gap="3",
        width="100%",
        id="containers-cards",
    )


def _filters() -> rx.Component:
    return rx.flex(
        rx.input(
            rx.input.slot(rx.icon("search", size=14)),
            placeholder="Search name, VMID, IP or tag",
            value=DashboardState.search,
            on_change=DashboardState.set_search.debounce(250),
            width="16rem",
            aria_label="Search containers",
        ),
        _select(
            "Filter by node",
            DashboardState.node_filter,
            DashboardState.set_node_filter,
            rx.select.item("All nodes", value=ALL),
            rx.foreach(DashboardState.node_names, lambda n: rx.select.item(n, value=n)),
        ),
        _select(
            "Filter by status",
            DashboardState.status_filter,
            DashboardState.set_status_filter,
            rx.select.item("Any status", value=ALL),
            rx.select.item("Running", value="running"),
            rx.select.item("Stopped", value="stopped"),
            rx.select.item("Unknown", value="unknown"),
        ),
        _select(
            "Filter by tag",
            DashboardState.tag_filter,
            DashboardState.set_tag_filter,
            rx.select.item("Any tag", value=ALL),
            rx.foreach(DashboardState.tag_names, lambda t: rx.select.item(t, value=t)),
        ),
        _select(
            "Sort by",
            DashboardState.sort,
            DashboardState.set_sort,
            *[rx.select.item(f"Sort: {label}", value=value) for value, label in SORTS.items()],
        ),
        gap="2",
        wrap="wrap",
        align="center",
    )


def _summary() -> rx.Component:
    return rx.hstack(
        rx.badge(
            DashboardState.summary.total,
            " containers",
            size="2",
            variant="surface",
            id="summary-total",
        ),
        rx.badge(
            DashboardState.summary.running,
            " running",
            color_scheme="green",
            size="2",
            variant="soft",
        ),
        rx.badge(
            DashboardState.summary.stopped,
            " stopped",
            color_scheme="gray",
            size="2",
            variant="soft",
        ),
        rx.foreach(
            DashboardState.summary.per_node,
            lambda n: rx.badge(n, color_scheme="indigo", variant="outline"),
        ),
        rx.foreach(
            DashboardState.problems,
            lambda p: rx.badge(
                rx.icon("triangle-alert", size=12),
                p,
                color_scheme="red",
                variant="soft",
                custom_attrs={"data-testid": "node-problem"},
            ),
        ),
        spacing="2",
        wrap="wrap",
    )


def _bulk_bar() -> rx.Component:
    return rx.cond(
        DashboardState.selected.length() > 0,
        rx.hstack(
            rx.text(DashboardState.selected.length(), " selected", size="2", weight="medium"),
            rx.button(
                "Start",
                size="1",
                color_scheme="green",
                variant="soft",
                on_click=DashboardState.bulk("start"),
            ),
            rx.button(
                "Shut down", size="1", variant="soft", on_click=DashboardState.bulk("shutdown")
            ),
            rx.button(
                "Stop",
                size="1",
                color_scheme="red",
                variant="soft",
                on_click=DashboardState.bulk("stop"),
            ),
            rx.button(
                "Clear",
                size="1",
                variant="ghost",
                color_scheme="gray",
                on_click=DashboardState.clear_selection,
            ),
            spacing="2",
            align="center",
            padding="0.5rem 0.75rem",
            border_radius="var(--radius-3)",
            background=rx.color("accent", 3),
            id="bulk-bar",
        ),
    )


def _task_log() -> rx.Component:
    return rx.fragment(
        rx.cond(
            DashboardState.task_log.length() > 0,
            rx.button(
                rx.icon("scroll-text", size=14),
                "Task log: ",
                DashboardState.task_title,
                size="1",
                variant="ghost",
                on_click=DashboardState.set_task_log_open(True),
                id="show-task-log",
            ),
        ),
        rx.dialog.root(
            rx.dialog.content(
                rx.dialog.title("Task log: ", DashboardState.task_title),
                rx.box(
                    rx.foreach(
                        DashboardState.task_log,
                        lambda line: rx.text(
                            line, font_family="monospace", size="1", white_space="pre-wrap"
                        ),
                    ),
                    max_height="24rem",
                    overflow_y="auto",
                    padding="0.75rem",
                    background=rx.color("gray", 2),
                    border_radius="var(--radius-3)",
                    id="task-log",
                ),
                rx.hstack(
                    rx.dialog.close(rx.button("Close", variant="soft")),
                    justify="end",
                    margin_top="1rem",
                ),
                max_width="44rem",
            ),
            open=DashboardState.task_log_open,
            on_open_change=DashboardState.set_task_log_open,
        ),
    )


def _bulk_results() -> rx.Component:
    return rx.cond(
        DashboardState.bulk_results.length() > 0,
        rx.callout.root(
            rx.callout.icon(rx.icon("list-checks")),
            rx.vstack(
                rx.foreach(DashboardState.bulk_results, lambda line: rx.text(line, size="2")),
                spacing="1",
            ),
            id="bulk-results",
            width="100%",
        ),
    )


def _delete_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Delete container ", DashboardState.delete_target_vmid, "?"),
            rx.dialog.description(
                "This destroys the container and its disks on Proxmox. It cannot be undone.",
                size="2",
            ),
            rx.cond(
                DashboardState.delete_ha,
                rx.callout(
                    "This container is managed by HA: it is deleted with purge, which also "
                    "removes it from the HA resources (Proxmox refuses it otherwise).",
                    icon="info",
                    color_scheme="purple",
                    size="1",
                    id="delete-ha-note",
                    margin_top="2",
                ),
            ),
            rx.form(
                rx.vstack(
                    rx.el.label(
                        rx.text(
                            "Type the VMID ",
                            rx.code(DashboardState.delete_target_vmid),
                            " to confirm",
                            size="2",
                        ),
                        html_for="delete-vmid",
                    ),
                    rx.input(
                        name="vmid",
                        id="delete-vmid",
                        value=DashboardState.delete_vmid,
                        on_change=DashboardState.set_delete_vmid,
                        auto_complete="off",
                    ),
                    rx.el.label(
                        rx.hstack(
                            rx.checkbox(name="purge"),
                            rx.text("Purge from backup jobs, replication and HA", size="2"),
                            spacing="2",
                        )
                    ),
                    rx.el.label(
                        rx.hstack(
                            rx.checkbox(name="destroy_disks"),
                            rx.text("Destroy unreferenced disks", size="2"),
                            spacing="2",
                        )
                    ),
                    rx.cond(
                        DashboardState.delete_running,
                        rx.el.label(
                            rx.hstack(
                                rx.checkbox(name="stop_first", id="stop-first"),
                                rx.text(
                                    "The container is running: stop it first",
                                    size="2",
                                    color=rx.color("red", 11),
                                ),
                                spacing="2",
                            )
                        ),
                    ),
                    rx.hstack(
                        rx.button(
                            "Cancel",
                            type="button",
                            variant="soft",
                            color_scheme="gray",
                            on_click=DashboardState.cancel_delete,
                        ),
                        rx.button(
                            "Delete",
                            type="submit",
                            color_scheme="red",
                            disabled=DashboardState.delete_vmid
                            != DashboardState.delete_target_vmid,
                            id="confirm-delete",
                        ),
                        justify="end",
                        spacing="3",
                        width="100%",
                    ),
                    spacing="3",
                ),
                on_submit=DashboardState.confirm_delete,
            ),
            max_width="30rem",
        ),
        open=DashboardState.delete_key != "",
        on_open_change=lambda _open: DashboardState.cancel_delete(),
    )


def _pager() -> rx.Component:
    return rx.hstack(
        rx.text(DashboardState.page_label, size="2", color=rx.color("gray", 11)),
        rx.spacer(),
        rx.button(
            "Previous",
            size="1",
            variant="soft",
            on_click=DashboardState.previous_page,
            disabled=DashboardState.page == 0,
        ),
        rx.button(
            "Next",
            size="1",
            variant="soft",
            on_click=DashboardState.next_page,
            disabled=~DashboardState.has_next_page,
        ),
        width="100%",
        align="center",
    )


def _table() -> rx.Component:
    headers = ("", "Status", "VMID", "Name", "Node", "IP", "CPU", "Memory", "Disk", "Uptime", "")
    return rx.table.root(
        rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in headers])),
        rx.table.body(rx.foreach(DashboardState.rows, _row)),
        variant="surface",
        size="1",
        width="100%",
        id="containers-table",
    )


def _job_card(job: JobRow) -> rx.Component:
    failed = job.status == "failed"
    return rx.link(
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.cond(
                        failed,
                        rx.icon("circle-x", size=16, color=rx.color("red", 10)),
                        rx.spinner(size="1"),
                    ),
                    rx.text(job.hostname, weight="bold", size="2"),
                    rx.badge(job.vmid, variant="soft", size="1"),
                    rx.spacer(),
                    rx.badge(job.status, color_scheme=rx.cond(failed, "red", "blue"), size="1"),
                    width="100%",
                    align="center",
                    spacing="2",
                ),
                rx.progress(
                    value=job.percent,
                    max=100,
                    color_scheme=rx.cond(failed, "red", "indigo"),
                    size="1",
                ),
                rx.text(
                    job.node_name,
                    " · ",
                    job.template,
                    " · ",
                    job.step,
                    size="1",
                    color=rx.color("gray", 11),
                ),
                spacing="2",
                width="100%",
            ),
            width="100%",
        ),
        href="/containers/jobs/" + job.id,
        underline="none",
        color="inherit",
        custom_attrs={"data-job": job.hostname, "data-status": job.status},
    )


def _jobs() -> rx.Component:
    return rx.cond(
        DashboardState.jobs.length() > 0,
        rx.vstack(
            rx.text("Creating, or failed to create", weight="bold", size="2"),
            rx.grid(
                rx.foreach(DashboardState.jobs, _job_card),
                columns=rx.breakpoints(initial="1", sm="2", lg="3"),
                spacing="3",
                width="100%",
            ),
            width="100%",
            spacing="2",
            id="provisioning-jobs",
        ),
    )


def _listing() -> rx.Component:
    return rx.vstack(
        rx.cond(DashboardState.view == "cards", _cards(), _table()),
        _pager(),
        width="100%",
        spacing="2",
    )


def page() -> rx.Component:
    return page_shell(
        "Containers",
        rx.vstack(
            no_nodes_banner(NodeSummaryState.summary_loaded, NodeSummaryState.has_nodes),
            rx.cond(
                DashboardState.summary_loaded & DashboardState.has_nodes,
                rx.vstack(
                    rx.moment(
                        interval=REFRESH_MS, on_change=DashboardState.refresh, display="none"
                    ),
                    _summary(),
                    rx.hstack(
                        _filters(),
                        rx.spacer(),
                        rx.segmented_control.root(
                            rx.segmented_control.item(
                                rx.icon("rows-3", size=14), value="rows", aria_label="Rows"
                            ),
                            rx.segmented_control.item(
                                rx.icon("layout-grid", size=14), value="cards", aria_label="Cards"
                            ),
                            value=DashboardState.view,
                            on_change=DashboardState.set_view,
                            aria_label="View",
                            size="1",
                        ),
                        rx.link(
                            rx.button(rx.icon("plus", size=16), "New container", size="2"),
                            href="/containers/new",
                        ),
                        width="100%",
                        align="center",
                        wrap="wrap",
                    ),
                    _jobs(),
                    _bulk_bar(),
                    _bulk_results(),
                    _task_log(),
                    rx.cond(
                        DashboardState.loaded,
                        rx.cond(
                            DashboardState.summary.total > 0,
                            _listing(),
                            empty_state(
                                "boxes",
                                "No containers yet",
                                "Your nodes have no LXC containers. Create one from a template.",
                                rx.link(
                                    rx.button("Create a container", size="2"),
                                    href="/containers/new",
                                ),
                            ),
                        ),
                        rx.center(rx.spinner(), padding="3rem", width="100%"),
                    ),
                    _delete_dialog(),
                    spacing="3",
                    width="100%",
                ),
                rx.cond(
                    DashboardState.summary_loaded,
                    empty_state(
                        "boxes",
                        "Your containers will appear here",
                        "Every container of every node you add shows up here, with its status and live "
                        "metrics. Start by adding a Proxmox node with an API token.",
                        rx.link(
                            rx.button(rx.icon("plus", size=16), "Add a node", size="2"),
                            href="/settings/nodes",
                        ),
                    ),
                ),
            ),
            spacing="4",
            width="100%",
        ),
    )


ON_LOAD = DashboardState.load
