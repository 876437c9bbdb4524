"""The clone form's fields (stateless): built on a State that uses `CloneFormMixin`."""

from __future__ import annotations

from typing import Any

import reflex as rx

from lxc_manager.pages.components.clone_form import FIELDS
from lxc_manager.pages.components.controls import error_callout, note
from lxc_manager.pages.components.form import Form, field, number_input, radios, select
from lxc_manager.pages.components.form import text_input as text_box

RUNNING_NOTE = (
    "The container is running: Proxmox copies a running container only from one of its snapshots."
)
TEMPLATE_NOTE = (
    "The source is a template. A linked clone shares the template's disk and is made in "
    "seconds; a full clone is an independent copy."
)
MOVE_NOTE = (
    "On another PVE node the clone needs shared storage (the source's own, or a shared one "
    "chosen below)."
)


def _form(prefix: str, errors: Any) -> Form:
    return Form(errors=errors, id_prefix=prefix, fields=FIELDS)


def _mode(c: Any, form: Form) -> rx.Component:
    prefix = form.id_prefix
    return rx.cond(
        c.linked_possible,
        field(
            form,
            "Kind of clone",
            "full",
            radios(
                (
                    ("linked", "Linked clone", f"{prefix}mode-linked"),
                    ("full", "Full clone", f"{prefix}mode-full"),
                ),
                c.mode,
                lambda v: c.set_choice("mode", v),
            ),
            control_id=f"{prefix}mode-linked",
        ),
        rx.text("A full clone: an independent copy of the container's disks.", size="2"),
    )


def clone_fields(c: Any, prefix: str, actions: rx.Component) -> rx.Component:
    """The form's fields for a State `c` using `CloneFormMixin`; `actions` are its buttons."""
    form = _form(prefix, c.errors)
    vmid_hint = rx.cond(c.vmid_message != "", c.vmid_message, "A free VMID of the cluster")

    def choice(label: str, name: str, items: Any, hint: Any = None) -> rx.Component:
        control = select(form, name, getattr(c, name), lambda v: c.set_choice(name, v), items)
        return field(form, label, name, control, hint=hint)

    return rx.vstack(
        rx.cond(c.source_template, note("info", rx.callout.text(TEMPLATE_NOTE), size="1")),
        rx.cond(c.source_running, note("info", rx.callout.text(RUNNING_NOTE), size="1")),
        _mode(c, form),
        rx.hstack(
            field(
                form,
                "New VMID",
                "newid",
                number_input(
                    form,
                    "newid",
                    c.newid,
                    c.set_newid,
                    debounce_timeout=300,
                    custom_attrs={"name": "newid"},
                ),
                hint=vmid_hint,
            ),
            field(
                form,
                "Host name",
                "hostname",
                text_box(
                    form,
                    "hostname",
                    c.hostname,
                    lambda v: c.set_text("hostname", v),
                    custom_attrs={"name": "hostname"},
                ),
            ),
            width="100%",
            spacing="3",
        ),
        rx.cond(~c.source_template, choice("From", "snapname", c.snapshots)),
        choice("PVE node", "target", c.targets, rx.cond(c.moving, MOVE_NOTE, "")),
        choice(
            "Storage",
            "storage",
            c.storage_choices,
            rx.cond(c.mode == "linked", "A linked clone stays on the template's storage", ""),
        ),
        field(
            form,
            "Description (optional)",
            "description",
            text_box(
                form,
                "description",
                c.description,
                lambda v: c.set_text("description", v),
                custom_attrs={"name": "description"},
            ),
        ),
        error_callout(c.errors.get("form", ""), id=f"{prefix}error"),
        actions,
        spacing="3",
        width="100%",
    )
