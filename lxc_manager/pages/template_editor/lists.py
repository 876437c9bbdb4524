"""The editor's Scripts, Files and Packages tabs: the lists, with their rows' errors."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

import reflex as rx

from lxc_manager import routes
from lxc_manager.pages.components.controls import row_button
from lxc_manager.pages.components.form import error
from lxc_manager.pages.components.layout import muted
from lxc_manager.pages.components.package_form import package_form
from lxc_manager.pages.components.recipe import PackageRow
from lxc_manager.pages.components.recipe_parts import (
    bucket_picker,
    move_buttons,
    remove_button,
    version_cell,
)

from .configuration import FORM
from .dialogs import file_dialog, script_dialog
from .rows import FileRow, ScriptRow
from .state import TemplateEditorState as S

FILE_HEADERS = ("Name", "Target", "Policy", "Mode", "")


def _row_error(key: rx.Var[str]) -> rx.Component:
    """The error of one item's field (e.g. "scripts.2.name"), from the last save."""
    return rx.cond(
        S.errors.contains(key), rx.text(S.errors[key], size="1", color=rx.color("red", 11))
    )


def _editable(component: rx.Component) -> rx.Component:
    return rx.cond(S.read_only, rx.fragment(), component)


def _edit_remove(
    name: rx.Var[str], on_open: rx.EventSpec, on_remove: rx.EventSpec
) -> tuple[rx.Component, rx.Component]:
    """ "Edit" (or "View" when read-only) and, when editable, a remove button."""
    return (
        row_button(
            rx.cond(S.read_only, "eye", "pencil"),
            rx.cond(S.read_only, "View", "Edit"),
            on_click=on_open,
        ),
        _editable(remove_button(name, on_remove)),
    )


def _section_header(text: str, label: str, on_add: rx.EventSpec, button_id: str) -> rx.Component:
    """What the tab holds, and its "Add" button unless the template is read-only."""
    return rx.hstack(
        muted(text, size="2", shade=11),
        rx.spacer(),
        _editable(
            rx.button(rx.icon("plus", size=14), label, size="2", on_click=on_add, id=button_id)
        ),
        width="100%",
        align="center",
    )


def _table(rows: rx.Component, table_id: str, headers: Sequence[str] = ()) -> rx.Component:
    head = rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in headers]))
    return rx.table.root(
        *([head] if headers else []),
        rx.table.body(rows),
        variant="surface",
        width="100%",
        id=table_id,
    )


def _code_cell(text: rx.Var[str], *below: rx.Component) -> rx.Component:
    """A cell with `text` as code and, below it, its notes and errors."""
    return rx.table.cell(rx.vstack(rx.code(text, variant="ghost"), *below, spacing="1"))


def _actions_cell(*buttons: rx.Component) -> rx.Component:
    """The row's buttons, at the end of the row."""
    return rx.table.cell(rx.hstack(*buttons, spacing="2", justify="end"))


def _script_row(row: ScriptRow, index: rx.Var[int]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(index + 1, color=rx.color("gray", 10))),
        _code_cell(
            row.name, _row_error(f"scripts.{index}.name"), _row_error(f"scripts.{index}.content")
        ),
        rx.table.cell(muted(row.lines, " lines", size="1")),
        rx.table.cell(
            rx.switch(
                checked=row.enabled,
                on_change=lambda v: S.toggle_script(index, v),
                disabled=S.read_only,
                aria_label=f"Enable {row.name}",
            )
        ),
        _actions_cell(
            _editable(move_buttons(index, S.scripts.length(), row.name, S.move_script)),
            *_edit_remove(row.name, S.open_script(index), S.remove_script(index)),
        ),
        align="center",
        custom_attrs={"data-script": row.name},
    )


def _item_tab(
    kind: Literal["script", "file"],
    intro: str,
    row: Callable[[Any, rx.Var[int]], rx.Component],
    dialog: rx.Component,
    headers: Sequence[str] = (),
) -> rx.Component:
    """A tab of items edited in a dialog (`kind`: "script", "file"): what it holds, its
    "Add" button, the list's error, the table of `row`s (or "No …s.") and the dialog."""
    rows = getattr(S, f"{kind}s")
    table = _table(rx.foreach(rows, row), f"{kind}s-table", headers)
    on_add = getattr(S, f"open_{kind}")(-1)
    count = rows.length()
    return rx.vstack(
        _section_header(intro, f"Add {kind}", on_add, f"add-{kind}"),
        error(FORM, f"{kind}s"),
        rx.cond(count > 0, table, muted(f"No {kind}s.", size="2")),
        dialog,
        spacing="3",
        width="100%",
    )


def scripts_tab() -> rx.Component:
    intro = (
        "Scripts run in this order after the packages are installed. Disabled scripts are skipped."
    )
    return _item_tab("script", intro, _script_row, script_dialog())


def _file_row(row: FileRow, index: rx.Var[int]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.code(row.name, variant="ghost")),
        _code_cell(row.target_path, _row_error(f"files.{index}.target_path")),
        rx.table.cell(rx.badge(row.policy, variant="soft")),
        rx.table.cell(rx.code(row.mode, variant="ghost")),
        _actions_cell(*_edit_remove(row.name, S.open_file(index), S.remove_file(index))),
        align="center",
        custom_attrs={"data-file": row.name},
    )


def files_tab() -> rx.Component:
    intro = "Files are written into the container before packages and scripts."
    return _item_tab("file", intro, _file_row, file_dialog(), FILE_HEADERS)


def _package_row(row: PackageRow, index: rx.Var[int]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.badge(row.manager, variant="soft")),
        _code_cell(
            row.name,
            rx.cond(row.command != "", muted(row.command, size="1")),
            _row_error(f"packages.{index}.name"),
        ),
        version_cell(row.version),
        rx.table.cell(_editable(remove_button(row.name, S.remove_package(index)))),
        align="center",
        custom_attrs={"data-package": row.name},
    )


def packages_tab() -> rx.Component:
    no_buckets = muted(
        "No package buckets yet. ",
        rx.link("Create one", href=routes.PACKAGE_BUCKETS),
        " to share a list of packages between templates.",
        size="2",
    )
    return rx.vstack(
        muted(
            "Installed after the files: apt packages first (one apt-get update), "
            "then npm, pip and custom ones.",
            size="2",
            shade=11,
        ),
        _editable(package_form(S.pkg_manager, S.pkg_errors, S.set_pkg_manager, S.add_package)),
        error(FORM, "packages"),
        rx.cond(
            S.packages.length() > 0,
            _table(
                rx.foreach(S.packages, _package_row),
                "packages-table",
                ("Manager", "Package", "Version", ""),
            ),
            muted("No packages of its own.", size="2"),
        ),
        rx.heading("Package buckets", size="3", as_="h3", margin_top="0.5rem"),
        bucket_picker(S.bucket_names, S.buckets, S.toggle_bucket, no_buckets, S.read_only),
        error(FORM, "buckets"),
        spacing="3",
        width="100%",
    )
