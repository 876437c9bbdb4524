"""The pieces of the Backups page: a read-only note, the summary, and per cluster its
backup jobs, the containers no job covers, and which job covers each container."""

from __future__ import annotations

import reflex as rx

from lxc_manager import routes
from lxc_manager.pages.components.controls import age_badge, busy_icon, note
from lxc_manager.pages.components.layout import muted
from lxc_manager.pages.components.listing import data_table

from .rows import ClusterBlock, GuestLine, JobLine
from .state import BackupsState as S

READ_ONLY = (
    "Read-only: backup jobs are created and edited in Proxmox (Datacenter → Backup). "
    "This page shows what they back up, and what nothing backs up."
)
JOB_HEADERS = ("Job", "Schedule", "Storage", "Selection", "Mode", "Enabled", "Next run")
GUEST_HEADERS = ("VMID", "Name", "PVE node", "Covered by", "Last backup")


def read_only_note() -> rx.Component:
    return note("info", rx.callout.text(READ_ONLY), id="backups-read-only")


def summary() -> rx.Component:
    return rx.flex(
        rx.cond(
            S.uncovered_count > 0,
            rx.badge(
                rx.icon("shield-alert", size=14),
                S.uncovered_count,
                rx.cond(S.uncovered_count == 1, " container", " containers"),
                " not covered by any backup job",
                color_scheme="red",
                size="2",
                variant="soft",
                id="uncovered-count",
            ),
            rx.badge(
                rx.icon("shield-check", size=14),
                "Every container is covered by a backup job",
                color_scheme="green",
                size="2",
                variant="soft",
                id="uncovered-count",
            ),
        ),
        rx.button(
            busy_icon(S.reading, "refresh-cw", 14),
            "Refresh",
            size="2",
            variant="soft",
            on_click=S.refresh,
            disabled=S.reading,
            id="backups-refresh",
        ),
        width="100%",
        align="center",
        justify="between",
        gap="2",
        wrap="wrap",
    )


def _enabled(job: JobLine) -> rx.Component:
    return rx.cond(
        job.enabled,
        rx.badge("enabled", color_scheme="green", variant="soft"),
        rx.badge("disabled", color_scheme="gray", variant="outline"),
    )


def _job_row(job: JobLine) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.vstack(
                rx.text(job.label, size="2", weight="medium"),
                rx.cond(job.label != job.id, muted(job.id)),
                spacing="0",
            )
        ),
        rx.table.cell(rx.code(job.schedule, variant="ghost")),
        rx.table.cell(rx.text(job.storage, size="2")),
        rx.table.cell(rx.text(job.selection, size="2")),
        rx.table.cell(rx.text(job.mode, size="2")),
        rx.table.cell(_enabled(job)),
        rx.table.cell(rx.text(job.next_run, size="1")),
        custom_attrs={"data-job": job.id},
        align="center",
    )


def _jobs(block: ClusterBlock) -> rx.Component:
    return rx.cond(
        block.jobs.length() > 0,
        data_table(JOB_HEADERS, rx.foreach(block.jobs, _job_row), size="1"),
        rx.cond(
            block.jobs_read,
            muted("No scheduled backup job on this cluster.", size="2", shade=11),
        ),
    )


def _covered_by(guest: GuestLine) -> rx.Component:
    return rx.vstack(
        rx.match(
            guest.coverage,
            (
                "covered",
                rx.flex(
                    rx.foreach(guest.jobs, lambda j: rx.badge(j, variant="outline", size="1")),
                    gap="1",
                    wrap="wrap",
                ),
            ),
            ("uncovered", rx.badge("no job", color_scheme="red", variant="soft")),
            rx.badge("unknown", color_scheme="gray", variant="outline"),
        ),
        rx.cond(guest.note != "", muted(guest.note)),
        spacing="1",
    )


def _guest_row(guest: GuestLine) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(guest.vmid, size="2", weight="medium")),
        rx.table.cell(
            rx.link(
                guest.name,
                href=routes.container(guest.node_id, guest.vmid),
                size="2",
                weight="bold",
            )
        ),
        rx.table.cell(muted(guest.pve_node, size="2")),
        rx.table.cell(_covered_by(guest)),
        rx.table.cell(age_badge(guest.backup)),
        custom_attrs={"data-ct": guest.vmid, "data-coverage": guest.coverage},
        align="center",
    )


def _uncovered(block: ClusterBlock) -> rx.Component:
    return rx.cond(
        block.uncovered.length() > 0,
        rx.callout.root(
            rx.callout.icon(rx.icon("shield-alert")),
            rx.callout.text(
                rx.text("Not covered by any backup job:", weight="bold", as_="span"),
                " ",
                rx.foreach(
                    block.uncovered,
                    lambda name: rx.badge(
                        name,
                        color_scheme="red",
                        variant="surface",
                        margin_right="0.25rem",
                        custom_attrs={"data-testid": "uncovered-ct"},
                    ),
                ),
            ),
            color_scheme="red",
            width="100%",
            custom_attrs={"data-testid": "uncovered"},
        ),
    )


def _problems(block: ClusterBlock) -> rx.Component:
    return rx.foreach(
        block.problems,
        lambda p: rx.callout(
            p,
            icon="triangle-alert",
            color_scheme="amber",
            width="100%",
            custom_attrs={"data-testid": "backup-problem"},
        ),
    )


def cluster_section(block: ClusterBlock) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.icon("server", size=16),
                rx.heading(block.name, size="4", as_="h2"),
                align="center",
                spacing="2",
            ),
            _problems(block),
            rx.cond(
                block.reached,
                rx.vstack(
                    rx.heading("Scheduled backup jobs", size="3", as_="h3"),
                    _jobs(block),
                    _uncovered(block),
                    rx.heading("Containers", size="3", as_="h3"),
                    rx.cond(
                        block.guests.length() > 0,
                        data_table(GUEST_HEADERS, rx.foreach(block.guests, _guest_row), size="1"),
                        muted("This cluster has no containers.", size="2", shade=11),
                    ),
                    spacing="3",
                    width="100%",
                ),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
        custom_attrs={"data-cluster": block.name},
    )


def clusters() -> rx.Component:
    return rx.vstack(rx.foreach(S.clusters, cluster_section), spacing="4", width="100%")
