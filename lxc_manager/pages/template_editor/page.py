"""`/templates/{id}` and `/templates/new`: one template, in tabs (Configuration, Scripts,
Files, Packages), saved whole."""

from __future__ import annotations

import reflex as rx

from lxc_manager import routes
from lxc_manager.pages.components.layout import muted, page_shell

from .configuration import configuration
from .lists import files_tab, packages_tab, scripts_tab
from .state import TemplateEditorState as S

ROUTE = routes.TEMPLATE
TITLE = "Template"
ON_LOAD = S.load


def _header() -> rx.Component:
    return rx.hstack(
        rx.link(
            rx.hstack(
                rx.icon("arrow-left", size=14),
                rx.text("Templates", size="2"),
                spacing="1",
                align="center",
            ),
            href=routes.TEMPLATES,
        ),
        rx.box(
            rx.cond(
                S.catalog,
                rx.badge("catalog · read-only", color_scheme="indigo", variant="soft"),
                rx.cond(
                    S.template_id == 0,
                    rx.badge("new", color_scheme="green", variant="soft"),
                    rx.cond(
                        S.owner_label == "",
                        rx.badge("mine · ", S.visibility, color_scheme="green", variant="soft"),
                        rx.badge(
                            "shared by ",
                            S.owner_label,
                            rx.cond(S.read_only, " · read-only", ""),
                            color_scheme=rx.cond(S.read_only, "gray", "amber"),
                            variant="soft",
                        ),
                    ),
                ),
            ),
            id="template-owner-badge",
        ),
        rx.cond(S.updated != "", muted("Saved ", S.updated)),
        rx.spacer(),
        rx.cond(
            S.dirty, rx.text("Unsaved changes", size="2", color=rx.color("amber", 11), id="unsaved")
        ),
        rx.cond(
            S.read_only,
            rx.button(
                rx.icon("copy", size=14),
                "Duplicate to edit",
                on_click=S.duplicate,
                id="duplicate-template",
            ),
            rx.hstack(
                rx.cond(
                    S.template_id != 0,
                    rx.button(
                        rx.icon("copy", size=14), "Duplicate", variant="soft", on_click=S.duplicate
                    ),
                ),
                rx.button(
                    rx.icon("save", size=14), "Save template", on_click=S.save, id="save-template"
                ),
                spacing="2",
            ),
        ),
        width="100%",
        align="center",
        spacing="3",
        wrap="wrap",
    )


def _tab_label(text: str, count: rx.Var | None = None) -> rx.Component:
    return rx.hstack(
        rx.text(text),
        *([rx.badge(count, variant="soft", radius="full")] if count is not None else []),
        spacing="2",
        align="center",
    )


def _editor() -> rx.Component:
    return rx.vstack(
        _header(),
        rx.cond(
            S.errors.contains("template"),
            rx.callout(
                S.errors["template"],
                icon="circle-alert",
                color_scheme="red",
                role="alert",
                width="100%",
            ),
        ),
        rx.tabs.root(
            rx.tabs.list(
                rx.tabs.trigger(_tab_label("Configuration"), value="configuration"),
                rx.tabs.trigger(
                    _tab_label("Scripts", S.scripts.length()), value="scripts", id="tab-scripts"
                ),
                rx.tabs.trigger(
                    _tab_label("Files", S.files.length()), value="files", id="tab-files"
                ),
                rx.tabs.trigger(
                    _tab_label("Packages", S.packages.length()), value="packages", id="tab-packages"
                ),
            ),
            rx.tabs.content(configuration(), value="configuration", padding_top="1rem"),
            rx.tabs.content(scripts_tab(), value="scripts", padding_top="1rem"),
            rx.tabs.content(files_tab(), value="files", padding_top="1rem"),
            rx.tabs.content(packages_tab(), value="packages", padding_top="1rem"),
            value=S.tab,
            on_change=S.set_tab,
            width="100%",
        ),
        spacing="4",
        width="100%",
        custom_attrs={"data-ready": "true"},
        id="template-editor",
    )


def page() -> rx.Component:
    return page_shell(
        TITLE,
        rx.cond(
            S.loaded,
            rx.cond(
                S.missing,
                rx.callout(
                    "This template does not exist (it may have been deleted).",
                    icon="circle-alert",
                    color_scheme="red",
                ),
                _editor(),
            ),
            rx.center(rx.spinner(), width="100%", padding="2rem"),
        ),
    )
