"""The "add a package" form row, shared by the template editor and the creation wizard."""

from __future__ import annotations

from collections.abc import Iterable

import reflex as rx

from lxc_manager.templates.spec import PACKAGE_MANAGERS, PackageSpec, validate_package


def package_from_form(
    manager: str, form: dict[str, str], listed: Iterable[tuple[str, str]]
) -> tuple[PackageSpec, dict[str, str]]:
    """The package the form describes and what is wrong with it ({} when it may be added);
    `listed` holds the (manager, name) pairs already in the list."""
    pkg = PackageSpec(
        manager=manager,  # type: ignore[arg-type]
        name=form.get("pkg_name", "").strip(),
        version=form.get("pkg_version", "").strip(),
        command=form.get("pkg_command", "").strip() if manager == "custom" else "",
    )
    problems = validate_package(pkg)
    if not problems and (pkg.manager, pkg.name.lower()) in {(m, n.lower()) for m, n in listed}:
        problems = {"name": f"{pkg.name} ({pkg.manager}) is already in the list"}
    return pkg, problems


def package_form(
    manager: rx.Var[str],
    errors: rx.Var[dict[str, str]],
    on_manager: rx.EventHandler,
    on_submit: rx.EventHandler,
    prefix: str = "",
) -> rx.Component:
    """Manager, name, version (or install command for custom) and an Add button; the
    element ids start with `prefix` (`{prefix}pkg-name`, `{prefix}add-package`, ...)."""

    def error(name: str) -> rx.Component:
        return rx.cond(
            errors.contains(name),
            rx.text(
                errors[name],
                size="1",
                color=rx.color("red", 11),
                role="alert",
                id=f"{prefix}pkg-{name}-error",
            ),
        )

    return rx.form(
        rx.vstack(
            rx.hstack(
                rx.select.root(
                    rx.select.trigger(aria_label="Package manager", id=f"{prefix}pkg-manager"),
                    rx.select.content(*[rx.select.item(m, value=m) for m in PACKAGE_MANAGERS]),
                    value=manager,
                    on_change=on_manager,
                ),
                rx.input(
                    name="pkg_name",
                    id=f"{prefix}pkg-name",
                    placeholder="Package name",
                    width="14rem",
                    aria_label="Package name",
                ),
                rx.cond(
                    manager == "custom",
                    rx.input(
                        name="pkg_command",
                        id=f"{prefix}pkg-command",
                        placeholder="Install command, e.g. curl -fsSL https://… | sh",
                        width="22rem",
                        aria_label="Install command",
                    ),
                    rx.input(
                        name="pkg_version",
                        id=f"{prefix}pkg-version",
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
            error("name"),
            error("version"),
            error("command"),
            spacing="1",
        ),
        on_submit=on_submit,
        reset_on_submit=False,
    )
