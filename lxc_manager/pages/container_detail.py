"""`/containers/{node_id}/{vmid}`: one container — overview, live metrics, history, snapshots.

`node_id` is the user's node (endpoint) the container is reached through; the Proxmox node
that hosts it is looked up on load. Every event re-checks the session and goes through the
user's own node, so another user's node id is simply "not found".
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import suppress

import reflex as rx
from pydantic import BaseModel

from lxc_manager.aio import all_of
from lxc_manager.containers import ActionResult, detail
from lxc_manager.containers.locate import locate
from lxc_manager.nodes import NodeNotFound
from lxc_manager.nodes import service as node_service
from lxc_manager.pages.components.format import human_bytes, human_uptime
from lxc_manager.pages.components.layout import empty_state, page_shell
from lxc_manager.provisioning.origin import container_origin
from lxc_manager.provisioning.timeline import container_timeline
from lxc_manager.provisioning.vmids import cluster_key_of
from lxc_manager.proxmox import ProxmoxError
from lxc_manager.state.legacy_session import (
    LegacySessionState,
    require_session,
    require_session_quiet,
)

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


class CredentialRow(BaseModel):
    ref: str  # "unit|KEY": what the reveal/copy events name; never the value
    key: str


class ServiceRow(BaseModel):
    unit: str
    description: str
    active: str
    kind: str
    ports: str
    urls: list[str]
    credentials: list[CredentialRow]


class EventRow(BaseModel):
    at: str
    action: str
    target: str
    outcome: str
    detail: str


class SnapshotRow(BaseModel):
    name: str
    description: str
    created: str


HA_HINT = "An HA resource: Proxmox HA starts and stops it; deleting it also removes it from HA"


class ContainerDetailState(LegacySessionState):
    loaded: bool = False
    problem: str = ""
    title: str = ""
    status: str = ""
    ha_managed: bool = False
    pve_node: str = ""
    node_name: str = ""
    facts: list[Fact] = []
    metrics: MetricsView = MetricsView()
    timeframe: str = "hour"
    # chart points: label, cpu, memory, netin, netout; None = no sample (drawn as a gap)
    history: list[dict[str, str | float | None]] = []
    snapshots: list[SnapshotRow] = []
    busy: str = ""
    services: list[ServiceRow] = []
    services_note: str = ""
    services_loading: bool = False
    log_unit: str = ""
    log_lines: list[str] = []
    log_error: str = ""
    following: bool = False
    events: list[EventRow] = []
    origin_job_id: str = ""
    origin_template_id: int = 0
    origin_template: str = ""
    origin_status: str = ""
    _cluster_key: str = ""
    _follow_seen: float = 0.0
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
            node, found = await all_of(
                node_service.get_node(self._user_id, self._node_id),
                locate(self._user_id, self._node_id, self._vmid),
            )
            self.node_name, self._cluster_key = node.name, cluster_key_of(node)
            if found is None:
                self.problem = "Container not found"
                return
            self.pve_node, self.title = found
            await all_of(
                self._load_overview(),
                self._load_origin(),
                self._load_metrics(),
                self._load_history(),
                self._load_snapshots(),
            )
        except NodeNotFound:
            self.problem = "Container not found"
        except ProxmoxError as exc:
            self.problem = exc.user_message
        finally:
            self.loaded = True

    async def _load_overview(self) -> None:
        o = await detail.get_overview(*self._where())
        self.title, self.status = o.name or f"CT {o.vmid}", o.status
        self.ha_managed = o.ha_managed
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

    async def _load_origin(self) -> None:
        """Which job and template created this container, when this app did."""
        found = await asyncio.to_thread(
            container_origin, self._user_id, self._cluster_key, self._vmid
        )
        self.origin_job_id = found.job_id if found else ""
        self.origin_template_id = (found.template_id or 0) if found else 0
        self.origin_template = (found.template_name or "a blank container") if found else ""
        self.origin_status = found.status if found else ""

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
                "cpu": _one_decimal(p.cpu_pct),
                "memory": _one_decimal(p.mem_mb),
                "netin": _one_decimal(p.netin_kbs),
                "netout": _one_decimal(p.netout_kbs),
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
    @require_session_quiet
    async def tick(self, _now: str = "") -> None:
        """Live metrics while the page is open (the client stops ticking when it leaves)."""
        if self.loaded and not self.problem and self._vmid:
            try:
                await self._load_metrics()
            except (ProxmoxError, NodeNotFound):
                self.metrics = MetricsView()

    @rx.event
    @require_session
    def tab_opened(self, tab: str | list[str]):
        """Services (and the units for logs) are fetched when their tab is first opened."""
        if tab in ("services", "logs") and not self.services and not self.services_note:
            return ContainerDetailState.load_services
        if tab == "events":
            return ContainerDetailState.load_events
        return None

    @rx.event
    @require_session
    async def load_events(self) -> None:
        """This user's audit events on this container (actions, snapshots, credential reveals)."""
        if not self._vmid:
            return
        timeline = await container_timeline(
            self._user_id, self.node_name, self._cluster_key, self._vmid
        )
        self.events = [
            EventRow(
                at=event.at.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
                action=event.action,
                target=event.target,
                outcome=event.outcome,
                detail=event.detail,
            )
            for event in timeline
        ]

    @rx.event
    @require_session
    async def set_timeframe(self, value: str | list[str]) -> None:
        value = value[0] if isinstance(value, list) and value else value
        if isinstance(value, str) and value in TIMEFRAMES and self._vmid:
            self.timeframe = value
            await self._load_history()

    async def _snapshot_task(
        self,
        busy: str,
        label: str,
        action: Callable[[], Awaitable[ActionResult]],
        reload: Callable[[], Awaitable[None]],
    ) -> AsyncIterator[rx.event.EventSpec | None]:
        """One snapshot operation: a busy marker, the task followed to the end, a toast."""
        if self.busy or not self._vmid:
            return
        self.busy = busy
        yield None
        try:
            result = await action()
            await reload()
        except NodeNotFound:
            result = ActionResult(ok=False, message="Container not found")
        finally:
            self.busy = ""
        yield (rx.toast.success if result.ok else rx.toast.error)(f"{label}: {result.message}")

    @rx.event
    @require_session
    async def snapshot(self, form: dict[str, str]):
        name, description = form.get("name", "").strip(), form.get("description", "").strip()
        problem = detail.snapshot_name_error(name)
        if problem:
            yield rx.toast.error(problem)
            return
        async for update in self._snapshot_task(
            "snapshot",
            f"Snapshot {name}",
            lambda: detail.create_snapshot(*self._where(), name, description),
            self._load_snapshots,
        ):
            yield update

    @rx.event
    @require_session
    async def rollback(self, name: str):
        async def reload() -> None:
            await self._load_overview()
            await self._load_metrics()

        async for update in self._snapshot_task(
            f"rollback {name}",
            f"Rollback to {name}",
            lambda: detail.rollback_snapshot(*self._where(), name),
            reload,
        ):
            yield update

    @rx.event
    @require_session
    async def delete_snapshot(self, name: str):
        async for update in self._snapshot_task(
            f"delete {name}",
            f"Delete snapshot {name}",
            lambda: detail.delete_snapshot(*self._where(), name),
            self._load_snapshots,
        ):
            yield update

    # ---- services -------------------------------------------------------------------------
    @rx.event
    @require_session
    async def load_services(self, refresh: bool = False):
        if not self._vmid or self.services_loading:
            return
        self.services_loading = True
        yield
        try:
            found = await detail.get_services(*self._where(), refresh=refresh)
        except (ProxmoxError, ValueError) as exc:
            self.services, self.services_note = [], getattr(exc, "user_message", str(exc))
            return
        finally:
            self.services_loading = False
        self.services_note = "" if found.available else found.reason
        self.services = [
            ServiceRow(
                unit=svc.unit,
                description=svc.description,
                active=svc.active if svc.active == "active" else svc.active or "stopped",
                kind=svc.kind,
                ports=", ".join(str(p) for p in svc.ports) or "—",
                urls=list(svc.urls),
                credentials=[
                    CredentialRow(ref=f"{svc.unit}|{key}", key=key) for key, _ in svc.credentials
                ],
            )
            for svc in found.services
        ]
        if not self.log_unit and self.services:
            self.log_unit = self.services[0].unit

    async def _credential(self, ref: str) -> str | None:
        unit, _, key = ref.partition("|")
        found = await detail.get_services(*self._where())
        for svc in found.services:
            if svc.unit == unit:
                return dict(svc.credentials).get(key)
        return None

    @rx.event
    @require_session
    async def reveal(self, ref: str, element_id: str):
        """Show one credential: the value goes straight into the DOM, never into state; audited."""
        value = await self._credential(ref)
        if value is None:
            return rx.toast.error("That credential is gone")
        unit, _, key = ref.partition("|")
        await asyncio.to_thread(
            detail.audit_reveal, self._user_id, self._node_id, self._vmid, unit, key
        )
        return rx.call_script(
            f"document.getElementById({json.dumps(element_id)}).textContent = {json.dumps(value)}"
        )

    @rx.event
    @require_session
    async def copy(self, ref: str):
        value = await self._credential(ref)
        if value is None:
            return rx.toast.error("That credential is gone")
        unit, _, key = ref.partition("|")
        await asyncio.to_thread(
            detail.audit_reveal, self._user_id, self._node_id, self._vmid, unit, key
        )
        return [rx.set_clipboard(value), rx.toast.success(f"{key} copied")]

    # ---- logs -------------------------------------------------------------------------------
    @rx.event
    @require_session
    def set_log_unit(self, unit: str) -> None:
        self.log_unit, self.following = unit, False

    @rx.event
    @require_session
    async def tail(self) -> None:
        if not self._vmid or not self.log_unit:
            return
        self.log_error = ""
        try:
            self.log_lines = await detail.tail_log(*self._where(), self.log_unit, lines=200)
        except (detail.DetailUnavailable, ProxmoxError, ValueError) as exc:
            self.log_lines, self.log_error = [], getattr(exc, "user_message", str(exc))

    @rx.event
    @require_session_quiet
    def follow_heartbeat(self, _now: str = "") -> None:
        """The logs tab is still open (its ticks stop when the tab or page goes away)."""
        self._follow_seen = time.monotonic()

    @rx.event
    def stop_follow(self) -> None:
        self.following = False

    @rx.event(background=True)
    @require_session_quiet
    async def follow(self) -> rx.event.EventSpec | None:
        """Stream new journal lines until the user stops, leaves, or closes the page, or
        the session ends (checked at every tick, without extending it)."""
        async with self:
            if self.following or not self._vmid or not self.log_unit:
                return None
            self.following, self._follow_seen, self.log_error = True, time.monotonic(), ""
            where, unit = (self._user_id, self._node_id, self.pve_node, self._vmid), self.log_unit
        stream = detail.follow_log(*where, unit)
        try:
            while True:
                try:
                    line = await asyncio.wait_for(anext(stream), timeout=2)
                except TimeoutError:
                    line = None
                async with self:
                    if (ended := await self._login_if_ended()) is not None:
                        return ended
                    if not self.following or time.monotonic() - self._follow_seen > 10:
                        self.following = False
                        return None
                    if line is not None:
                        self.log_lines = [*self.log_lines[-499:], line]
        except StopAsyncIteration:
            pass
        except (detail.DetailUnavailable, ProxmoxError, ValueError) as exc:
            async with self:
                self.log_error = getattr(exc, "user_message", str(exc))
        finally:
            with suppress(Exception):
                await stream.aclose()
            async with self:
                self.following = False
        return None


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


def _origin() -> rx.Component:
    state = ContainerDetailState
    return rx.cond(
        state.origin_job_id != "",
        rx.callout.root(
            rx.callout.icon(rx.icon("layout-template")),
            rx.callout.text(
                "Created by LXC Manager from ",
                rx.cond(
                    state.origin_template_id != 0,
                    rx.link(
                        state.origin_template,
                        href=f"/templates/{state.origin_template_id}",
                        weight="bold",
                    ),
                    rx.text.strong(state.origin_template),
                ),
                " · ",
                rx.link(
                    "provisioning job (",
                    state.origin_status,
                    ")",
                    href=f"/containers/jobs/{state.origin_job_id}",
                    id="origin-job",
                ),
            ),
            color_scheme="indigo",
            size="1",
            width="100%",
            id="origin",
        ),
    )


def _overview() -> rx.Component:
    return rx.vstack(
        _origin(),
        rx.data_list.root(
            rx.foreach(
                ContainerDetailState.facts,
                lambda f: rx.data_list.item(
                    rx.data_list.label(f.label), rx.data_list.value(f.value)
                ),
            ),
            id="overview",
        ),
        spacing="3",
        width="100%",
    )


def _one_decimal(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _history_chart(
    key: str, name: str, color: str, height: int, element_id: str, unit: str = ""
) -> rx.Component:
    """One rrddata series over the chosen timeframe as an area chart."""
    return rx.box(
        rx.recharts.area_chart(
            rx.recharts.cartesian_grid(stroke_dasharray="3 3"),
            rx.recharts.area(
                data_key=key,
                name=name,
                stroke=rx.color(color, 9),
                fill=rx.color(color, 4),
                type_="monotone",
            ),
            rx.recharts.x_axis(data_key="label", min_tick_gap=24),
            rx.recharts.y_axis(unit=unit) if unit else rx.recharts.y_axis(),
            rx.recharts.graphing_tooltip(),
            data=ContainerDetailState.history,
            height=height,
            width="100%",
        ),
        width="100%",
        id=element_id,
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
        rx.cond(
            ContainerDetailState.history,
            rx.fragment(
                _history_chart("cpu", "CPU %", "accent", 220, unit="%", element_id="history-cpu"),
                _history_chart("memory", "Memory MiB", "green", 180, element_id="history-memory"),
            ),
            rx.text(
                "No data yet: Proxmox records a new container's first sample within a minute.",
                size="2",
                color=rx.color("gray", 11),
                id="history-empty",
            ),
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


def _credential(cred: CredentialRow, index: int) -> rx.Component:
    element_id = f"cred-{cred.ref}"
    return rx.hstack(
        rx.code(cred.key, size="1"),
        rx.code("••••••••", id=element_id, size="1"),
        rx.icon_button(
            rx.icon("eye", size=12),
            size="1",
            variant="ghost",
            aria_label="Reveal " + cred.key,
            on_click=ContainerDetailState.reveal(cred.ref, element_id),
        ),
        rx.icon_button(
            rx.icon("copy", size=12),
            size="1",
            variant="ghost",
            aria_label="Copy " + cred.key,
            on_click=ContainerDetailState.copy(cred.ref),
        ),
        spacing="1",
        align="center",
    )


def _service_row(svc: ServiceRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.vstack(
                rx.text(svc.unit, weight="bold", size="2"),
                rx.text(svc.description, size="1", color=rx.color("gray", 10)),
                spacing="0",
            )
        ),
        rx.table.cell(
            rx.badge(
                svc.kind,
                variant="soft",
                color_scheme=rx.cond(svc.kind == "application", "indigo", "gray"),
            )
        ),
        rx.table.cell(
            rx.badge(
                svc.active,
                color_scheme=rx.cond(svc.active == "active", "green", "gray"),
                variant="soft",
            )
        ),
        rx.table.cell(
            rx.vstack(
                rx.text(svc.ports, size="2"),
                rx.foreach(svc.urls, lambda u: rx.link(u, href=u, is_external=True, size="1")),
                spacing="0",
            )
        ),
        rx.table.cell(rx.vstack(rx.foreach(svc.credentials, _credential), spacing="1")),
        custom_attrs={"data-service": svc.unit},
    )


def _services() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.text(
                "Running services inside the container, found over SSH (pct exec).",
                size="2",
                color=rx.color("gray", 11),
            ),
            rx.spacer(),
            rx.button(
                rx.cond(
                    ContainerDetailState.services_loading,
                    rx.spinner(size="2"),
                    rx.icon("refresh-cw", size=14),
                ),
                "Refresh",
                size="1",
                variant="soft",
                on_click=ContainerDetailState.load_services(True),
            ),
            width="100%",
            align="center",
        ),
        rx.cond(
            ContainerDetailState.services_note != "",
            rx.callout(
                ContainerDetailState.services_note,
                icon="info",
                color_scheme="amber",
                id="services-note",
            ),
        ),
        rx.cond(
            ContainerDetailState.services.length() > 0,
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        *[
                            rx.table.column_header_cell(h)
                            for h in ("Service", "Kind", "State", "Ports", "Credentials")
                        ]
                    )
                ),
                rx.table.body(rx.foreach(ContainerDetailState.services, _service_row)),
                variant="surface",
                width="100%",
                id="services-table",
            ),
        ),
        spacing="3",
        width="100%",
    )


def _logs() -> rx.Component:
    return rx.vstack(
        rx.moment(interval=2000, on_change=ContainerDetailState.follow_heartbeat, display="none"),
        rx.hstack(
            rx.select.root(
                rx.select.trigger(placeholder="Choose a service", aria_label="Service"),
                rx.select.content(
                    rx.foreach(
                        ContainerDetailState.services,
                        lambda s: rx.select.item(s.unit, value=s.unit),
                    )
                ),
                value=ContainerDetailState.log_unit,
                on_change=ContainerDetailState.set_log_unit,
            ),
            rx.button(
                "Show last lines",
                size="2",
                variant="soft",
                on_click=ContainerDetailState.tail,
                disabled=ContainerDetailState.log_unit == "",
            ),
            rx.cond(
                ContainerDetailState.following,
                rx.button(
                    rx.spinner(size="2"),
                    "Following — stop",
                    size="2",
                    color_scheme="red",
                    variant="soft",
                    on_click=ContainerDetailState.stop_follow,
                ),
                rx.button(
                    "Follow",
                    size="2",
                    on_click=ContainerDetailState.follow,
                    disabled=ContainerDetailState.log_unit == "",
                ),
            ),
            spacing="2",
            align="center",
        ),
        rx.cond(
            ContainerDetailState.log_error != "",
            rx.callout(ContainerDetailState.log_error, icon="circle-alert", color_scheme="red"),
        ),
        rx.box(
            rx.foreach(
                ContainerDetailState.log_lines,
                lambda line: rx.text(
                    line, font_family="monospace", size="1", white_space="pre-wrap"
                ),
            ),
            id="log-lines",
            width="100%",
            max_height="28rem",
            overflow_y="auto",
            padding="0.75rem",
            border_radius="var(--radius-3)",
            background=rx.color("gray", 2),
            border=f"1px solid {rx.color('gray', 5)}",
        ),
        on_unmount=ContainerDetailState.stop_follow,
        spacing="3",
        width="100%",
    )


def _events() -> rx.Component:
    return rx.cond(
        ContainerDetailState.events.length() > 0,
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    *[
                        rx.table.column_header_cell(h)
                        for h in ("When", "Action", "On", "Outcome", "Detail")
                    ]
                )
            ),
            rx.table.body(
                rx.foreach(
                    ContainerDetailState.events,
                    lambda e: rx.table.row(
                        rx.table.cell(rx.text(e.at, size="1")),
                        rx.table.cell(rx.code(e.action, size="1")),
                        rx.table.cell(e.target),
                        rx.table.cell(
                            rx.badge(
                                e.outcome,
                                color_scheme=rx.cond(e.outcome == "ok", "green", "red"),
                                variant="soft",
                            )
                        ),
                        rx.table.cell(rx.text(e.detail, size="1")),
                    ),
                )
            ),
            variant="surface",
            width="100%",
            id="events-table",
        ),
        rx.text("No events recorded for this container yet.", size="2", color=rx.color("gray", 11)),
    )


def _header() -> rx.Component:
    return rx.hstack(
        rx.link(
            rx.hstack(
                rx.icon("arrow-left", size=14),
                rx.text("All containers", size="2", white_space="nowrap"),
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
        rx.cond(
            ContainerDetailState.ha_managed,
            rx.tooltip(
                rx.badge("managed by HA", color_scheme="purple", size="2", id="ct-ha"),
                content=HA_HINT,
            ),
        ),
        rx.badge(ContainerDetailState.node_name, color_scheme="indigo", size="2"),
        rx.badge(ContainerDetailState.pve_node, variant="outline", size="2"),
        width="100%",
        align="center",
        spacing="2",
        wrap="wrap",
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
                            rx.tabs.trigger("Services", value="services"),
                            rx.tabs.trigger("Logs", value="logs"),
                            rx.tabs.trigger("Snapshots", value="snapshots"),
                            rx.tabs.trigger("Events", value="events"),
                        ),
                        rx.tabs.content(_metrics(), value="metrics", padding_top="1rem"),
                        rx.tabs.content(_overview(), value="overview", padding_top="1rem"),
                        rx.tabs.content(_services(), value="services", padding_top="1rem"),
                        rx.tabs.content(_logs(), value="logs", padding_top="1rem"),
                        rx.tabs.content(_snapshots(), value="snapshots", padding_top="1rem"),
                        rx.tabs.content(_events(), value="events", padding_top="1rem"),
                        default_value="metrics",
                        on_change=ContainerDetailState.tab_opened,
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
