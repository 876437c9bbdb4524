"""`/containers/jobs/{job_id}`: a provisioning job, live — stepper, log, result, retry.

The page replays the job's progress stream from its start and then follows it, so it
works after a reload and from any tab. It keeps the last LOG_KEEP lines in state (the
whole stream stays in Redis), and stops following once the page is gone (its heartbeat
ticks stop).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import reflex as rx
from pydantic import BaseModel
from redis.exceptions import RedisError

from lxc_manager.pages.components.layout import page_shell
from lxc_manager.provisioning import jobs, progress
from lxc_manager.provisioning.jobs import JobView
from lxc_manager.state.legacy_session import (
    LegacySessionState,
    require_session,
    require_session_quiet,
)

ROUTE = "/containers/jobs/[job_id]"
TITLE = "Provisioning"
LOG_KEEP = 500
FOLLOW_BLOCK_MS = 2000
PAGE_GONE_AFTER = 10.0
FINISHED = ("succeeded", "failed", "destroyed")

# Keeps the log scrolled to the bottom unless the user scrolled up to read.
AUTOSCROLL_JS = """
(() => {
  if (window.__lxcmLogScroll) return;
  window.__lxcmLogScroll = true;
  let stick = true;
  const attach = () => {
    const box = document.getElementById('job-log');
    if (!box || box.__lxcm) return;
    box.__lxcm = true;
    box.addEventListener('scroll', () => {
      stick = box.scrollTop + box.clientHeight >= box.scrollHeight - 24;
    });
    new MutationObserver(() => { if (stick) box.scrollTop = box.scrollHeight; })
      .observe(box, {childList: true, subtree: true});
    box.scrollTop = box.scrollHeight;
  };
  new MutationObserver(attach).observe(document.body, {childList: true, subtree: true});
  attach();
})();
"""


class StepRow(BaseModel):
    number: int
    name: str
    state: str
    elapsed: str
    message: str


class LogLine(BaseModel):
    id: str
    text: str
    stream: str = "stdout"
    level: str = ""  # info | warn | error | step


def _elapsed(start: datetime | None, end: datetime | None) -> str:
    if start is None:
        return ""
    seconds = max(0.0, ((end or datetime.now(UTC)) - start).total_seconds())
    return f"{seconds:.1f} s" if seconds < 60 else f"{int(seconds // 60)} min {int(seconds % 60)} s"


def _level(text: str, stream: str) -> str:
    head = text[:40]
    if "[ERROR]" in head or (stream == "stderr" and "error" in head.lower()):
        return "error"
    if "[WARN" in head:
        return "warn"
    if "[INFO]" in head:
        return "info"
    return ""


class JobState(LegacySessionState):
    job_id: str = ""
    found: bool = True
    loaded: bool = False
    status: str = ""
    step: int = 0
    percent: int = 0
    steps: list[StepRow] = []
    vmid: int = 0
    hostname: str = ""
    node_id: int = 0
    node_name: str = ""
    pve_node: str = ""
    template_name: str = ""
    error: str = ""
    attempts: int = 0
    kept: bool = False
    elapsed: str = ""
    log: list[LogLine] = []
    log_truncated: bool = False
    following: bool = False
    busy: str = ""
    _last_id: str = "0-0"
    _seen: float = 0.0
    _generation: int = 0  # a reload (same tab state) starts a new follow loop; old ones stop

    def _route_job_id(self) -> str:
        parts = [p for p in self.router.url.path.split("/") if p]
        if len(parts) == 3 and parts[:2] == ["containers", "jobs"]:
            return parts[2][:32]
        return ""

    def _apply(self, view: JobView) -> None:
        self.status, self.step, self.percent = view.status, view.step, view.percent
        self.steps = [
            StepRow(
                number=s.number,
                name=s.name,
                state=s.state,
                elapsed=_elapsed(s.started_at, s.ended_at),
                message=s.message,
            )
            for s in view.steps
        ]
        self.vmid, self.hostname = view.vmid, view.hostname
        self.node_id, self.node_name, self.pve_node = (
            view.node_id or 0,
            view.node_name,
            view.pve_node,
        )
        self.template_name, self.error = view.template_name, view.error
        self.attempts, self.kept = view.attempts, view.kept
        self.elapsed = _elapsed(view.started_at or view.created_at, view.finished_at)

    def _add_entries(self, entries: list[progress.ProgressEntry]) -> bool:
        """Append output lines; True when a step, status or result changed."""
        lines: list[LogLine] = []
        changed = False
        for entry in entries:
            self._last_id = entry.id
            fields = entry.fields
            if entry.kind == "line":
                text = fields.get("text", "")
                stream = fields.get("stream", "stdout")
                lines.append(
                    LogLine(id=entry.id, text=text, stream=stream, level=_level(text, stream))
                )
                continue
            changed = True
            if entry.kind == "step":
                name = fields.get("name", "")
                script = fields.get("script", "")
                state = fields.get("state", "")
                if script and fields.get("index"):
                    label = f"{name}: script {fields.get('index')}/{fields.get('total')} {script}"
                else:
                    label = name
                lines.append(LogLine(id=entry.id, text=f"── {label} · {state}", level="step"))
        if lines:
            merged = [*self.log, *lines]
            if len(merged) > LOG_KEEP:
                self.log_truncated = True
                merged = merged[-LOG_KEEP:]
            self.log = merged
        return changed

    @rx.event
    @require_session
    async def load(self):
        self.job_id = self._route_job_id()
        self._generation += 1
        self.log, self.log_truncated, self._last_id = [], False, "0-0"
        self.busy, self.following = "", False
        view = await jobs.get_job(self._user_id, self.job_id) if self.job_id else None
        self.loaded = True
        if view is None:
            self.found = False
            return None
        self.found = True
        self._apply(view)
        return JobState.follow

    @rx.event
    @require_session_quiet
    def heartbeat(self, _now: str = "") -> None:
        self._seen = time.monotonic()

    @rx.event(background=True)
    @require_session_quiet
    async def follow(self) -> rx.event.EventSpec | None:
        """Replay the stream, then follow it until the page is gone or the session ends
        (checked at every tick, without extending it)."""
        async with self:
            if self.following or not self.found:
                return None
            self.following, self._seen = True, time.monotonic()
            user_id, job_id, after = self._user_id, self.job_id, self._last_id
            generation = self._generation
        try:
            while True:
                try:
                    entries = await progress.read(job_id, after=after, block_ms=FOLLOW_BLOCK_MS)
                except RedisError:
                    await asyncio.sleep(1)
                    entries = []
                view = None
                async with self:
                    if self._generation != generation:
                        return None  # the page was loaded again: a newer loop follows
                    if (ended := await self._login_if_ended()) is not None:
                        return ended
                    if time.monotonic() - self._seen > PAGE_GONE_AFTER or self.job_id != job_id:
                        return None
                    changed = self._add_entries(entries)
                    after = self._last_id
                if changed or not entries:
                    view = await jobs.get_job(user_id, job_id)
                async with self:
                    if view is not None and self._generation == generation:
                        self._apply(view)
                        if not entries and view.status in FINISHED:
                            return None  # a retry starts following again
        finally:
            async with self:
                if self._generation == generation:
                    self.following = False

    async def _act(
        self, what: str, call: Callable[[str, str], Awaitable[str | None]], done: str
    ) -> AsyncIterator[Any]:
        if self.busy:
            return
        self.busy = what
        yield
        try:
            message = await call(self._user_id, self.job_id)
        finally:
            self.busy = ""
        view = await jobs.get_job(self._user_id, self.job_id)
        if view is not None:
            self._apply(view)
        if message:
            yield rx.toast.error(message, id="job-action")
            return
        yield rx.toast.success(done, id="job-action")
        if not self.following:
            yield JobState.follow

    @rx.event
    @require_session
    async def retry(self):
        async for update in self._act("retry", jobs.retry, "Retrying from the failed step"):
            yield update

    @rx.event
    @require_session
    async def destroy(self):
        async for update in self._act(
            "destroy", jobs.destroy, "The half-built container was destroyed"
        ):
            yield update

    @rx.event
    @require_session
    async def keep(self):
        async for update in self._act("keep", jobs.keep, "The container is kept for debugging"):
            yield update


# ---- components ----------------------------------------------------------------------------

J = JobState

STATUS_COLORS = {
    "queued": "gray",
    "running": "blue",
    "succeeded": "green",
    "failed": "red",
    "destroyed": "gray",
}


def _status_badge() -> rx.Component:
    return rx.badge(
        J.status,
        color_scheme=rx.match(J.status, *STATUS_COLORS.items(), "gray"),
        size="2",
        id="job-status",
        custom_attrs={"data-status": J.status},
    )


def _step_icon(state: rx.Var) -> rx.Component:
    return rx.match(
        state,
        ("ok", rx.icon("circle-check", size=18, color=rx.color("green", 10))),
        ("failed", rx.icon("circle-x", size=18, color=rx.color("red", 10))),
        ("running", rx.spinner(size="2")),
        ("skipped", rx.icon("circle-minus", size=18, color=rx.color("gray", 8))),
        rx.icon("circle", size=18, color=rx.color("gray", 7)),
    )


def _step(row: StepRow) -> rx.Component:
    return rx.hstack(
        _step_icon(row.state),
        rx.vstack(
            rx.text(
                row.number,
                ". ",
                row.name,
                size="2",
                weight=rx.cond(row.state == "running", "bold", "regular"),
            ),
            rx.cond(row.message != "", rx.text(row.message, size="1", color=rx.color("gray", 10))),
            spacing="0",
        ),
        rx.spacer(),
        rx.text(row.elapsed, size="1", color=rx.color("gray", 10)),
        width="100%",
        align="center",
        spacing="2",
        custom_attrs={"data-step": row.name, "data-state": row.state},
    )


def _log_line(line: LogLine) -> rx.Component:
    return rx.el.div(
        line.text,
        style={
            "whiteSpace": "pre-wrap",
            "wordBreak": "break-all",
            "color": rx.match(
                line.level,
                ("error", "var(--red-11)"),
                ("warn", "var(--amber-11)"),
                ("step", "var(--accent-11)"),
                ("info", "inherit"),
                rx.cond(line.stream == "stderr", "var(--orange-11)", "inherit"),
            ),
            "fontWeight": rx.cond(line.level == "step", "600", "400"),
        },
    )


def _log() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.text("Output", weight="bold", size="2"),
            rx.cond(
                J.log_truncated,
                rx.text("(the last ", LOG_KEEP, " lines)", size="1", color=rx.color("gray", 10)),
            ),
            rx.spacer(),
            rx.cond(
                J.following,
                rx.hstack(
                    rx.spinner(size="1"), rx.text("live", size="1"), spacing="1", align="center"
                ),
            ),
            width="100%",
            align="center",
        ),
        rx.box(
            rx.cond(
                J.log.length() > 0,
                rx.foreach(J.log, _log_line),
                rx.text("Waiting for output…", color=rx.color("gray", 10)),
            ),
            id="job-log",
            height="26rem",
            overflow_y="auto",
            padding="0.75rem",
            font_family="var(--code-font-family)",
            font_size="12px",
            line_height="1.5",
            background=rx.color("gray", 2),
            border=f"1px solid {rx.color('gray', 5)}",
            border_radius="var(--radius-3)",
            width="100%",
            tab_index=0,
            aria_label="Provisioning output",
            role="log",
        ),
        spacing="2",
        width="100%",
    )


def _result() -> rx.Component:
    return rx.fragment(
        rx.cond(
            J.status == "succeeded",
            rx.callout.root(
                rx.callout.icon(rx.icon("party-popper")),
                rx.callout.text(
                    "Container ",
                    rx.text.strong(J.hostname),
                    " (",
                    J.vmid,
                    ") is ready. ",
                    rx.link(
                        "Open the container",
                        href=f"/containers/{J.node_id}/{J.vmid}",
                        weight="bold",
                        id="job-container-link",
                    ),
                ),
                color_scheme="green",
                width="100%",
                id="job-succeeded",
            ),
        ),
        rx.cond(
            J.status == "failed",
            rx.callout.root(
                rx.callout.icon(rx.icon("circle-x")),
                rx.vstack(
                    rx.text(
                        J.error,
                        weight="medium",
                        size="2",
                        id="job-error",
                    ),
                    rx.cond(J.kept, rx.text("The container is kept for debugging.", size="2")),
                    rx.hstack(
                        rx.button(
                            rx.cond(
                                J.busy == "retry",
                                rx.spinner(size="1"),
                                rx.icon("rotate-ccw", size=14),
                            ),
                            "Retry from step ",
                            J.step,
                            on_click=J.retry,
                            disabled=J.busy != "",
                            id="job-retry",
                        ),
                        rx.alert_dialog.root(
                            rx.alert_dialog.trigger(
                                rx.button(
                                    rx.icon("trash-2", size=14),
                                    "Destroy the container",
                                    color_scheme="red",
                                    variant="soft",
                                    disabled=J.busy != "",
                                    id="job-destroy",
                                )
                            ),
                            rx.alert_dialog.content(
                                rx.alert_dialog.title("Destroy the half-built container?"),
                                rx.alert_dialog.description(
                                    "Container ",
                                    J.vmid,
                                    " is stopped and deleted on Proxmox with its disks. This cannot be undone.",
                                ),
                                rx.hstack(
                                    rx.alert_dialog.cancel(
                                        rx.button("Cancel", variant="soft", color_scheme="gray")
                                    ),
                                    rx.alert_dialog.action(
                                        rx.button("Destroy", color_scheme="red", on_click=J.destroy)
                                    ),
                                    justify="end",
                                    spacing="3",
                                    margin_top="1rem",
                                ),
                            ),
                        ),
                        rx.cond(
                            J.kept,
                            rx.fragment(),
                            rx.button(
                                rx.icon("bug", size=14),
                                "Keep it for debugging",
                                variant="soft",
                                color_scheme="gray",
                                on_click=J.keep,
                                disabled=J.busy != "",
                            ),
                        ),
                        spacing="2",
                        wrap="wrap",
                    ),
                    spacing="2",
                ),
                color_scheme="red",
                width="100%",
                id="job-failed",
            ),
        ),
        rx.cond(
            J.status == "destroyed",
            rx.callout(
                "The half-built container was destroyed.",
                icon="trash-2",
                color_scheme="gray",
                width="100%",
            ),
        ),
    )


def _job() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.heading(J.hostname, size="5", as_="h2"),
            rx.badge("VMID ", J.vmid, variant="soft"),
            _status_badge(),
            rx.spacer(),
            rx.text(
                rx.cond(J.template_name != "", J.template_name, "Blank container"),
                " · ",
                J.node_name,
                " / ",
                J.pve_node,
                " · ",
                J.elapsed,
                size="2",
                color=rx.color("gray", 11),
            ),
            width="100%",
            align="center",
            spacing="3",
            wrap="wrap",
        ),
        rx.hstack(
            rx.progress(value=J.percent, max=100, width="100%", id="job-progress"),
            rx.text(J.percent, "%", size="2", weight="bold", id="job-percent"),
            width="100%",
            align="center",
            spacing="3",
        ),
        _result(),
        rx.grid(
            rx.card(
                rx.vstack(rx.foreach(J.steps, _step), spacing="3", width="100%"),
                width="100%",
                id="job-steps",
            ),
            _log(),
            spacing="4",
            width="100%",
            style={"gridTemplateColumns": "minmax(16rem, 1fr) minmax(0, 2fr)"},
        ),
        rx.moment(interval=2000, on_change=J.heartbeat, display="none"),
        rx.script(AUTOSCROLL_JS),
        spacing="4",
        width="100%",
        id="job",
    )


def page() -> rx.Component:
    return page_shell(
        "Provisioning",
        rx.cond(
            J.loaded,
            rx.cond(
                J.found,
                _job(),
                rx.callout(
                    "This provisioning job does not exist.",
                    icon="circle-alert",
                    color_scheme="red",
                    id="job-missing",
                ),
            ),
            rx.center(rx.spinner(), width="100%", padding="2rem"),
        ),
    )


ON_LOAD = JobState.load
