"""The templates list's parts: the toolbar (search, tag filter, actions), the sync report
and the table."""

from __future__ import annotations

import reflex as rx

from lxc_manager import routes
from lxc_manager.pages.components import form as fk
from lxc_manager.pages.components.controls import busy_icon, list_note, row_button
from lxc_manager.pages.components.dialogs import delete_button
from lxc_manager.pages.components.layout import bar, clamped, muted, owner_badge
from lxc_manager.pages.components.listing import data_table

from .rows import TemplateRow
from .state import TemplatesState as S

# The toolbar's controls: a form kit form without errors (filters cannot be wrong).
FILTERS = fk.Form(errors=rx.Var.create({}), id_prefix="template-", fields=("search", "tag-filter"))
HEADERS = ("Template", "OS template", "Tags", "Contents", "")
DELETE_TEXT = (
    "The template ",
    " with its scripts, files and packages is deleted. Containers created from it are not touched.",
)


def sync_button(**props: str) -> rx.Component:
    return rx.button(
        busy_icon(S.syncing, "refresh-cw"),
        "Sync catalog",
        on_click=S.sync,
        disabled=S.syncing,
        **props,
    )


def _filters() -> tuple[rx.Component, rx.Component]:
    return (
        fk.text_input(
            FILTERS,
            "search",
            S.search,
            S.set_search.debounce(250),
            slot=rx.input.slot(rx.icon("search", size=14)),
            placeholder="Search templates",
            aria_label="Search templates",
            width="18rem",
        ),
        fk.select(
            FILTERS,
            "tag-filter",
            S.tag,
            S.set_tag,
            S.tag_choices,
            aria_label="Filter by tag",
            width="auto",
        ),
    )


def toolbar() -> rx.Component:
    return bar(
        *_filters(),
        rx.spacer(),
        rx.link(
            rx.button(rx.icon("package", size=16), "Package buckets", variant="soft"),
            href=routes.PACKAGE_BUCKETS,
        ),
        rx.cond(S.is_admin, sync_button(variant="soft", id="sync-catalog")),
        rx.link(
            rx.button(rx.icon("plus", size=16), "New template", id="new-template"),
            href=routes.template("new"),
        ),
    )


def sync_report() -> rx.Component:
    return list_note(
        S.sync_errors,
        "triangle-alert",
        rx.vstack(
            rx.text(S.sync_summary, ". These templates were not loaded:", weight="bold", size="2"),
            rx.el.ul(
                rx.foreach(
                    S.sync_errors, lambda e: rx.el.li(rx.code(e, variant="ghost", size="1"))
                ),
                style={"paddingLeft": "1rem", "margin": "0"},
            ),
            spacing="2",
        ),
        "amber",
        id="sync-errors",
    )


def _name_cell(row: TemplateRow) -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.link(row.name, href=routes.template(row.id), weight="bold"),
            owner_badge(
                row.badge,
                rx.cond(row.catalog, "indigo", rx.cond(row.can_edit, "green", "gray")),
                row.owner,
            ),
            spacing="2",
            align="center",
        ),
        clamped(row.description, 2, max_width="36rem"),
        spacing="1",
    )


def _actions(row: TemplateRow) -> rx.Component:
    return rx.hstack(
        row_button(
            "copy",
            rx.cond(row.can_edit, "Duplicate", "Duplicate to edit"),
            on_click=S.duplicate(row.id),
        ),
        rx.cond(
            row.can_edit,
            delete_button(row.name, "template", S.delete(row.id), DELETE_TEXT),
            rx.fragment(),
        ),
        spacing="2",
        justify="end",
    )


def _row(row: TemplateRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(_name_cell(row)),
        rx.table.cell(rx.code(row.os_template, variant="ghost"), white_space="nowrap"),
        rx.table.cell(
            rx.flex(
                rx.foreach(row.tags, lambda t: rx.badge(t, variant="soft", color_scheme="gray")),
                gap="1",
                wrap="wrap",
            )
        ),
        rx.table.cell(muted(row.counts, shade=11), min_width="9rem"),
        rx.table.cell(_actions(row)),
        align="center",
        custom_attrs={"data-template": row.name},
    )


def table() -> rx.Component:
    return data_table(HEADERS, rx.foreach(S.rows, _row), id="templates-table")
