"""`ContainerDetailState`: one container of the user's node, read through the detail
service at every event.

`node_id` (the route's `ct_node`) is the user's node (endpoint) the container is reached
through; the Proxmox node that hosts it is looked up on load. Every event re-checks the
session and goes through the user's own node, so another user's node id is simply "not
found". Credentials never enter state: the browser names them by reference and their
values go straight into the DOM or the clipboard.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import suppress

import reflex as rx
from reflex.event import EventSpec

from lxc_manager import routes
from lxc_manager.aio import all_of
from lxc_manager.containers import ActionResult, detail
from lxc_manager.containers.locate import locate
from lxc_manager.nodes import NodeNotFound
from lxc_manager.nodes import service as node_service
from lxc_manager.pages.container_detail.backups_state import BackupsState
from lxc_manager.pages.container_detail.clone_state import CloneState
from lxc_manager.pages.container_detail.console_state import ConsoleState
from lxc_manager.pages.container_detail.rows import (
    TIMEFRAMES,
    ChartPoint,
    Counters,
    EventRow,
    Fact,
    MetricsView,
    ServiceRow,
    SnapshotRow,
    chart_points,
    event_rows,
    facts,
    metrics_view,
    parse_credential_ref,
    service_rows,
    snapshot_rows,
)
from lxc_manager.provisioning.origin import container_origin
from lxc_manager.provisioning.timeline import container_timeline
from lxc_manager.provisioning.vmids import cluster_key_of
from lxc_manager.proxmox import ProxmoxError
from lxc_manager.state.guard import (
    GuardedState,
    require_session,
    require_session_on_load,
    require_session_quiet,
)

NOT_FOUND = "Container not found"
TABS = ("metrics", "overview", "services", "logs", "snapshots", "backups", "events", "console")
GONE = "That credential is gone"
LOG_LINES_KEPT = 500
LOG_TAIL_LINES = 200
FOLLOW_TICK_S = 2
FOLLOW_UNSEEN_S = 10  # the follow loop stops when the logs tab stopped its heartbeats
LOG_ERRORS = (detail.DetailUnavailable, ProxmoxError, ValueError)


def _toast(ok: bool, text: str) -> EventSpec:
    toast: EventSpec = (rx.toast.success if ok else rx.toast.error)(text)
    return toast


def _message(exc: Exception) -> str:
    return str(getattr(exc, "user_message", str(exc)))


def _number(text: str) -> int | None:
    return int(text) if text.isdigit() else None


class ContainerDetailState(GuardedState, rx.State):
    loaded: bool = False
    problem: str = ""
    title: str = ""
    status: str = ""
    ha_managed: bool = False
    is_template: bool = False
    pve_node: str = ""
    node_name: str = ""
    facts: list[Fact] = []
    metrics: MetricsView = MetricsView()
    timeframe: str = "hour"
    tab: str = "metrics"
    # chart points: label, cpu, memory, netin, netout; None = no sample (drawn as a gap)
    history: list[ChartPoint] = []
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
    _last_counters: Counters = (0.0, 0, 0, 0, 0)

    def _route_ids(self) -> tuple[int, int] | None:
        """(node_id, vmid) from the route's segments; None unless both are numbers."""
        node_id = _number(routes.route_arg(self, routes.CT_NODE))
        vmid = _number(routes.route_arg(self, routes.CT_VMID))
        return None if node_id is None or vmid is None else (node_id, vmid)

    def _where(self) -> tuple[str, int, str, int]:
        return self._user_id, self._node_id, self.pve_node, self._vmid

    @rx.event
    @require_session_on_load
    async def load(self) -> EventSpec | None:
        self.loaded, self.problem, self.history, self.snapshots = False, "", [], []
        wanted = self.router.url.query_parameters.get("tab", "")
        self.tab = wanted if wanted in TABS else "metrics"
        ids = self._route_ids()
        if ids is None:
            self.problem, self.loaded = NOT_FOUND, True
            return None
        self._node_id, self._vmid = ids
        try:
            node, found = await all_of(
                node_service.get_node(self._user_id, self._node_id),
                locate(self._user_id, self._node_id, self._vmid),
            )
            self.node_name, self._cluster_key = node.name, cluster_key_of(node)
            if found is None:
                self.problem = NOT_FOUND
                return None
            self.pve_node, self.title = found
            await all_of(
                self._load_overview(),
                self._load_origin(),
                self._load_metrics(),
                self._load_history(),
                self._load_snapshots(),
            )
        except NodeNotFound:
            self.problem = NOT_FOUND
        except ProxmoxError as exc:
            self.problem = exc.user_message
        finally:
            self.loaded = True
        if self.tab == "console" and not self.problem:
            return ConsoleState.open  # type: ignore[return-value]
        if self.router.url.query_parameters.get("action") == "clone" and not self.problem:
            return CloneState.open_dialog  # type: ignore[return-value]
        if self.tab == "backups" and not self.problem:
            return BackupsState.open  # type: ignore[return-value]
        return None

    async def _load_overview(self) -> None:
        o = await detail.get_overview(*self._where())
        self.title, self.status = o.name or f"CT {o.vmid}", o.status
        self.ha_managed, self.is_template = o.ha_managed, o.template
        self.facts = facts(o, self.node_name)

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
        self.status = m.status
        self.metrics, self._last_counters = metrics_view(m, self._last_counters, time.monotonic())

    async def _load_history(self) -> None:
        points = await detail.get_history(*self._where(), timeframe=self.timeframe)
        self.history = chart_points(points, self.timeframe)

    async def _load_snapshots(self) -> None:
        self.snapshots = snapshot_rows(await detail.list_snapshots(*self._where()))

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
    def tab_opened(self, tab: str | list[str]) -> EventSpec | None:
        """Services (and the units for logs) are fetched when their tab is first opened;
        the Console tab loads its own small state."""
        if isinstance(tab, str) and tab in TABS and tab != self.tab:
            self.tab = tab
        if tab == "console":
            return ConsoleState.open  # type: ignore[return-value]
        if tab == "backups":
            return BackupsState.open  # type: ignore[return-value]
        if tab in ("services", "logs") and not self.services and not self.services_note:
            return ContainerDetailState.load_services  # type: ignore[return-value]
        if tab == "events":
            return ContainerDetailState.load_events  # type: ignore[return-value]
        return None

    @rx.event
    @require_session
    async def load_events(self) -> None:
        """This user's audit events on this container (actions, snapshots, credential
        reveals) and its provisioning jobs, merged by the timeline service."""
        if not self._vmid:
            return
        timeline = await container_timeline(
            self._user_id, self.node_name, self._cluster_key, self._vmid
        )
        self.events = event_rows(timeline)

    @rx.event
    @require_session
    async def set_timeframe(self, value: str | list[str]) -> None:
        value = value[0] if isinstance(value, list) and value else value
        if isinstance(value, str) and value in TIMEFRAMES and self._vmid:
            self.timeframe = value
            await self._load_history()

    # ---- snapshots ----------------------------------------------------------------------
    async def _snapshot_task(
        self,
        busy: str,
        label: str,
        action: Callable[[], Awaitable[ActionResult]],
        reload: Callable[[], Awaitable[object]],
    ) -> AsyncIterator[EventSpec | None]:
        """One snapshot operation: a busy marker, the task followed to the end, a toast."""
        if self.busy or not self._vmid:
            return
        self.busy = busy
        yield None
        try:
            result = await action()
            await reload()
        except NodeNotFound:
            result = ActionResult(ok=False, message=NOT_FOUND)
        finally:
            self.busy = ""
        yield _toast(result.ok, f"{label}: {result.message}")

    @rx.event
    @require_session
    async def snapshot(self, form: dict[str, str]) -> AsyncIterator[EventSpec | None]:
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

    def _snapshot_action(self, verb: str, name: str) -> AsyncIterator[EventSpec | None]:
        """Roll back to (`verb` "rollback") or delete (`verb` "delete") snapshot `name`."""
        if verb == "rollback":
            return self._snapshot_task(
                f"rollback {name}",
                f"Rollback to {name}",
                lambda: detail.rollback_snapshot(*self._where(), name),
                lambda: all_of(self._load_overview(), self._load_metrics()),
            )
        return self._snapshot_task(
            f"delete {name}",
            f"Delete snapshot {name}",
            lambda: detail.delete_snapshot(*self._where(), name),
            self._load_snapshots,
        )

    @rx.event
    @require_session
    async def rollback(self, name: str) -> AsyncIterator[EventSpec | None]:
        async for update in self._snapshot_action("rollback", name):
            yield update

    @rx.event
    @require_session
    async def delete_snapshot(self, name: str) -> AsyncIterator[EventSpec | None]:
        async for update in self._snapshot_action("delete", name):
            yield update

    # ---- services -------------------------------------------------------------------------
    @rx.event
    @require_session
    async def load_services(self, refresh: bool = False) -> AsyncIterator[None]:
        if not self._vmid or self.services_loading:
            return
        self.services_loading = True
        yield
        try:
            found = await detail.get_services(*self._where(), refresh=refresh)
        except (ProxmoxError, ValueError) as exc:
            self.services, self.services_note = [], _message(exc)
            return
        finally:
            self.services_loading = False
        self.services_note = "" if found.available else found.reason
        self.services = service_rows(found.services)
        if not self.log_unit and self.services:
            self.log_unit = self.services[0].unit

    async def _credential(self, ref: str) -> str | None:
        """The value of a credential by its reference, read again from the service and
        audited as revealed; None when it is gone."""
        unit, key = parse_credential_ref(ref)
        found = await detail.get_services(*self._where())
        value = next(
            (dict(svc.credentials).get(key) for svc in found.services if svc.unit == unit), None
        )
        if value is not None:
            await asyncio.to_thread(
                detail.audit_reveal, self._user_id, self._node_id, self._vmid, unit, key
            )
        return value

    @rx.event
    @require_session
    async def reveal(self, ref: str, element_id: str) -> EventSpec:
        """Show one credential: the value goes straight into the DOM, never into state; audited."""
        value = await self._credential(ref)
        if value is None:
            return _toast(False, GONE)
        return rx.call_script(
            f"document.getElementById({json.dumps(element_id)}).textContent = {json.dumps(value)}"
        )

    @rx.event
    @require_session
    async def copy(self, ref: str) -> EventSpec | list[EventSpec]:
        value = await self._credential(ref)
        if value is None:
            return _toast(False, GONE)
        _, key = parse_credential_ref(ref)
        return [rx.set_clipboard(value), _toast(True, f"{key} copied")]

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
            self.log_lines = await detail.tail_log(
                *self._where(), self.log_unit, lines=LOG_TAIL_LINES
            )
        except LOG_ERRORS as exc:
            self.log_lines, self.log_error = [], _message(exc)

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
    async def follow(self) -> EventSpec | None:
        """Stream new journal lines until the user stops, leaves, or closes the page, or
        the session ends (checked at every tick, without extending it)."""
        async with self:
            if self.following or not self._vmid or not self.log_unit:
                return None
            self.following, self._follow_seen, self.log_error = True, time.monotonic(), ""
            where, unit = self._where(), self.log_unit
        stream = detail.follow_log(*where, unit)
        try:
            while True:
                try:
                    line = await asyncio.wait_for(anext(stream), timeout=FOLLOW_TICK_S)
                except TimeoutError:
                    line = None
                async with self:
                    if (ended := await self._login_if_ended()) is not None:
                        return ended
                    unseen = time.monotonic() - self._follow_seen > FOLLOW_UNSEEN_S
                    if not self.following or unseen:
                        self.following = False
                        return None
                    if line is not None:
                        self.log_lines = [*self.log_lines[1 - LOG_LINES_KEPT :], line]
        except StopAsyncIteration:
            pass
        except LOG_ERRORS as exc:
            async with self:
                self.log_error = _message(exc)
        finally:
            with suppress(Exception):
                await stream.aclose()
            async with self:
                self.following = False
        return None
