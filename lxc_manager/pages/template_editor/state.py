"""`TemplateEditorState`: one template as a draft until "Save".

Editable by its owner, and by an administrator when it is shared; read-only for everyone
else (catalog templates and other users' shared ones: "Duplicate to edit" makes a private
copy). Another user's private template is "not found". Scripts, files and packages are
edited in small dialogs (or inline rows), so nothing typed is lost when the list
re-renders. Templates hold no secrets, so the draft may live in state vars.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Final, Literal

import reflex as rx
from reflex.event import EventSpec

from lxc_manager import routes
from lxc_manager.aio import all_of
from lxc_manager.pages.components.recipe import RecipeMixin, ShapeMixin, package_rows
from lxc_manager.state.guard import GuardedState, require_session, require_session_on_load
from lxc_manager.templates import service
from lxc_manager.templates.editing import (
    FEATURE_FLAGS,
    TABS,
    TEXT_LIMITS,
    count_lines,
    fields_of,
    file_spec,
    item_problems,
    spec_from_fields,
    tab_of,
)
from lxc_manager.templates.spec import (
    FEATURE_PRESETS,
    VISIBILITIES,
    Features,
    FileSpec,
    ScriptSpec,
    TemplateSpec,
    Visibility,
)

from .rows import FileRow, ScriptRow, file_row, script_row

NEW = "new"
CLOSED = -2  # the script / file dialog is closed (-1: adding a new one)
ItemKind = Literal["script", "file"]  # `<kind>s` are its rows, `<kind>_index` its dialog
# Every name the editor's form knows (controls and errors, as `validate_template` keys
# them); the handlers that take a name from the browser accept only their part of it.
FIELDS: Final = frozenset(
    (
        *TEXT_LIMITS,
        *FEATURE_FLAGS,
        *(f"resources.{n}" for n in ("cores", "memory_mb", "swap_mb", "disk_gb")),
        *("version", "visibility", "features.keyctl", "template"),
        *("scripts", "files", "packages", "buckets"),
    )
)
assert {*TEXT_LIMITS, *FEATURE_FLAGS} <= FIELDS


class TemplateEditorState(GuardedState, ShapeMixin, RecipeMixin, rx.State):
    template_id: int = 0
    loaded: bool = False
    missing: bool = False
    read_only: bool = False
    catalog: bool = False
    owner_label: str = ""  # "" for the user's own templates
    visibility: str = "private"
    owns: bool = True  # only the owner changes the visibility
    dirty: bool = False
    saving: bool = False
    version: str = ""
    updated: str = ""
    tab: str = "configuration"
    # configuration (TEXT_LIMITS' names)
    name: str = ""
    description: str = ""
    template_version: str = ""
    # children (packages and buckets: RecipeMixin)
    scripts: list[ScriptRow] = []
    files: list[FileRow] = []
    errors: dict[str, str] = {}
    # the script / file dialog
    script_index: int = CLOSED
    file_index: int = CLOSED
    item_errors: dict[str, str] = {}

    # ---- the draft ----------------------------------------------------------------------
    def _fill(self, spec: TemplateSpec) -> None:
        for name, value in fields_of(spec).items():
            setattr(self, name, value)
        f = spec.features
        self._set_features(f)
        self.scripts = [script_row(s) for s in spec.scripts]
        self.files = [file_row(f) for f in spec.files]
        self.packages = package_rows(spec.packages)
        self.buckets = list(spec.buckets)

    def _spec(self) -> TemplateSpec:
        return spec_from_fields(
            {name: getattr(self, name) for name in TEXT_LIMITS},
            self._features(),
            scripts=(ScriptSpec(s.name, s.content, s.enabled) for s in self.scripts),
            files=_file_specs(self.files),
            packages=self._package_specs(),
            buckets=self.buckets,
        )

    def _edit(self) -> bool:
        if self.read_only:
            return False
        self.dirty = True
        return True

    def _clear_errors(self, prefix: str) -> None:
        kept = {k: v for k, v in self.errors.items() if not k.startswith(prefix)}
        if kept != self.errors:
            self.errors = kept

    # ---- the recipe's hooks (RecipeMixin) ---------------------------------------------
    def _may_change_recipe(self) -> bool:
        return self._edit()

    def _recipe_item_removed(self, kind: str) -> None:
        self._clear_errors(kind)

    # ---- loading --------------------------------------------------------------------
    @rx.event
    @require_session_on_load
    async def load(self) -> None:
        self.loaded, self.missing, self.dirty, self.saving = False, False, False, False
        self.errors, self.item_errors, self.pkg_errors = {}, {}, {}
        self.script_index, self.file_index, self.tab = CLOSED, CLOSED, "configuration"
        actor = self._actor()
        key = routes.route_arg(self, routes.TEMPLATE_ID)
        wanted = int(key) if key.isdigit() else 0  # no template has id 0: None
        buckets, stored = await all_of(
            service.list_buckets(actor), service.get_template(actor, wanted)
        )
        self.bucket_names = [b.name for b in buckets]
        if key == NEW:
            self.template_id, self.read_only, self.version, self.updated = 0, False, "", ""
            self.catalog, self.owner_label, self.visibility, self.owns = False, "", "private", True
            self._fill(TemplateSpec(name=""))
            self.loaded = True
            return
        if stored is None:
            self.missing, self.loaded = True, True
            return
        self.template_id, self.read_only = stored.id, stored.read_only
        self.catalog, self.visibility = stored.catalog, stored.visibility
        self.owns = stored.owner == actor.user_id
        self.owner_label = "" if self.owns else service.owner_name(stored.owner)
        self.version = stored.version
        self.updated = f"{stored.updated_at:%Y-%m-%d %H:%M} by {stored.updated_by or 'the catalog'}"
        self._fill(stored.spec)
        self.loaded = True

    # ---- configuration fields ---------------------------------------------------------
    @rx.event
    @require_session
    def set_tab(self, value: str) -> None:
        if value in TABS:
            self.tab = value

    @rx.event
    @require_session
    def set_field(self, name: str, value: str) -> None:
        if name in TEXT_LIMITS and self._edit():
            setattr(self, name, value[: TEXT_LIMITS[name]])
            kept = {k: v for k, v in self.errors.items() if not k.endswith(name)}
            if kept != self.errors:
                self.errors = kept

    @rx.event
    @require_session
    def set_visibility(self, value: str) -> None:
        if value in VISIBILITIES and self.owns and self._edit():
            self.visibility = value
            self._clear_errors("visibility")

    @rx.event
    @require_session
    def set_flag(self, name: str, value: bool) -> None:
        if name in FEATURE_FLAGS and self._edit():
            setattr(self, name, bool(value))

    @rx.event
    @require_session
    def apply_preset(self, preset: str) -> None:
        if preset in FEATURE_PRESETS and self._edit():
            self._set_features(Features(**FEATURE_PRESETS[preset][1]))

    # ---- the script and file dialogs ---------------------------------------------------
    def _open_item(self, kind: ItemKind, index: int) -> None:
        """Open the script or file dialog on row `index` (-1 for a new one)."""
        self.item_errors = {}
        setattr(self, f"{kind}_index", index)

    def _close_item(self, kind: ItemKind, open_: bool) -> None:
        if not open_:
            setattr(self, f"{kind}_index", CLOSED)

    def _with_item(self, kind: ItemKind, row: ScriptRow | FileRow) -> list[Any]:
        """The rows of `kind` with `row` in the place of the one being edited, or added."""
        index: int = getattr(self, f"{kind}_index")
        rows = list(getattr(self, f"{kind}s"))
        if index >= 0:
            rows[index] = row
        else:
            rows.append(row)
        return rows

    def _keep_items(self, kind: ItemKind, rows: list[Any], draft: TemplateSpec) -> None:
        """Keep `rows` and close the dialog, or show what is wrong with the edited row."""
        index: int = getattr(self, f"{kind}_index")
        problems = item_problems(draft, f"{kind}s", len(rows) if index < 0 else index + 1)
        if problems:
            self.item_errors = problems
            return
        setattr(self, f"{kind}s", rows)
        setattr(self, f"{kind}_index", CLOSED)
        self.item_errors = {}
        self._clear_errors(f"{kind}s")

    def _remove_item(self, kind: ItemKind, index: int) -> None:
        rows = getattr(self, f"{kind}s")
        if 0 <= index < len(rows) and self._edit():
            setattr(self, f"{kind}s", [r for i, r in enumerate(rows) if i != index])
            self._clear_errors(f"{kind}s")

    # ---- scripts (their switch and order: RecipeMixin) --------------------------------
    @rx.event
    @require_session
    def open_script(self, index: int) -> None:
        self._open_item("script", index)

    @rx.event
    def close_script(self, open_: bool = False) -> None:
        self._close_item("script", open_)

    @rx.event
    @require_session
    def save_script(self, form: dict[str, str]) -> None:
        if not self._edit():
            return
        index = self.script_index
        content = form.get("content", "").replace("\r\n", "\n")
        row = ScriptRow(
            name=form.get("name", "").strip(),
            content=content,
            enabled=self.scripts[index].enabled if index >= 0 else True,
            lines=count_lines(content),
        )
        scripts = self._with_item("script", row)
        specs = tuple(ScriptSpec(s.name, s.content, s.enabled) for s in scripts)
        self._keep_items("script", scripts, replace(self._spec(), scripts=specs))

    @rx.event
    @require_session
    def remove_script(self, index: int) -> None:
        self._remove_item("script", index)

    # ---- files --------------------------------------------------------------------------
    @rx.event
    @require_session
    def open_file(self, index: int) -> None:
        self._open_item("file", index)

    @rx.event
    def close_file(self, open_: bool = False) -> None:
        self._close_item("file", open_)

    @rx.event
    @require_session
    def save_file(self, form: dict[str, str]) -> None:
        if not self._edit():
            return
        row = FileRow(
            name=form.get("name", "").strip(),
            target_path=form.get("target_path", "").strip(),
            content=form.get("content", "").replace("\r\n", "\n"),
            policy=form.get("policy", "replace"),
            mode=form.get("mode", "0644").strip() or "0644",
        )
        files = self._with_item("file", row)
        try:
            draft = replace(self._spec(), files=_file_specs(files))
        except ValueError:
            self.item_errors = {"policy": "Choose what happens when the file exists"}
            return
        self._keep_items("file", files, draft)

    @rx.event
    @require_session
    def remove_file(self, index: int) -> None:
        self._remove_item("file", index)

    # ---- saving -------------------------------------------------------------------------
    @rx.event
    @require_session
    async def save(self) -> EventSpec | list[EventSpec] | None:
        if self.read_only or self.saving:
            return None
        spec = self._spec()
        actor = self._actor()
        visibility: Visibility = "shared" if self.visibility == "shared" else "private"
        if self.template_id:
            result = await service.update_template(
                actor, self.template_id, spec, expected_version=self.version, visibility=visibility
            )
        else:
            result = await service.create_template(actor, spec, visibility)
        if not result.ok:
            self.errors = result.errors
            self.tab = tab_of(next(iter(result.errors)))
            refused: EventSpec = rx.toast.error(
                "Nothing was saved: fix the fields marked in red", id="template-save"
            )
            return refused
        assert result.id is not None
        self.errors, self.dirty = {}, False
        stored = await service.get_template(actor, result.id)
        if stored is not None:
            self.version = stored.version
            self.updated = f"{stored.updated_at:%Y-%m-%d %H:%M} by {stored.updated_by}"
        toast: EventSpec = rx.toast.success(f"Template {spec.name} saved", id="template-save")
        if not self.template_id:
            self.template_id = result.id
            return [toast, rx.redirect(routes.template(result.id))]
        return toast

    @rx.event
    @require_session
    async def duplicate(self) -> EventSpec:
        result = await service.duplicate_template(self._actor(), self.template_id)
        if not result.ok:
            failed: EventSpec = rx.toast.error(
                next(iter(result.errors.values()), "The template could not be copied")
            )
            return failed
        return rx.redirect(routes.template(result.id))


def _file_specs(rows: list[FileRow]) -> tuple[FileSpec, ...]:
    return tuple(file_spec(f.name, f.target_path, f.content, f.policy, f.mode) for f in rows)
