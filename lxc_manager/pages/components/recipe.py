"""What the creation wizard and the template editor share of a recipe: its packages, its
package buckets and the switch and order of its scripts, with their handlers
(`RecipeMixin`), and the stateless pieces that render them (`recipe_parts`).

A mixin's vars and handlers are copied onto each State that uses it
(`class WizardState(GuardedState, RecipeMixin, rx.State)`), so the components here take
that State's vars and handlers in. The State says what a change means for it through three
hooks: `_may_change_recipe` (the editor refuses when read-only and marks the draft dirty;
the wizard forgets its review), `_recipe_item_removed` (the editor drops the list's errors)
and `_package_input_id` (the input emptied after a package is added). Each State declares
its own `scripts` rows (the wizard's hold a name and a switch, the editor's the content).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import reflex as rx
from pydantic import BaseModel
from reflex.event import EventSpec

from lxc_manager.pages.components.package_form import package_from_form
from lxc_manager.state.guard import require_session
from lxc_manager.templates.packages import package_spec
from lxc_manager.templates.spec import PACKAGE_MANAGERS, Features, PackageSpec


class PackageRow(BaseModel):
    manager: str
    name: str
    version: str = ""
    command: str = ""
    source: str = "template"  # template | extra (added in the wizard)


def package_rows(packages: tuple[PackageSpec, ...], source: str = "template") -> list[PackageRow]:
    return [
        PackageRow(
            manager=p.manager, name=p.name, version=p.version, command=p.command, source=source
        )
        for p in packages
    ]


class ShapeMixin(rx.State, mixin=True):
    """The container a recipe describes, as form fields (strings, as typed): its OS
    template, disk, size, bridge, tags and features. The wizard and the template editor
    start from the same values."""

    os_template: str = ""
    storage: str = ""
    disk_gb: str = "8"
    cores: str = "1"
    memory_mb: str = "512"
    swap_mb: str = "512"
    bridge: str = "vmbr0"
    tags: str = ""
    unprivileged: bool = True
    nesting: bool = False
    keyctl: bool = False
    fuse: bool = False

    def _features(self) -> Features:
        return Features(self.unprivileged, self.nesting, self.keyctl, self.fuse)

    def _set_features(self, f: Features) -> None:
        self.unprivileged, self.nesting, self.keyctl, self.fuse = (
            f.unprivileged,
            f.nesting,
            f.keyctl,
            f.fuse,
        )


class RecipeMixin(rx.State, mixin=True):
    packages: list[PackageRow] = []
    buckets: list[str] = []  # the chosen buckets
    bucket_names: list[str] = []  # every bucket the user may choose
    pkg_manager: str = "apt"
    pkg_errors: dict[str, str] = {}

    if TYPE_CHECKING:  # declared by each State, with its own row type
        scripts: list[Any]

    # ---- hooks ------------------------------------------------------------------------
    def _may_change_recipe(self) -> bool:
        return True

    def _recipe_item_removed(self, kind: str) -> None:
        """After a script or a package was removed (`kind`: "scripts", "packages")."""

    def _package_input_id(self) -> str:
        return "pkg-name"

    def _package_specs(self) -> tuple[PackageSpec, ...]:
        return tuple(package_spec(p.manager, p.name, p.version, p.command) for p in self.packages)

    # ---- packages and buckets ---------------------------------------------------------
    @rx.event
    @require_session
    def set_pkg_manager(self, value: str) -> None:
        self.pkg_manager = value if value in PACKAGE_MANAGERS else "apt"

    @rx.event
    @require_session
    def add_package(self, form: dict[str, str]) -> EventSpec | None:
        if not self._may_change_recipe():
            return None
        pkg, problems = package_from_form(
            self.pkg_manager, form, ((p.manager, p.name) for p in self.packages)
        )
        if problems != self.pkg_errors:
            self.pkg_errors = problems
        if pkg is None or problems:
            return None
        self.packages = [*self.packages, *package_rows((pkg,), source="extra")]
        return rx.set_value(self._package_input_id(), "")

    @rx.event
    @require_session
    def remove_package(self, index: int) -> None:
        if 0 <= index < len(self.packages) and self._may_change_recipe():
            self.packages = [p for i, p in enumerate(self.packages) if i != index]
            self._recipe_item_removed("packages")

    @rx.event
    @require_session
    def toggle_bucket(self, name: str, value: bool) -> None:
        if name in self.bucket_names and self._may_change_recipe():
            others = [b for b in self.buckets if b != name]
            self.buckets = [*others, name] if value else others

    # ---- scripts: which run, in which order -------------------------------------------
    @rx.event
    @require_session
    def toggle_script(self, index: int, value: bool) -> None:
        if 0 <= index < len(self.scripts) and self._may_change_recipe():
            scripts = list(self.scripts)
            scripts[index] = scripts[index].model_copy(update={"enabled": bool(value)})
            self.scripts = scripts

    @rx.event
    @require_session
    def move_script(self, index: int, delta: int) -> None:
        target = index + delta
        valid = 0 <= index < len(self.scripts) and 0 <= target < len(self.scripts)
        if valid and self._may_change_recipe():
            scripts = list(self.scripts)
            scripts[index], scripts[target] = scripts[target], scripts[index]
            self.scripts = scripts
