"""The wizard's Review step: the configuration, what is sent to Proxmox, and exactly what
runs in the container (resolved on the server), with its digest."""

from __future__ import annotations

import reflex as rx

from lxc_manager.pages.components.controls import error_callout
from lxc_manager.pages.components.layout import muted

from .configure import root_warning
from .rows import ParamRow, ReviewFile, ReviewScript
from .state import WizardState as W

PARAMS_BOX = {
    "padding": "0.75rem",
    "border": f"1px solid {rx.color('gray', 5)}",
    "border_radius": "var(--radius-3)",
    "width": "100%",
}
PARAM_VALUE = {"fontFamily": "var(--code-font-family)", "wordBreak": "break-all"}


def _param(p: ParamRow) -> rx.Component:
    """One parameter of the Proxmox request: its key and value."""
    return rx.hstack(
        rx.code(p.key, size="1"),
        rx.text(p.value, size="1", style=PARAM_VALUE),
        spacing="2",
        align="start",
    )


def _summary_item(label: str, value: rx.Var | str) -> rx.Component:
    return rx.data_list.item(rx.data_list.label(label), rx.data_list.value(value))


def _code_box(content: rx.Var) -> rx.Component:
    return rx.el.pre(
        content,
        style={
            "fontFamily": "var(--code-font-family)",
            "fontSize": "12px",
            "whiteSpace": "pre-wrap",
            "wordBreak": "break-all",
            "maxHeight": "20rem",
            "overflow": "auto",
            "margin": "0.5rem 0 0 0",
            "padding": "0.5rem",
            "background": rx.color("gray", 2),
            "borderRadius": "var(--radius-2)",
        },
    )


def _review_script(row: ReviewScript, index: rx.Var[int]) -> rx.Component:
    return rx.el.details(
        rx.el.summary(
            rx.text(index + 1, ". ", size="2", as_="span"),
            rx.code(row.name, variant="ghost"),
            rx.cond(row.enabled, "", rx.text(" (switched off: not run)", size="1", as_="span")),
        ),
        _code_box(row.content),
        custom_attrs={"data-review-script": row.name},
    )


def _review_file(row: ReviewFile) -> rx.Component:
    return rx.el.details(
        rx.el.summary(
            rx.code(row.target_path, variant="ghost"),
            rx.text(" · ", row.policy, " · ", row.mode, size="1", as_="span"),
        ),
        _code_box(row.content),
        custom_attrs={"data-review-file": row.name},
    )


def _part(label: str, present: rx.Var[bool], items: rx.Component, none: str) -> rx.Component:
    """One part of what runs: its label, then its items or `none`."""
    return rx.fragment(
        rx.text(label, size="2", weight="medium"), rx.cond(present, items, muted(none, size="2"))
    )


def _review_contents() -> rx.Component:
    """Exactly what the job will run (resolved on the server), with its digest."""
    return rx.vstack(
        rx.heading("What runs in the container", size="3", as_="h3"),
        error_callout(W.review_error, width="100%", id="wizard-review-error"),
        _part(
            "Files",
            W.review_files.length() > 0,
            rx.vstack(rx.foreach(W.review_files, _review_file), spacing="1", width="100%"),
            "No files.",
        ),
        _part(
            "Packages (with those of the chosen buckets)",
            W.review_packages.length() > 0,
            rx.flex(
                rx.foreach(W.review_packages, lambda p: rx.code(p, size="1", variant="soft")),
                gap="1",
                wrap="wrap",
                id="wizard-review-packages",
            ),
            "No packages.",
        ),
        _part(
            "Scripts, in this order",
            W.review_scripts.length() > 0,
            rx.vstack(rx.foreach(W.review_scripts, _review_script), spacing="1", width="100%"),
            "No scripts.",
        ),
        rx.hstack(
            muted("Content digest (SHA-256)"),
            rx.code(W.review_digest, size="1", variant="ghost", id="wizard-review-digest"),
            spacing="2",
            wrap="wrap",
        ),
        spacing="2",
        width="100%",
        id="wizard-review-contents",
    )


def review_step() -> rx.Component:
    return rx.vstack(
        root_warning("wizard-review-root-warning"),
        rx.grid(
            rx.data_list.root(
                _summary_item(
                    "Template", rx.cond(W.template_name != "", W.template_name, "Blank container")
                ),
                _summary_item("Node", W.node_name + " / " + W.pve_node),
                _summary_item("VMID", W.vmid),
                _summary_item("Hostname", W.hostname),
                _summary_item("OS template", W.os_template),
                _summary_item(
                    "Resources",
                    W.cores
                    + " cores · "
                    + W.memory_mb
                    + " MB memory · "
                    + W.swap_mb
                    + " MB swap · "
                    + W.disk_gb
                    + " GB on "
                    + W.storage,
                ),
                _summary_item(
                    "Network", W.bridge + " · " + rx.cond(W.ip_mode == "dhcp", "DHCP", W.ipv4)
                ),
                _summary_item(
                    "Provisioning",
                    W.files_count.to_string()
                    + " files · "
                    + W.packages.length().to_string()
                    + " packages (+ buckets) · "
                    + W.enabled_scripts.to_string()
                    + " scripts",
                ),
                size="2",
            ),
            rx.vstack(
                rx.text(
                    "Sent to Proxmox (POST /nodes/", W.pve_node, "/lxc)", size="2", weight="medium"
                ),
                rx.box(rx.foreach(W.review_params, _param), id="wizard-params", **PARAMS_BOX),
                spacing="2",
                width="100%",
            ),
            columns=rx.breakpoints(initial="1", md="2"),
            spacing="5",
            width="100%",
        ),
        _review_contents(),
        spacing="4",
        width="100%",
    )
