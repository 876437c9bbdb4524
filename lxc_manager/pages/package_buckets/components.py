"""The package buckets page's parts: a bucket's card and the add/edit dialog."""

from __future__ import annotations

import reflex as rx

from lxc_manager.pages.components import form as fk
from lxc_manager.pages.components.controls import row_button
from lxc_manager.pages.components.dialogs import delete_button, dialog_actions, form_dialog
from lxc_manager.pages.components.layout import muted, owner_badge
from lxc_manager.templates.spec import VISIBILITY_LABELS

from .rows import BucketRow
from .state import BucketsState as S

EXAMPLE = "apt: curl\napt: htop=3.2*\npip: httpie\nnpm: pm2@5"
SYNTAX = (
    "apt: name[=version] · pip: name[==version] · npm: name[@version] · "
    "custom: name -> install command"
)
FIELDS = ("name", "description", "packages", "visibility", "bucket")
BUCKET = fk.Form(errors=S.errors, id_prefix="bucket-", fields=FIELDS)
NATIVE_SELECT = {
    "padding": "0.4rem",
    "borderRadius": "var(--radius-2)",
    "border": f"1px solid {rx.color('gray', 7)}",
    "background": "transparent",
    "color": "inherit",
}
DELETE_TEXT = ("The bucket ", " is deleted. Templates keep their own packages.")


def _visibility() -> rx.Component:
    # A native select: the dialog is a submitted form, and it sends this one's value.
    return rx.el.select(
        *[rx.el.option(label, value=key) for key, label in VISIBILITY_LABELS.items()],
        name="visibility",
        id=BUCKET.control_id("visibility"),
        default_value=S.f_visibility,
        disabled=~S.f_owns,
        custom_attrs=BUCKET.a11y("visibility"),
        style=NATIVE_SELECT,
    )


def _fields() -> rx.Component:
    return rx.vstack(
        fk.field(
            BUCKET,
            "Name",
            "name",
            fk.text_input(BUCKET, "name", default_value=S.f_name, required=True, auto_focus=True),
        ),
        fk.field(
            BUCKET,
            "Description",
            "description",
            fk.text_input(BUCKET, "description", default_value=S.f_description),
        ),
        fk.field(
            BUCKET,
            "Packages, one per line",
            "packages",
            fk.textarea(
                BUCKET,
                "packages",
                default_value=S.f_packages,
                placeholder=EXAMPLE,
                rows="10",
                spell_check=False,
                style={"fontFamily": "var(--code-font-family)", "fontSize": "13px"},
            ),
            hint=SYNTAX,
        ),
        fk.field(BUCKET, "Who sees it", "visibility", _visibility()),
        fk.error(BUCKET, "bucket"),
        dialog_actions("Save bucket", "bucket-save"),
        spacing="2",
        width="100%",
    )


def dialog() -> rx.Component:
    return form_dialog(
        rx.cond(S.editing_id != 0, "Edit bucket", "New package bucket"),
        rx.form(_fields(), on_submit=S.save, reset_on_submit=False),
        open_=S.dialog_open,
        on_open_change=S.set_dialog_open,
        max_width="40rem",
    )


def _actions(row: BucketRow) -> rx.Component:
    return rx.cond(
        row.can_edit,
        rx.hstack(
            row_button("pencil", "Edit", on_click=S.open_edit(row.id)),
            delete_button(row.name, "bucket", S.delete(row.id), DELETE_TEXT),
            spacing="2",
        ),
    )


def bucket_card(row: BucketRow) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.text(row.name, weight="bold", size="3"),
                rx.badge(row.packages.length(), " packages", variant="soft"),
                owner_badge(row.badge, rx.cond(row.can_edit, "green", "gray"), row.owner),
                rx.spacer(),
                _actions(row),
                width="100%",
                align="center",
                spacing="2",
            ),
            rx.cond(
                row.description != "",
                muted(row.description, size="2", shade=11),
            ),
            rx.flex(
                rx.foreach(row.packages, lambda p: rx.code(p, size="1", variant="soft")),
                gap="1",
                wrap="wrap",
            ),
            rx.cond(row.used_by != "", muted("Used by ", row.used_by)),
            spacing="2",
            width="100%",
        ),
        width="100%",
        custom_attrs={"data-bucket": row.name},
    )
