"""The page's header (status, HA, nodes) and the Overview tab (origin and facts)."""

from __future__ import annotations

import reflex as rx

from lxc_manager import routes
from lxc_manager.pages.components.controls import note
from lxc_manager.pages.components.layout import back_link, bar
from lxc_manager.pages.container_detail.clone import clone_button, clone_dialog, template_button
from lxc_manager.pages.container_detail.state import ContainerDetailState as S

HA_HINT = "An HA resource: Proxmox HA starts and stops it; deleting it also removes it from HA"


def _status_badge(color: str, text: str | rx.Var[str]) -> rx.Component:
    return rx.badge(text, color_scheme=color, size="2", id="ct-status")


def header() -> rx.Component:
    return bar(
        back_link("All containers", routes.DASHBOARD),
        rx.spacer(),
        clone_button(),
        template_button(S.status == "running", S.is_template),
        clone_dialog(),
        rx.match(
            S.status,
            ("running", _status_badge("green", "running")),
            ("stopped", _status_badge("gray", "stopped")),
            _status_badge("orange", S.status),
        ),
        rx.cond(
            S.ha_managed,
            rx.tooltip(
                rx.badge("managed by HA", color_scheme="purple", size="2", id="ct-ha"),
                content=HA_HINT,
            ),
        ),
        rx.badge(S.node_name, color_scheme="indigo", size="2"),
        rx.badge(S.pve_node, variant="outline", size="2"),
        spacing="2",
    )


def _origin() -> rx.Component:
    return rx.cond(
        S.origin_job_id != "",
        note(
            "layout-template",
            rx.callout.text(
                "Created by LXC Manager from ",
                rx.cond(
                    S.origin_template_id != 0,
                    rx.link(
                        S.origin_template,
                        href=routes.template(S.origin_template_id),
                        weight="bold",
                    ),
                    rx.text.strong(S.origin_template),
                ),
                " · ",
                rx.link(
                    "provisioning job (",
                    S.origin_status,
                    ")",
                    href=routes.job(S.origin_job_id),
                    id="origin-job",
                ),
            ),
            "indigo",
            size="1",
            id="origin",
        ),
    )


def overview() -> rx.Component:
    return rx.vstack(
        _origin(),
        rx.data_list.root(
            rx.foreach(
                S.facts,
                lambda f: rx.data_list.item(
                    rx.data_list.label(f.label), rx.data_list.value(f.value)
                ),
            ),
            id="overview",
        ),
        spacing="3",
        width="100%",
    )
