"""What the wizard starts from: an OS template (the wizard's steps) or a Proxmox CT
template (the clone form)."""

from __future__ import annotations

import reflex as rx

from lxc_manager.pages.components.clone_fields import clone_fields
from lxc_manager.pages.components.controls import busy_button, error_callout
from lxc_manager.pages.components.form import NO_ERRORS, Form, field, radios, select

from .start_state import StartState as St

FORM = Form(errors=NO_ERRORS, id_prefix="start-", fields=("node", "ct_template"))
CHOICES = (
    ("recipe", "An OS template", "start-recipe"),
    ("ct-template", "A Proxmox CT template", "start-ct-template"),
)


def start_choice() -> rx.Component:
    return rx.hstack(
        rx.text("Start from", size="2", weight="medium"),
        radios(CHOICES, St.start, St.set_start),
        spacing="3",
        align="center",
        id="wizard-start",
    )


def _template_picker() -> rx.Component:
    empty = rx.text(
        "No CT template in this cluster: convert a stopped container to a template on its "
        "page (Convert to template…).",
        size="2",
        color=rx.color("gray", 11),
        id="start-no-templates",
    )
    return rx.cond(
        St.listing,
        rx.spinner(),
        rx.cond(
            St.ct_templates.length() > 0,
            field(
                FORM,
                "CT template",
                "ct_template",
                select(FORM, "ct_template", St.template_value, St.choose_template, St.ct_templates),
            ),
            empty,
        ),
    )


def start_panel() -> rx.Component:
    actions = rx.hstack(
        busy_button("Create from the template", St.busy, type="submit", id="start-submit"),
        justify="end",
        width="100%",
    )
    form = rx.cond(
        St.loading,
        rx.center(rx.spinner(), padding="2rem", width="100%"),
        rx.cond(
            St.error != "",
            error_callout(St.error, id="start-load-error"),
            rx.cond(St.template_value != "", clone_fields(St, "start-", actions)),
        ),
    )
    return rx.vstack(
        field(
            FORM,
            "Node",
            "node",
            select(FORM, "node", St.node_value, St.choose_node, St.node_choices),
        ),
        error_callout(St.list_error, id="start-list-error"),
        _template_picker(),
        rx.form(form, on_submit=St.submit, width="100%"),
        spacing="3",
        width="100%",
        max_width="560px",
        id="start-panel",
    )
