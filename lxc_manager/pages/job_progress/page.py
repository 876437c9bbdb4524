"""`/containers/jobs/[job_id]`: a provisioning job, live — stepper, log, result, retry.

The page replays the job's progress stream from its start and then follows it, so it
works after a reload and from any tab (see `state.py`)."""

from __future__ import annotations

import reflex as rx

from lxc_manager import routes
from lxc_manager.pages.components.controls import loading
from lxc_manager.pages.components.layout import page_shell, page_stack

from .components import heading, log, progress_bar, result, steps
from .state import JobState as J

ROUTE = routes.JOB
TITLE = "Provisioning"
ON_LOAD = J.load


def _job() -> rx.Component:
    return page_stack(
        heading(),
        progress_bar(),
        result(),
        rx.grid(
            steps(),
            log(),
            spacing="4",
            width="100%",
            style={"gridTemplateColumns": "minmax(16rem, 1fr) minmax(0, 2fr)"},
        ),
        rx.moment(interval=2000, on_change=J.heartbeat, display="none"),
        id="job",
    )


def page() -> rx.Component:
    return page_shell(
        TITLE,
        loading(
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
        ),
    )
