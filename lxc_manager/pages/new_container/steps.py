"""The wizard's Template, Packages and Scripts steps."""

from __future__ import annotations

import reflex as rx

from lxc_manager import routes
from lxc_manager.pages.components.form import error
from lxc_manager.pages.components.layout import clamped, muted
from lxc_manager.pages.components.package_form import package_form
from lxc_manager.pages.components.recipe import PackageRow
from lxc_manager.pages.components.recipe_parts import (
    bucket_picker,
    move_buttons,
    remove_button,
    version_cell,
)

from .configure import FORM
from .rows import ScriptRow, TemplateChoice
from .state import WizardState as W


def _chosen_border(selected: rx.Var[bool]) -> rx.Var[str]:
    return rx.cond(selected, f"2px solid {rx.color('accent', 9)}", "2px solid transparent")


def _template_card(choice: TemplateChoice) -> rx.Component:
    selected = W.template_id == choice.id
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.icon("layout-template", size=18, color=rx.color("accent", 10)),
                rx.text(choice.name, weight="bold"),
                rx.spacer(),
                rx.cond(selected, rx.badge("selected", color_scheme="indigo")),
                width="100%",
                align="center",
            ),
            clamped(choice.description, 3, shade=11),
            rx.hstack(
                rx.code(choice.os_template, size="1", variant="ghost"),
                muted(choice.counts, size="1"),
                spacing="2",
                wrap="wrap",
            ),
            spacing="2",
            align="start",
            width="100%",
        ),
        as_child=False,
        on_click=W.choose_template(choice.id),
        cursor="pointer",
        tab_index=0,
        role="button",
        aria_label=f"Use template {choice.name}",
        border=_chosen_border(selected),
        custom_attrs={"data-template-choice": choice.name},
    )


def template_step() -> rx.Component:
    blank = rx.card(
        rx.vstack(
            rx.hstack(
                rx.icon("box", size=18), rx.text("Blank container", weight="bold"), spacing="2"
            ),
            muted(
                "Just the OS template: no files, packages or scripts. Works on nodes without SSH.",
                shade=11,
            ),
            spacing="2",
            align="start",
        ),
        on_click=W.choose_template(0),
        cursor="pointer",
        tab_index=0,
        role="button",
        aria_label="Blank container",
        border=_chosen_border(W.template_id == 0),
        custom_attrs={"data-template-choice": "blank"},
    )
    return rx.vstack(
        muted("Start from a template, or from a blank container.", size="2", shade=11),
        rx.grid(
            blank,
            rx.foreach(W.template_choices, _template_card),
            columns=rx.breakpoints(initial="1", sm="2", lg="3"),
            spacing="3",
            width="100%",
        ),
        rx.cond(
            W.template_choices.length() == 0,
            muted(
                "No templates yet: ",
                rx.link("open Templates and sync the catalog", href=routes.TEMPLATES),
                " to start from a recipe.",
                size="2",
            ),
        ),
        spacing="3",
        width="100%",
    )


def _package_row(row: PackageRow, index: rx.Var[int]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.badge(row.manager, variant="soft")),
        rx.table.cell(rx.code(row.name, variant="ghost")),
        version_cell(row.version),
        rx.table.cell(muted(row.source, size="1")),
        rx.table.cell(remove_button(row.name, W.remove_package(index), "x", "gray")),
        align="center",
        custom_attrs={"data-package": row.name},
    )


def packages_step() -> rx.Component:
    return rx.vstack(
        rx.heading("Package buckets", size="3", as_="h3"),
        bucket_picker(
            W.bucket_names,
            W.buckets,
            W.toggle_bucket,
            muted("No package buckets defined.", size="2"),
        ),
        rx.heading("Packages", size="3", as_="h3"),
        package_form(W.pkg_manager, W.pkg_errors, W.set_pkg_manager, W.add_package, "wizard-"),
        rx.cond(
            W.packages.length() > 0,
            rx.table.root(
                rx.table.body(rx.foreach(W.packages, _package_row)), variant="surface", width="100%"
            ),
            muted("No packages besides those of the chosen buckets.", size="2"),
        ),
        error(FORM, "packages"),
        spacing="3",
        width="100%",
    )


def _script_row(row: ScriptRow, index: rx.Var[int]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(index + 1, color=rx.color("gray", 10))),
        rx.table.cell(rx.code(row.name, variant="ghost")),
        rx.table.cell(
            rx.switch(
                checked=row.enabled,
                on_change=lambda v: W.toggle_script(index, v),
                aria_label=rx.Var.create("Run ") + row.name,
            )
        ),
        rx.table.cell(
            rx.hstack(move_buttons(index, W.scripts.length(), row.name, W.move_script), spacing="2")
        ),
        align="center",
        custom_attrs={"data-script": row.name},
    )


def scripts_step() -> rx.Component:
    return rx.vstack(
        muted(
            "Scripts run in this order, after files and packages. Switch off the ones to skip.",
            size="2",
            shade=11,
        ),
        rx.cond(
            W.scripts.length() > 0,
            rx.table.root(
                rx.table.body(rx.foreach(W.scripts, _script_row)), variant="surface", width="100%"
            ),
            muted("This container runs no scripts.", size="2"),
        ),
        rx.cond(
            W.files_count > 0,
            muted(W.files_count, " files from the template are written first.", size="2", shade=11),
        ),
        error(FORM, "scripts"),
        spacing="3",
        width="100%",
    )
