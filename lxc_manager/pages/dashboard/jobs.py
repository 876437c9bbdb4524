"""The provisioning jobs of the user: containers being created, or that failed to be."""

from __future__ import annotations

import reflex as rx

from lxc_manager import routes
from lxc_manager.pages.components.layout import muted
from lxc_manager.pages.dashboard.rows import JobRow
from lxc_manager.pages.dashboard.state import DashboardState as S


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
                muted(job.node_name, " · ", job.template, " · ", job.step, shade=11),
                spacing="2",
                width="100%",
            ),
            width="100%",
        ),
        href=routes.job(job.id),
        underline="none",
        color="inherit",
        custom_attrs={"data-job": job.hostname, "data-status": job.status},
    )


def jobs() -> rx.Component:
    return rx.cond(
        S.jobs.length() > 0,
        rx.vstack(
            rx.text("Creating, or failed to create", weight="bold", size="2"),
            rx.grid(
                rx.foreach(S.jobs, _job_card),
                columns=rx.breakpoints(initial="1", sm="2", lg="3"),
                spacing="3",
                width="100%",
            ),
            width="100%",
            spacing="2",
            id="provisioning-jobs",
        ),
    )
