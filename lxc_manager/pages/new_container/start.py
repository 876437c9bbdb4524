"""What the wizard starts from: an OS template (the wizard's steps), a Proxmox CT template
(the clone form) or a backup (restored as a new container)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from lxc_manager.pages.components.clone_fields import clone_fields
from lxc_manager.pages.components.controls import busy_button, error_callout
from lxc_manager.pages.components.form import NO_ERRORS, Form, field, radios, select, text_input

from .start_state import RESTORE_FIELDS
from .start_state import StartState as St

FORM = Form(errors=NO_ERRORS, id_prefix="start-", fields=("node", "ct_template", "backup"))
RESTORE = Form(errors=St.restore_errors, id_prefix="restore-", fields=RESTORE_FIELDS)
CHOICES = (
    ("recipe", "An OS template", "start-from-recipe"),
    ("ct-template", "A Proxmox CT template", "start-from-ct-template"),
    ("backup", "A backup", "start-from-backup"),
)
NO_TEMPLATES = (
    "No CT template in this cluster: convert a stopped container to a template on its page "
    "(Convert to template…)."
)
NO_BACKUPS = "No container backup on this cluster's storages yet."


def start_choice() -> rx.Component:
    return rx.hstack(
        rx.text("Start from", size="2", weight="medium"),
        radios(CHOICES, St.start, St.set_start, wrap="wrap"),
        spacing="3",
        align="center",
        wrap="wrap",
        id="wizard-start",
    )


def _picker(
    name: str, label: str, items: rx.Var, value: rx.Var, on_change, empty: str
) -> rx.Component:  # type: ignore[type-arg,no-untyped-def]
    return rx.cond(
        St.listing,
        rx.spinner(),
        rx.cond(
            items.length() > 0,
            field(FORM, label, name, select(FORM, name, value, on_change, items)),
            rx.text(empty, size="2", color=rx.color("gray", 11), id=f"start-no-{name}"),
        ),
    )


def _busy_or(content: rx.Component) -> rx.Component:
    return rx.cond(
        St.loading,
        rx.center(rx.spinner(), padding="2rem", width="100%"),
        rx.cond(St.error != "", error_callout(St.error, id="start-load-error"), content),
    )


def _template_form() -> rx.Component:
    actions = rx.hstack(
        busy_button("Create from the template", St.busy, type="submit", id="start-submit"),
        justify="end",
        width="100%",
    )
    form = _busy_or(rx.cond(St.template_value != "", clone_fields(St, "start-", actions)))
    return rx.form(form, on_submit=St.submit, width="100%")


def _restore_form() -> rx.Component:
    def choice(label: str, name: str, items: Any) -> rx.Component:
        control = select(
            RESTORE, name, getattr(St, f"restore_{name}"),
            lambda v: St.set_restore(f"restore_{name}", v), items,
        )  # fmt: skip
        return field(RESTORE, label, name, control)

    def text(label: str, name: str) -> rx.Component:
        control = text_input(
            RESTORE, name, getattr(St, f"restore_{name}"),
            lambda v: St.set_restore(f"restore_{name}", v), custom_attrs={"name": name},
        )  # fmt: skip
        return field(RESTORE, label, name, control)

    fields = rx.vstack(
        rx.hstack(text("New VMID", "vmid"), text("Host name", "hostname"), width="100%"),
        choice("PVE node", "pve_node", St.restore_nodes),
        choice("Storage", "storage", St.restore_storage_choices),
        error_callout(St.restore_errors.get("form", ""), id="restore-error"),
        rx.hstack(
            busy_button("Restore as a new container", St.busy, type="submit", id="restore-submit"),
            justify="end",
            width="100%",
        ),
        spacing="3",
        width="100%",
    )
    return rx.form(
        _busy_or(rx.cond(St.backup_value != "", fields)), on_submit=St.restore, width="100%"
    )


def start_panel() -> rx.Component:
    return rx.vstack(
        field(
            FORM,
            "Node",
            "node",
            select(FORM, "node", St.node_value, St.choose_node, St.node_choices),
        ),
        error_callout(St.list_error, id="start-list-error"),
        rx.cond(
            St.start == "ct-template",
            rx.fragment(
                _picker(
                    "ct_template",
                    "CT template",
                    St.ct_templates,
                    St.template_value,
                    St.choose_template,
                    NO_TEMPLATES,
                ),
                _template_form(),
            ),
            rx.fragment(
                _picker(
                    "backup", "Backup", St.backups, St.backup_value, St.choose_backup, NO_BACKUPS
                ),
                _restore_form(),
            ),
        ),
        spacing="3",
        width="100%",
        max_width="560px",
        id="start-panel",
    )
