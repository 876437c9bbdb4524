"""One grammar for package lines, so the catalog and package buckets read a package alike.

- A catalog package list (`packages/web.apt`) has one package per line; its file name says
  the manager: `parse_package("apt", "nginx=1.22*")`.
- A bucket's text names the manager on each line: `parse_package_line("apt: nginx=1.22*")`,
  and `custom: name -> command` for a package installed by a command.

A version is exact per manager: `name=version` (apt, `*` allowed as the pattern apt takes),
`name==version` (pip), `name@version` (npm, after an optional `@scope/`). A `#` after
whitespace starts a comment (not in a custom command: that is bash). Whether the name and
version are valid is `spec.validate_package`'s word; this module is the syntax only.

    parse_package_line("pip: httpie==3.2")   # PackageSpec("pip", "httpie", "3.2")
    package_line(PackageSpec("npm", "pm2", "5"))   # "npm: pm2@5"
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TypeGuard

from .spec import PACKAGE_MANAGERS, PackageManager, PackageSpec, validate_package

__all__ = [
    "SYNTAX_HINT",
    "PackageLineError",
    "is_package_manager",
    "new_package",
    "package_line",
    "package_spec",
    "parse_package",
    "parse_package_line",
    "parse_package_lines",
]

SYNTAX_HINT = "write `apt: name`, `pip: name`, `npm: name` or `custom: name -> command`"
_INLINE_COMMENT = re.compile(r"(^|\s)#.*$")
_PIP_OPERATORS = re.compile(r"(===|~=|!=|<=|>=|<|>|@|;)")


class PackageLineError(ValueError):
    """A line that is not a package; `str(error)` is the message for the user."""


def parse_package(manager: PackageManager, raw: str) -> PackageSpec | None:
    """One package of a `manager` list; None for a blank or comment line.

    Raises PackageLineError for a line that is not one package with an exact version."""
    line = _INLINE_COMMENT.sub("", raw).strip()
    if not line:
        return None
    if len(line.split()) > 1:
        raise PackageLineError(f"one package per line, not {line!r}")
    name, version = line, ""
    if manager == "pip":
        if "==" in line:
            name, _, version = line.partition("==")
        elif _PIP_OPERATORS.search(line) or "=" in line:
            raise PackageLineError(f"{line!r}: only exact versions are supported, as name==1.2.3")
    elif manager == "npm":
        at = line.rfind("@")
        if at > 0:  # not the @ of @scope/name
            name, version = line[:at], line[at + 1 :]
            if not version:
                raise PackageLineError(f"{line!r}: a version follows the @, as name@1.2.3")
    elif "=" in line:
        name, _, version = line.partition("=")
        if not version:
            raise PackageLineError(f"{line!r}: a version follows the =, as name=1.2.3")
    return PackageSpec(manager=manager, name=name, version=version)


def parse_package_line(raw: str) -> PackageSpec | None:
    """`manager: package` (as `parse_package` reads it) or `custom: name -> command`; None
    for a blank line or a `#` comment line. Raises PackageLineError."""
    line = raw.strip()
    if not line or line.startswith("#"):
        return None
    label, sep, rest = line.partition(":")
    manager, rest = label.strip().lower(), rest.strip()
    if not sep or not is_package_manager(manager) or not rest:
        raise PackageLineError(SYNTAX_HINT)
    if manager == "custom":
        name, _, command = (part.strip() for part in rest.partition("->"))
        return PackageSpec(manager="custom", name=name, command=command)
    package = parse_package(manager, rest)
    if package is None:  # only a comment after the manager
        raise PackageLineError(SYNTAX_HINT)
    return package


def parse_package_lines(text: str) -> tuple[tuple[PackageSpec, ...], dict[str, str]]:
    """A bucket's text: the packages, and the errors keyed `line N` (1-based)."""
    packages: list[PackageSpec] = []
    errors: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        try:
            package = parse_package_line(raw)
        except PackageLineError as exc:
            errors[f"line {number}"] = str(exc)
            continue
        if package is not None:
            packages.append(package)
    return tuple(packages), errors


def package_line(package: PackageSpec) -> str:
    """The line `parse_package_line` reads back as `package`."""
    if package.manager == "custom":
        return f"custom: {package.name} -> {package.command}"
    return f"{package.manager}: {package.install_spec()}"


def is_package_manager(value: str) -> TypeGuard[PackageManager]:
    """`value` names a package manager ("apt", "npm", "pip" or "custom")."""
    return value in PACKAGE_MANAGERS


def package_spec(manager: str, name: str, version: str = "", command: str = "") -> PackageSpec:
    """A package from plain strings (a form, a row of a page's state); raises
    PackageLineError when `manager` names no package manager."""
    if not is_package_manager(manager):
        raise PackageLineError(f"no package manager is named {manager!r}")
    return PackageSpec(manager=manager, name=name, version=version, command=command)


MSG_CHOOSE_MANAGER = "Choose apt, npm, pip or custom"


def new_package(
    manager: str, name: str, version: str, command: str, listed: Iterable[tuple[str, str]]
) -> tuple[PackageSpec | None, dict[str, str]]:
    """The package a form describes, to add to a list, and what is wrong with it ({} when
    it may be added; keyed "manager", "name", "version" or "command"). `listed` holds the
    (manager, name) pairs already in the list: a package is listed once. A custom package's
    command is kept, any other package's is dropped (its form shows a version instead)."""
    if not is_package_manager(manager):
        return None, {"manager": MSG_CHOOSE_MANAGER}
    pkg = PackageSpec(
        manager=manager,
        name=name.strip(),
        version=version.strip(),
        command=command.strip() if manager == "custom" else "",
    )
    problems = validate_package(pkg)
    if not problems and (pkg.manager, pkg.name.lower()) in {(m, n.lower()) for m, n in listed}:
        problems = {"name": f"{pkg.name} ({pkg.manager}) is already in the list"}
    return pkg, problems
