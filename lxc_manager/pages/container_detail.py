"""`/containers/{node_id}/{vmid}`: one container — overview, live metrics, history, snapshots.

`node_id` is the user's node (endpoint) the container is reached through; the Proxmox node
that hosts it is looked up on load. Every event re-checks the session and goes through the
user's own node, so another user's node id is simply "not found".
"""

from __future__ import annotations

import time

import reflex as rx
from pydantic import BaseModel

from lxc_manager.containers import detail
from lxc_manager.containers.locate import locate
from lxc_manager.nodes import NodeNotFound
from lxc_manager.nodes import service as node_service
from lxc_manager.pages.components.layout import empty_state, page_shell
from lxc_manager.pages.dashboard import human_bytes, human_uptime
from lxc_manager.proxmox import ProxmoxError
from lxc_manager.state.session import SessionState, require_session

ROUTE = "/containers/[ct_node]/[ct_vmid]"
TITLE = "Container"
METRICS_MS = 2000
TIMEFRAMES = ("hour", "day", "week")


class Fact(BaseModel):
    label: str
    value: str


class MetricsView(BaseModel):
    cpu: str = "—"
    memory: str = "—"
    mem_pct: int = 0
    net: str = "—"
    disk_io: str = "—"
    uptime: str = "—"


class SnapshotRow(BaseModel):
    name: str
    description: str
    created: str


class ContainerDetailState(SessionState):
    loaded: bool = False
    problem: str = ""
    title: str = ""
    status: str = ""
    pve_node: str = ""
    node_name: str = ""
    facts: list[Fact] = []
    metrics: MetricsView = MetricsView()
    timeframe: str = "hour"
    history: list[dict[str, str | float]] = []  # chart points: label, cpu, memory, netin, netout
    snapshots: list[SnapshotRow] = []
    busy: str = ""
    _node_id: int = 0
    _vmid: int = 0
    _last_counters: tuple[float, int, int, int, int] = (0.0, 0, 0, 0, 0)

    def _route_ids(self) -> tuple[int, int] | None:
        """(node_id, vmid) from the path /containers/{node_id}/{vmid}."""
        parts = [p for p in self.router.url.path.split("/") if p]
        if (
            len(parts) != 3
            or parts[0] != "containers"
            or not parts[1].isdigit()
            or not parts[2].isdigit()
        ):
            return None
        return int(parts[1]), int(parts[2])

    def _where(self) -> tuple[str, int, str, int]:
        return self._user_id, self._node_id, self.pve_node, self._vmid

    @rx.event
    @require_session
    async def load(self) -> None:
        self.loaded, self.problem, self.history, self.snapshots = False, "", [], []
        ids = self._route_ids()
        if ids is None:
            self.problem, self.loaded = "Container not found", True
            return
        self._node_id, self._vmid = ids
        try:
            self.node_name = node_service.get_node(self._user_id, self._node_id).name
            found = await locate(self._user_id, self._node_id, self._vmid)
            if found is None:
                self.problem = "Container not found"
                return
            self.pve_node, self.title = found
            await self._load_overview()
            await self._load_metrics()
            await self._load_history()
            await self._load_snapshots()
        except NodeNotFound:
            self.problem = "Container not found"
        except ProxmoxError as exc:
            self.problem = exc.user_message
        finally:
            self.loaded = True

    async def _load_overview(self) -> None:
        o = await detail.get_overview(*self._where())
        self.title, self.status = o.name or f"CT {o.vmid}", o.status
        self.facts = [
            Fact(label=label, value=value)
            for label, value in (
                ("VMID", str(o.vmid)),
                ("Node", f"{o.pve_node} (via {self.node_name})"),
                ("OS", o.os or "—"),
                ("IP address", o.ip or "unknown"),
                ("Cores", str(o.cores)),
                ("Memory", f"{o.memory_mb} MiB"),
                ("Swap", f"{o.swap_mb} MiB"),
                ("Root disk", o.rootfs or "—"),
                ("Network", "; ".join(o.networks) or "—"),
                ("Features", o.features or "—"),
                ("Tags", ", ".join(o.tags) or "—"),
                ("Start at boot", "yes" if o.onboot else "no"),
                ("Unprivileged", "yes" if o.unprivileged else "no"),
            )
        ]

    async def _load_metrics(self) -> None:
        m = await detail.get_metrics(*self._where())
        now = time.monotonic()
        then, netin, netout, dread, dwrite = self._last_counters
        elapsed = now - then if then else 0.0

        def rate(current: int, previous: int) -> str:
            if not elapsed or current < previous:
                return "—"
            return f"{human_bytes(int((current - previous) / elapsed))}/s"

        self.status = m.status
        self.metrics = MetricsView(
            cpu=f"{m.cpu_pct:.1f}%" if m.status == "running" else "—",
            memory=f"{human_bytes(m.mem)} / {human_bytes(m.maxmem)}" if m.maxmem else "—",
            mem_pct=round(100 * m.mem / m.maxmem) if m.maxmem else 0,
            net=f"in {rate(m.netin, netin)} · out {rate(m.netout, netout)}",
            disk_io=f"read {rate(m.diskread, dread)} · write {rate(m.diskwrite, dwrite)}",
            uptime=human_uptime(m.uptime) if m.status == "running" else "—",
        )
        self._last_counters = (now, m.netin, m.netout, m.diskread, m.diskwrite)

    async def _load_history(self) -> None:
        points = await detail.get_history(*self._where(), timeframe=self.timeframe)
        fmt = (
            "%H:%M"
            if self.timeframe == "hour"
            else "%a %H:%M"
            if self.timeframe == "day"
            else "%d %b"
        )
        self.history = [
            {
                "label": time.strftime(fmt, time.localtime(p.time)),
                "cpu": round(p.cpu_pct, 1),
                "memory": round(p.mem_mb, 1),
                "netin": round(p.netin_kbs, 1),
                "netout": round(p.netout_kbs, 1),
            }
            for p in points
        ]

    async def _load_snapshots(self) -> None:
        self.snapshots = [
            SnapshotRow(
                name=s.name,
                description=s.description,
                created=time.strftime("%Y-%m-%d %H:%M", time.localtime(s.created))
                if s.created
                else "—",
            )
            for s in await detail.list_snapshots(*self._where())
        ]

    @rx.event
    @require_session
    async def tick(self, _now: str = "") -> None:
        """Live metrics while the page is open (the client stops ticking when it leaves)."""
        if self.loaded and not self.problem and self._vmid:
            try:
                await self._load_metrics()
            except (ProxmoxError, NodeNotFound):
                self.metrics = MetricsView()

    @rx.event
    @require_session
    async def set_timeframe(self, value: str | list[str]) -> None:
        value = value[0] if isinstance(value, list) and value else value
        if isinstance(value, str) and value in TIMEFRAMES and self._vmid:
            self.timeframe = value
            await self._load_history()

    @rx.event
    @require_session
    async def snapshot(self, form: dict[str, str]):
        if self.busy or not self._vmid:
            return
        self.busy = "snapshot"
        yield
        try:
            result = await detail.create_snapshot(
                *self._where(), form.get("name", "").strip(), form.get("description", "").strip()
            )
            await self._load_snapshots()
        finally:
            self.busy = ""
        yield (rx.toast.success if result.ok else rx.toast.error)(f"Snapshot: {result.message}")

    @rx.event
    @require_session
    async def rollback(self, name: str):
        if self.busy or not self._vmid:
            return
        self.busy = f"rollback {name}"
        yield
        try:
            result = await detail.rollback_snapshot(*self._where(), name)
            await self._load_overview()
            await self._load_metrics()
        finally:
            self.busy = ""
        yield (rx.toast.success if result.ok else rx.toast.error)(
            f"Rollback to {name}: {result.message}"
        )

    @rx.event
    @require_session
    async def delete_snapshot(self, name: str):
        if self.busy or not self._vmid:
            return
        self.busy = f"delete {name}"
        yield
        try:
            result = await detail.delete_snapshot(*self._where(), name)
            await self._load_snapshots()
        finally:
            self.busy = ""
        yield (rx.toast.success if result.ok else rx.toast.error)(
            f"Delete snapshot {name}: {result.message}"
        )


# ---- components ----------------------------------------------------------------------------


def _metric(label: str, value: rx.Var, element_id: str) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.text(label, size="1", color=rx.color("gray", 11)),
            rx.text(value, size="4", weight="bold", id=element_id),
            spacing="1",
        ),
        flex="1",
        min_width="10rem",
    )


def _overview() -> rx.Component:
    return rx.data_list.root(
        rx.foreach(
            ContainerDetailState.facts,
            lambda f: rx.data_list.item(rx.data_list.label(f.label), rx.data_list.value(f.value)),
        ),
        id="overview",
    )


def _metrics() -> rx.Component:
    return rx.vstack(
        rx.moment(interval=METRICS_MS, on_change=ContainerDetailState.tick, display="none"),
        rx.flex(
            _metric("CPU", ContainerDetailState.metrics.cpu, "metric-cpu"),
            _metric("Memory", ContainerDetailState.metrics.memory, "metric-memory"),
            _metric("Network", ContainerDetailState.metrics.net, "metric-net"),
            _metric("Disk I/O", ContainerDetailState.metrics.disk_io, "metric-disk"),
            _metric("Uptime", ContainerDetailState.metrics.uptime, "metric-uptime"),
            gap="3",
            wrap="wrap",
            width="100%",
        ),
        rx.hstack(
            rx.heading("History", size="3", as_="h2"),
            rx.spacer(),
            rx.segmented_control.root(
                *[rx.segmented_control.item(t.capitalize(), value=t) for t in TIMEFRAMES],
                value=ContainerDetailState.timeframe,
                on_change=ContainerDetailState.set_timeframe,
            ),
            width="100%",
            align="center",
        ),
        rx.box(
            rx.recharts.area_chart(
                rx.recharts.cartesian_grid(stroke_dasharray="3 3"),
                rx.recharts.area(
                    data_key="cpu",
                    name="CPU %",
                    stroke=rx.color("accent", 9),
                    fill=rx.color("accent", 4),
                    type_="monotone",
                ),
                rx.recharts.x_axis(data_key="label", min_tick_gap=24),
                rx.recharts.y_axis(unit="%"),
                rx.recharts.graphing_tooltip(),
                data=ContainerDetailState.history,
                height=220,
                width="100%",
            ),
            width="100%",
            id="history-cpu",
        ),
        rx.box(
            rx.recharts.area_chart(
                rx.recharts.cartesian_grid(stroke_dasharray="3 3"),
                rx.recharts.area(
                    data_key="memory",
                    name="Memory MiB",
                    stroke=rx.color("green", 9),
                    fill=rx.color("green", 4),
                    type_="monotone",
                ),
                rx.recharts.x_axis(data_key="label", min_tick_gap=24),
                rx.recharts.y_axis(),
                rx.recharts.graphing_tooltip(),
                data=ContainerDetailState.history,
                height=180,
                width="100%",
            ),
            width="100%",
        ),
        spacing="4",
        width="100%",
    )


def _snapshot_row(s: SnapshotRow) -> rx.Component:
    def confirm(label: str, text: str, event: rx.event.EventSpec, color: str) -> rx.Component:
        return rx.alert_dialog.root(
            rx.alert_dialog.trigger(
                rx.button(
                    label,
                    size="1",
                    variant="soft",
                    color_scheme=color,
                    disabled=ContainerDetailState.busy != "",
                )
            ),
            rx.alert_dialog.content(
                rx.alert_dialog.title(f"{label} snapshot ", s.name, "?"),
                rx.alert_dialog.description(text),
                rx.hstack(
                    rx.alert_dialog.cancel(
                        rx.button("Cancel", variant="soft", color_scheme="gray")
                    ),
                    rx.alert_dialog.action(rx.button(label, color_scheme=color, on_click=event)),
                    justify="end",
                    spacing="3",
                    margin_top="1rem",
                ),
            ),
        )

    return rx.table.row(
        rx.table.cell(rx.text(s.name, weight="bold")),
        rx.table.cell(s.description),
        rx.table.cell(s.created),
        rx.table.cell(
            rx.hstack(
                confirm(
                    "Rollback",
                    "The container returns to this snapshot; changes since then are lost.",
                    ContainerDetailState.rollback(s.name),
                    "amber",
                ),
                confirm(
                    "Delete",
                    "The snapshot is removed for good.",
                    ContainerDetailState.delete_snapshot(s.name),
                    "red",
                ),
                spacing="2",
                justify="end",
            )
        ),
        custom_attrs={"data-snapshot": s.name},
    )


def _snapshots() -> rx.Component:
    return rx.vstack(
        rx.form(
            rx.hstack(
                rx.input(
                    name="name",
                    placeholder="Snapshot name, e.g. before_upgrade",
                    required=True,
                    aria_label="Snapshot name",
                    width="16rem",
                ),
                rx.input(
                    name="description",
                    placeholder="Description (optional)",
                    aria_label="Snapshot description",
                    flex="1",
                ),
                rx.button(
                    rx.cond(
                        ContainerDetailState.busy == "snapshot",
                        rx.spinner(size="2"),
                        rx.icon("camera", size=16),
                    ),
                    "Take snapshot",
                    type="submit",
                    disabled=ContainerDetailState.busy != "",
                ),
                width="100%",
                spacing="2",
            ),
            on_submit=ContainerDetailState.snapshot,
            reset_on_submit=True,
            width="100%",
        ),
        rx.cond(
            ContainerDetailState.snapshots.length() > 0,
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        *[
                            rx.table.column_header_cell(h)
                            for h in ("Name", "Description", "Taken", "")
                        ]
                    )
                ),
                rx.table.body(rx.foreach(ContainerDetailState.snapshots, _snapshot_row)),
                variant="surface",
                width="100%",
                id="snapshots-table",
            ),
            rx.text("No snapshots yet.", size="2", color=rx.color("gray", 11)),
        ),
        spacing="3",
        width="100%",
    )


def _header() -> rx.Component:
    return rx.hstack(
        rx.link(
            rx.hstack(
                rx.icon("arrow-left", size=14),
                rx.text("All containers", size="2"),
                spacing="1",
                align="center",
            ),
            href="/",
        ),
        rx.spacer(),
        rx.match(
            ContainerDetailState.status,
            ("running", rx.badge("running", color_scheme="green", size="2", id="ct-status")),
            ("stopped", rx.badge("stopped", color_scheme="gray", size="2", id="ct-status")),
            rx.badge(ContainerDetailState.status, color_scheme="orange", size="2", id="ct-status"),
        ),
        rx.badge(ContainerDetailState.node_name, color_scheme="indigo", size="2"),
        rx.badge(ContainerDetailState.pve_node, variant="outline", size="2"),
        width="100%",
        align="center",
        spacing="2",
    )


def page() -> rx.Component:
    return page_shell(
        "Container",
        rx.cond(
            ContainerDetailState.loaded,
            rx.cond(
                ContainerDetailState.problem != "",
                empty_state(
                    "circle-help",
                    ContainerDetailState.problem,  # type: ignore[arg-type]
                    "It may have been deleted, or it is not on one of your nodes.",
                    rx.link(rx.button("Back to the dashboard", size="2", variant="soft"), href="/"),
                    test_id="ct-problem",
                ),
                rx.vstack(
                    _header(),
                    rx.heading(ContainerDetailState.title, size="7", id="ct-title"),
                    rx.tabs.root(
                        rx.tabs.list(
                            rx.tabs.trigger("Metrics", value="metrics"),
                            rx.tabs.trigger("Overview", value="overview"),
                            rx.tabs.trigger("Snapshots", value="snapshots"),
                        ),
                        rx.tabs.content(_metrics(), value="metrics", padding_top="1rem"),
                        rx.tabs.content(_overview(), value="overview", padding_top="1rem"),
                        rx.tabs.content(_snapshots(), value="snapshots", padding_top="1rem"),
                        default_value="metrics",
                        width="100%",
                    ),
                    spacing="4",
                    width="100%",
                ),
            ),
            rx.center(rx.spinner(), padding="3rem", width="100%"),
        ),
    )


ON_LOAD = ContainerDetailState.load
