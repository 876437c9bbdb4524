"""The container page's Clone dialog and "Convert to template" button (header actions)."""

from __future__ import annotations

import reflex as rx

from lxc_manager.pages.components.clone_fields import clone_fields
from lxc_manager.pages.components.controls import error_callout
from lxc_manager.pages.components.dialogs import confirm_button, dialog_actions, form_dialog
from lxc_manager.pages.container_detail.clone_state import CloneState as C

TEMPLATE_TEXT = (
    "Proxmox turns the container into a template: it can no longer be started or changed, "
    "only cloned (linked clones share its disk)."
)


def clone_dialog() -> rx.Component:
    body = rx.cond(
        C.loading,
        rx.center(rx.spinner(), padding="2rem", width="100%"),
        rx.cond(
            C.error != "",
            error_callout(C.error, id="clone-load-error"),
            clone_fields(C, "clone-", dialog_actions("Clone", "clone-submit", C.busy)),
        ),
    )
    return form_dialog(
        rx.text("Clone ", rx.code(C.source_hostname)),
        rx.form(body, on_submit=C.submit),
        open_=C.open,
        on_open_change=C.set_open,
        max_width="560px",
        description=rx.dialog.description(
            "A new container from this one, as it is now or as a snapshot left it.", size="2"
        ),
    )


def clone_button() -> rx.Component:
    return rx.button(
        rx.icon("copy", size=14),
        "Clone…",
        size="1",
        variant="soft",
        on_click=C.open_dialog,
        id="ct-clone",
    )


def template_button(running: rx.Var[bool], is_template: rx.Var[bool]) -> rx.Component:
    """ "Convert to template…" with a confirmation that says it cannot be undone (disabled
    while the container runs); a "template" badge once it is one."""
    said = rx.vstack(
        rx.text(TEMPLATE_TEXT, size="2"),
        rx.text("This cannot be undone.", size="2", weight="bold"),
        spacing="2",
    )
    trigger = rx.button(
        rx.icon("layout-template", size=14),
        "Convert to template…",
        size="1",
        variant="soft",
        color_scheme="orange",
        disabled=running | C.converting,
        title=rx.cond(running, "Stop the container first", ""),
        id="ct-to-template",
    )
    return rx.cond(
        is_template,
        rx.badge("template", color_scheme="orange", size="2", id="ct-template"),
        confirm_button(
            trigger, "Convert to a template?", said, "Convert", C.convert, color="orange"
        ),
    )
