"""The job page's parts: the heading, the steps, the live output and the result (with
retry, destroy and keep when the job failed)."""

from __future__ import annotations

import reflex as rx

from lxc_manager import routes
from lxc_manager.pages.components.controls import busy_icon, note
from lxc_manager.pages.components.dialogs import confirm_button
from lxc_manager.pages.components.layout import bar, muted

from .rows import LogLine, StepRow
from .state import LOG_KEEP
from .state import JobState as J

STATUS_COLORS = {
    "queued": "gray",
    "running": "blue",
    "succeeded": "green",
    "failed": "red",
    "destroyed": "gray",
}

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

LOG_BOX = {
    "height": "26rem",
    "overflow_y": "auto",
    "padding": "0.75rem",
    "font_family": "var(--code-font-family)",
    "font_size": "12px",
    "line_height": "1.5",
    "background": rx.color("gray", 2),
    "border": f"1px solid {rx.color('gray', 5)}",
    "border_radius": "var(--radius-3)",
    "width": "100%",
}


def _status_badge() -> rx.Component:
    return rx.badge(
        J.status,
        color_scheme=rx.match(J.status, *STATUS_COLORS.items(), "gray"),
        size="2",
        id="job-status",
        custom_attrs={"data-status": J.status},
    )


def heading() -> rx.Component:
    return bar(
        rx.heading(J.hostname, size="5", as_="h2"),
        rx.badge("VMID ", J.vmid, variant="soft"),
        _status_badge(),
        rx.spacer(),
        muted(
            rx.cond(
                J.operation,
                "Operation",
                rx.cond(J.template_name != "", J.template_name, "Blank container"),
            ),
            " · ",
            J.node_name,
            " / ",
            J.pve_node,
            " · ",
            J.elapsed,
            size="2",
            shade=11,
        ),
    )


def progress_bar() -> rx.Component:
    return rx.hstack(
        rx.progress(value=J.percent, max=100, width="100%", id="job-progress"),
        rx.text(J.percent, "%", size="2", weight="bold", id="job-percent"),
        width="100%",
        align="center",
        spacing="3",
    )


def _step_icon(state: rx.Var[str]) -> rx.Component:
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
            rx.cond(row.message != "", muted(row.message)),
            spacing="0",
        ),
        rx.spacer(),
        muted(row.elapsed),
        width="100%",
        align="center",
        spacing="2",
        custom_attrs={"data-step": row.name, "data-state": row.state},
    )


def steps() -> rx.Component:
    return rx.card(
        rx.vstack(rx.foreach(J.steps, _step), spacing="3", width="100%"),
        width="100%",
        id="job-steps",
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


def log() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.text("Output", weight="bold", size="2"),
            rx.cond(J.log_truncated, muted("(the last ", LOG_KEEP, " lines)")),
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
            tab_index=0,
            aria_label="Provisioning output",
            role="log",
            **LOG_BOX,
        ),
        rx.script(AUTOSCROLL_JS),
        spacing="2",
        width="100%",
    )


def _succeeded() -> rx.Component:
    return note(
        "party-popper",
        rx.callout.text(
            "Container ",
            rx.text.strong(J.hostname),
            " (",
            J.vmid,
            ") is ready. ",
            rx.link(
                "Open the container",
                href=routes.container(J.node_id, J.vmid),
                weight="bold",
                id="job-container-link",
            ),
        ),
        "green",
        id="job-succeeded",
    )


def _operation_succeeded() -> rx.Component:
    return note(
        "circle-check",
        rx.callout.text(
            "Done: ",
            rx.text.strong(J.title),
            ". ",
            rx.cond(
                J.container_gone,
                rx.link("Back to the dashboard", href=routes.DASHBOARD, weight="bold"),
                rx.link(
                    "Open container ",
                    J.vmid,
                    href=routes.container(J.node_id, J.vmid),
                    weight="bold",
                    id="job-container-link",
                ),
            ),
        ),
        "green",
        id="job-succeeded",
    )


def _destroy_button() -> rx.Component:
    return confirm_button(
        rx.button(
            rx.icon("trash-2", size=14),
            "Destroy the container",
            color_scheme="red",
            variant="soft",
            disabled=J.busy != "",
            id="job-destroy",
        ),
        "Destroy the half-built container?",
        rx.text(
            "Container ",
            J.vmid,
            " is stopped and deleted on Proxmox with its disks. This cannot be undone.",
        ),
        "Destroy",
        J.destroy,
        extra=(_backup_first(),),
    )


def _backup_first() -> rx.Component:
    """ "Back up first": one job, a vzdump of the container and then this destroy."""
    return rx.vstack(
        rx.text(
            "Or back it up first: one job makes a backup (on the first backup storage its "
            "node can use, shared ones first) and then destroys it; if the backup fails, "
            "nothing is destroyed.",
            size="2",
            color=rx.color("gray", 11),
        ),
        rx.alert_dialog.action(
            rx.button(
                rx.icon("archive", size=14),
                "Back up first, then destroy",
                variant="soft",
                color_scheme="red",
                on_click=J.destroy_backup_first,
                id="job-destroy-backup-first",
            )
        ),
        spacing="2",
        margin_top="0.75rem",
    )


def _failed_actions() -> rx.Component:
    return rx.hstack(
        rx.button(
            busy_icon(J.busy == "retry", "rotate-ccw", size=14),
            "Retry from step ",
            J.step,
            on_click=J.retry,
            disabled=J.busy != "",
            id="job-retry",
        ),
        _destroy_button(),
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
    )


def _failed() -> rx.Component:
    return note(
        "circle-x",
        rx.vstack(
            rx.text(J.error, weight="medium", size="2", id="job-error"),
            rx.cond(J.kept, rx.text("The container is kept for debugging.", size="2")),
            rx.cond(J.operation, rx.fragment(), _failed_actions()),
            spacing="2",
        ),
        "red",
        id="job-failed",
    )


def result() -> rx.Component:
    return rx.match(
        J.status,
        ("succeeded", rx.cond(J.operation, _operation_succeeded(), _succeeded())),
        ("failed", _failed()),
        (
            "destroyed",
            note(
                "trash-2",
                rx.callout.text(
                    "The half-built container was destroyed.",
                    rx.cond(
                        J.destroyed_note != "", rx.text(" (", J.destroyed_note, ")", as_="span")
                    ),
                ),
                "gray",
                id="job-destroyed",
            ),
        ),
        rx.fragment(),
    )
