"""The "add a package" form row, shared by the template editor and the creation wizard."""

from __future__ import annotations

from collections.abc import Iterable

import reflex as rx

from lxc_manager.pages.components.form import Form, error, select, text_input
from lxc_manager.templates.packages import new_package
from lxc_manager.templates.spec import PACKAGE_MANAGERS, PackageSpec

# The form's controls (submitted under these names) and the keys of its errors.
PACKAGE_FIELDS = ("manager", "name", "version", "command")


def package_from_form(
    manager: str, form: dict[str, str], listed: Iterable[tuple[str, str]]
) -> tuple[PackageSpec | None, dict[str, str]]:
    """The package the submitted form describes and what is wrong with it ({} when it may
    be added); `listed` holds the (manager, name) pairs already in the list."""
    return new_package(
        manager, form.get("name", ""), form.get("version", ""), form.get("command", ""), listed
    )


def package_form(
    manager: rx.Var[str],
    errors: rx.Var[dict[str, str]],
    on_manager: rx.EventHandler,
    on_submit: rx.EventHandler,
    prefix: str = "",
) -> rx.Component:
    """Manager, name, version (or install command for custom) and an Add button; the
    element ids start with `prefix` (`{prefix}pkg-name`, `{prefix}add-package`, ...)."""
    form = Form(errors=errors, id_prefix=f"{prefix}pkg-", fields=PACKAGE_FIELDS)
    component: rx.Component = rx.form(
        rx.vstack(
            rx.hstack(
                select(
                    form,
                    "manager",
                    manager,
                    on_manager,
                    [(m, m) for m in PACKAGE_MANAGERS],
                    aria_label="Package manager",
                    width="auto",
                ),
                text_input(
                    form,
                    "name",
                    placeholder="Package name",
                    width="14rem",
                    aria_label="Package name",
                ),
                rx.cond(
                    manager == "custom",
                    text_input(
                        form,
                        "command",
                        placeholder="Install command, e.g. curl -fsSL https://… | sh",
                        width="22rem",
                        aria_label="Install command",
                    ),
                    text_input(
                        form,
                        "version",
                        placeholder="Version (optional)",
                        width="10rem",
                        aria_label="Version",
                    ),
                ),
                rx.button(
                    rx.icon("plus", size=14),
                    "Add package",
                    type="submit",
                    variant="soft",
                    id=f"{prefix}add-package",
                ),
                spacing="2",
                align="center",
                wrap="wrap",
            ),
            error(form, "manager"),
            error(form, "name"),
            error(form, "version"),
            error(form, "command"),
            spacing="1",
        ),
        on_submit=on_submit,
        reset_on_submit=False,
    )
    return component
