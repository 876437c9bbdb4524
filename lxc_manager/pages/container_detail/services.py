"""The Services tab: services found inside the container over SSH, with their
credentials masked until revealed (the value goes to the DOM, never into state)."""

from __future__ import annotations

import reflex as rx

from lxc_manager.pages.components.layout import muted
from lxc_manager.pages.components.listing import data_table
from lxc_manager.pages.container_detail.rows import CredentialRow, ServiceRow
from lxc_manager.pages.container_detail.state import ContainerDetailState as S

HEADERS = ("Service", "Kind", "State", "Ports", "Credentials")
INTRO = "Running services inside the container, found over SSH (pct exec)."


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
            on_click=S.reveal(cred.ref, element_id),
        ),
        rx.icon_button(
            rx.icon("copy", size=12),
            size="1",
            variant="ghost",
            aria_label="Copy " + cred.key,
            on_click=S.copy(cred.ref),
        ),
        spacing="1",
        align="center",
    )


def _service_row(svc: ServiceRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.vstack(
                rx.text(svc.unit, weight="bold", size="2"),
                muted(svc.description),
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


def services() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            muted(INTRO, size="2", shade=11),
            rx.spacer(),
            rx.button(
                rx.cond(S.services_loading, rx.spinner(size="2"), rx.icon("refresh-cw", size=14)),
                "Refresh",
                size="1",
                variant="soft",
                on_click=S.load_services(True),
            ),
            width="100%",
            align="center",
        ),
        rx.cond(
            S.services_note != "",
            rx.callout(S.services_note, icon="info", color_scheme="amber", id="services-note"),
        ),
        rx.cond(
            S.services.length() > 0,
            data_table(HEADERS, rx.foreach(S.services, _service_row), id="services-table"),
        ),
        spacing="3",
        width="100%",
    )
