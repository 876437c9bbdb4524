"""`/templates/{id}` and `/templates/new`: one template, in tabs. Editable by its owner,
and by an administrator when it is shared; read-only for everyone else (catalog templates
and other users' shared ones: "Duplicate to edit" makes a private copy). Another user's
private template is "not found".

The whole template is a draft in this state until "Save": scripts, files and packages are
edited in small dialogs (or inline rows), so nothing typed is lost when the list re-renders.
Templates hold no secrets, so the draft may live in state vars.
"""

from __future__ import annotations

from dataclasses import replace

import reflex as rx
from pydantic import BaseModel

from lxc_manager.aio import all_of
from lxc_manager.pages.components.layout import page_shell
from lxc_manager.pages.components.package_form import package_form, package_from_form
from lxc_manager.security.actor import Actor
from lxc_manager.state.legacy_session import LegacySessionState, require_session
from lxc_manager.templates import service
from lxc_manager.templates.spec import (
    FEATURE_NOTE,
    FEATURE_PRESETS,
    PACKAGE_MANAGERS,
    POLICY_LABELS,
    VISIBILITIES,
    VISIBILITY_LABELS,
    Features,
    FileSpec,
    PackageSpec,
    Resources,
    ScriptSpec,
    TemplateSpec,
    Visibility,
    normalize_tags,
    validate_template,
)

ROUTE = "/templates/[tpl]"
TITLE = "Template"
NEW = "new"
SCRIPT_SKELETON = '#!/usr/bin/env bash\nset -euo pipefail\n\nlog_info "Hello from $CONTAINER_OS"\n'


class ScriptRow(BaseModel):
    name: str
    content: str
    enabled: bool = True
    lines: int = 0


class FileRow(BaseModel):
    name: str
    target_path: str
    content: str
    policy: str = "replace"
    mode: str = "0644"


class PackageRow(BaseModel):
    manager: str
    name: str
    version: str = ""
    command: str = ""


def _int(text: str) -> int:
    text = text.strip()
    return int(text) if text.isdigit() else -1


class TemplateEditorState(LegacySessionState):
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
    # configuration
    name: str = ""
    description: str = ""
    tags: str = ""
    os_template: str = ""
    template_version: str = ""
    cores: str = "1"
    memory_mb: str = "512"
    swap_mb: str = "512"
    disk_gb: str = "8"
    storage: str = ""
    bridge: str = "vmbr0"
    unprivileged: bool = True
    nesting: bool = False
    keyctl: bool = False
    fuse: bool = False
    # children
    scripts: list[ScriptRow] = []
    files: list[FileRow] = []
    packages: list[PackageRow] = []
    buckets: list[str] = []
    bucket_names: list[str] = []
    errors: dict[str, str] = {}
    # the script / file dialog (index -1 = a new one)
    script_index: int = -2
    file_index: int = -2
    item_errors: dict[str, str] = {}
    pkg_manager: str = "apt"
    pkg_errors: dict[str, str] = {}

    # ---- loading --------------------------------------------------------------------
    def _route_id(self) -> str:
        parts = [p for p in self.router.url.path.split("/") if p]
        return parts[1] if len(parts) == 2 and parts[0] == "templates" else ""

    def _fill(self, spec: TemplateSpec) -> None:
        self.name, self.description = spec.name, spec.description
        self.tags = ", ".join(spec.tags)
        self.os_template, self.template_version = spec.os_template, spec.version
        res = spec.resources
        self.cores, self.memory_mb = str(res.cores), str(res.memory_mb)
        self.swap_mb, self.disk_gb = str(res.swap_mb), str(res.disk_gb)
        self.storage, self.bridge = spec.storage, spec.bridge
        f = spec.features
        self.unprivileged, self.nesting, self.keyctl, self.fuse = (
            f.unprivileged,
            f.nesting,
            f.keyctl,
            f.fuse,
        )
        self.scripts = [
            ScriptRow(name=s.name, content=s.content, enabled=s.enabled, lines=_lines(s.content))
            for s in spec.scripts
        ]
        self.files = [
            FileRow(
                name=f.name,
                target_path=f.target_path,
                content=f.content,
                policy=f.policy,
                mode=f.mode,
            )
            for f in spec.files
        ]
        self.packages = [
            PackageRow(manager=p.manager, name=p.name, version=p.version, command=p.command)
            for p in spec.packages
        ]
        self.buckets = list(spec.buckets)

    def _spec(self) -> TemplateSpec:
        return TemplateSpec(
            name=self.name.strip(),
            description=self.description.strip(),
            tags=normalize_tags(self.tags),
            os_template=self.os_template.strip(),
            version=self.template_version.strip(),
            resources=Resources(
                _int(self.cores), _int(self.memory_mb), _int(self.swap_mb), _int(self.disk_gb)
            ),
            storage=self.storage.strip(),
            bridge=self.bridge.strip(),
            features=Features(self.unprivileged, self.nesting, self.keyctl, self.fuse),
            scripts=tuple(ScriptSpec(s.name, s.content, s.enabled) for s in self.scripts),
            files=tuple(
                FileSpec(f.name, f.target_path, f.content, f.policy, f.mode)  # type: ignore[arg-type]
                for f in self.files
            ),
            packages=tuple(
                PackageSpec(p.manager, p.name, p.version, p.command)  # type: ignore[arg-type]
                for p in self.packages
            ),
            buckets=tuple(self.buckets),
        )

    def _actor(self) -> Actor:
        return Actor(self._user_id, self.is_admin)

    @rx.event
    @require_session
    async def load(self) -> None:
        self.loaded, self.missing, self.dirty, self.saving = False, False, False, False
        self.errors, self.item_errors, self.pkg_errors = {}, {}, {}
        self.script_index, self.file_index, self.tab = -2, -2, "configuration"
        actor = self._actor()
        key = self._route_id()
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
    def _edit(self) -> bool:
        if self.read_only:
            return False
        self.dirty = True
        return True

    @rx.event
    @require_session
    def set_tab(self, value: str) -> None:
        self.tab = value

    @rx.event
    @require_session
    def set_field(self, name: str, value: str) -> None:
        text_fields = {
            "name": 64,
            "description": 2000,
            "tags": 600,
            "os_template": 128,
            "template_version": 64,
            "cores": 6,
            "memory_mb": 9,
            "swap_mb": 9,
            "disk_gb": 7,
            "storage": 64,
            "bridge": 16,
        }
        if name in text_fields and self._edit():
            setattr(self, name, value[: text_fields[name]])
            self.errors = {k: v for k, v in self.errors.items() if not k.endswith(name)}

    @rx.event
    @require_session
    def set_visibility(self, value: str) -> None:
        if value in VISIBILITIES and self.owns and self._edit():
            self.visibility = value
            self.errors = {k: v for k, v in self.errors.items() if k != "visibility"}

    @rx.event
    @require_session
    def set_flag(self, name: str, value: bool) -> None:
        if name in ("unprivileged", "nesting", "keyctl", "fuse") and self._edit():
            setattr(self, name, bool(value))

    @rx.event
    @require_session
    def apply_preset(self, preset: str) -> None:
        if preset in FEATURE_PRESETS and self._edit():
            flags = FEATURE_PRESETS[preset][1]
            self.unprivileged = flags.get("unprivileged", True)
            self.nesting = flags.get("nesting", False)
            self.keyctl = flags.get("keyctl", False)
            self.fuse = flags.get("fuse", False)

    # ---- scripts ------------------------------------------------------------------------
    @rx.event
    @require_session
    def open_script(self, index: int) -> None:
        self.item_errors = {}
        self.script_index = index

    @rx.event
    def close_script(self, open_: bool = False) -> None:
        if not open_:
            self.script_index = -2

    @rx.event
    @require_session
    def save_script(self, form: dict[str, str]) -> None:
        if not self._edit():
            return
        row = ScriptRow(
            name=form.get("script_name", "").strip(),
            content=form.get("script_content", "").replace("\r\n", "\n"),
            enabled=self.scripts[self.script_index].enabled if self.script_index >= 0 else True,
        )
        row.lines = _lines(row.content)
        scripts = list(self.scripts)
        if self.script_index >= 0:
            scripts[self.script_index] = row
        else:
            scripts.append(row)
        problems = _item_problems(
            self._with_scripts(scripts),
            "scripts",
            len(scripts) if self.script_index < 0 else self.script_index + 1,
        )
        if problems:
            self.item_errors = problems
            return
        self.scripts, self.script_index, self.item_errors = scripts, -2, {}
        self.errors = {k: v for k, v in self.errors.items() if not k.startswith("scripts")}

    @rx.event
    @require_session
    def toggle_script(self, index: int, value: bool) -> None:
        if 0 <= index < len(self.scripts) and self._edit():
            scripts = list(self.scripts)
            scripts[index] = scripts[index].model_copy(update={"enabled": bool(value)})
            self.scripts = scripts

    @rx.event
    @require_session
    def move_script(self, index: int, delta: int) -> None:
        target = index + delta
        if 0 <= index < len(self.scripts) and 0 <= target < len(self.scripts) and self._edit():
            scripts = list(self.scripts)
            scripts[index], scripts[target] = scripts[target], scripts[index]
            self.scripts = scripts

    @rx.event
    @require_session
    def remove_script(self, index: int) -> None:
        if 0 <= index < len(self.scripts) and self._edit():
            self.scripts = [s for i, s in enumerate(self.scripts) if i != index]
            self.errors = {k: v for k, v in self.errors.items() if not k.startswith("scripts")}

    # ---- files --------------------------------------------------------------------------
    @rx.event
    @require_session
    def open_file(self, index: int) -> None:
        self.item_errors = {}
        self.file_index = index

    @rx.event
    def close_file(self, open_: bool = False) -> None:
        if not open_:
            self.file_index = -2

    @rx.event
    @require_session
    def save_file(self, form: dict[str, str]) -> None:
        if not self._edit():
            return
        row = FileRow(
            name=form.get("file_name", "").strip(),
            target_path=form.get("file_target", "").strip(),
            content=form.get("file_content", "").replace("\r\n", "\n"),
            policy=form.get("file_policy", "replace"),
            mode=form.get("file_mode", "0644").strip() or "0644",
        )
        files = list(self.files)
        if self.file_index >= 0:
            files[self.file_index] = row
        else:
            files.append(row)
        problems = _item_problems(
            self._with_files(files),
            "files",
            len(files) if self.file_index < 0 else self.file_index + 1,
        )
        if problems:
            self.item_errors = problems
            return
        self.files, self.file_index, self.item_errors = files, -2, {}
        self.errors = {k: v for k, v in self.errors.items() if not k.startswith("files")}

    @rx.event
    @require_session
    def remove_file(self, index: int) -> None:
        if 0 <= index < len(self.files) and self._edit():
            self.files = [f for i, f in enumerate(self.files) if i != index]
            self.errors = {k: v for k, v in self.errors.items() if not k.startswith("files")}

    # ---- packages -----------------------------------------------------------------------
    @rx.event
    @require_session
    def set_pkg_manager(self, value: str) -> None:
        self.pkg_manager = value if value in PACKAGE_MANAGERS else "apt"

    @rx.event
    @require_session
    def add_package(self, form: dict[str, str]):
        if not self._edit():
            return None
        pkg, self.pkg_errors = package_from_form(
            self.pkg_manager, form, ((p.manager, p.name) for p in self.packages)
        )
        if self.pkg_errors:
            return None
        self.packages = [
            *self.packages,
            PackageRow(
                manager=pkg.manager, name=pkg.name, version=pkg.version, command=pkg.command
            ),
        ]
        return rx.set_value("pkg-name", "")

    @rx.event
    @require_session
    def remove_package(self, index: int) -> None:
        if 0 <= index < len(self.packages) and self._edit():
            self.packages = [p for i, p in enumerate(self.packages) if i != index]
            self.errors = {k: v for k, v in self.errors.items() if not k.startswith("packages")}

    @rx.event
    @require_session
    def toggle_bucket(self, name: str, value: bool) -> None:
        if name in self.bucket_names and self._edit():
            others = [b for b in self.buckets if b != name]
            self.buckets = [*others, name] if value else others

    # ---- saving -------------------------------------------------------------------------
    def _with_scripts(self, rows: list[ScriptRow]) -> TemplateSpec:
        return replace(
            self._spec(), scripts=tuple(ScriptSpec(s.name, s.content, s.enabled) for s in rows)
        )

    def _with_files(self, rows: list[FileRow]) -> TemplateSpec:
        files = tuple(
            FileSpec(f.name, f.target_path, f.content, f.policy, f.mode)  # type: ignore[arg-type]
            for f in rows
        )
        return replace(self._spec(), files=files)

    @rx.event
    @require_session
    async def save(self):
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
            first = next(iter(result.errors))
            self.tab = _tab_of(first)
            return rx.toast.error(
                "Nothing was saved: fix the fields marked in red", id="template-save"
            )
        assert result.id is not None
        self.errors, self.dirty = {}, False
        stored = await service.get_template(actor, result.id)
        if stored is not None:
            self.version = stored.version
            self.updated = f"{stored.updated_at:%Y-%m-%d %H:%M} by {stored.updated_by}"
        toast = rx.toast.success(f"Template {spec.name} saved", id="template-save")
        if not self.template_id:
            self.template_id = result.id
            return [toast, rx.redirect(f"/templates/{result.id}")]
        return toast

    @rx.event
    @require_session
    async def duplicate(self):
        result = await service.duplicate_template(self._actor(), self.template_id)
        if not result.ok:
            return rx.toast.error(
                next(iter(result.errors.values()), "The template could not be copied")
            )
        return rx.redirect(f"/templates/{result.id}")


def _lines(text: str) -> int:
    return text.count("\n") + (1 if text and not text.endswith("\n") else 0)


def _item_problems(spec: TemplateSpec, kind: str, position: int) -> dict[str, str]:
    """The rules broken by the item at 1-based `position` of `kind`, keyed by its field."""
    errors = validate_template(spec)
    prefix = f"{kind}.{position - 1}."
    found = {k.removeprefix(prefix): v for k, v in errors.items() if k.startswith(prefix)}
    if kind in errors:
        found[kind] = errors[kind]
    return found


def _tab_of(field: str) -> str:
    head = field.split(".", 1)[0]
    return (
        head
        if head in ("scripts", "files", "packages")
        else ("packages" if head == "buckets" else "configuration")
    )


# ---- components --------------------------------------------------------------------------

S = TemplateEditorState


def _error(name: str) -> rx.Component:
    return rx.cond(
        S.errors.contains(name),
        rx.text(
            S.errors[name], size="1", color=rx.color("red", 11), role="alert", id=f"{name}-error"
        ),
    )


def _field(
    label: str, name: str, control: rx.Component, hint: str = "", input_id: str = ""
) -> rx.Component:
    """A labelled control with its hint and error (`name` is the error key, e.g.
    `resources.cores`; the control's id is `tpl-` + `input_id` or the key's last part)."""
    input_id = input_id or name.rsplit(".", 1)[-1]
    return rx.vstack(
        rx.el.label(rx.text(label, size="2", weight="medium"), html_for=f"tpl-{input_id}"),
        control,
        *([rx.text(hint, size="1", color=rx.color("gray", 10))] if hint else []),
        _error(name),
        spacing="1",
        width="100%",
    )


def _text(name: str, value: rx.Var, **props: object) -> rx.Component:
    return rx.input(
        id=f"tpl-{name}",
        value=value,
        on_change=lambda v: S.set_field(name, v),
        read_only=S.read_only,
        width="100%",
        **props,
    )


def _flag(name: str, label: str, value: rx.Var, hint: str = "") -> rx.Component:
    return rx.el.label(
        rx.hstack(
            rx.checkbox(
                checked=value,
                on_change=lambda v: S.set_flag(name, v),
                disabled=S.read_only,
                id=f"tpl-{name}",
            ),
            rx.vstack(
                rx.text(label, size="2", weight="medium"),
                *([rx.text(hint, size="1", color=rx.color("gray", 10))] if hint else []),
                spacing="0",
            ),
            spacing="2",
            align="start",
        )
    )


def _configuration() -> rx.Component:
    features_need_root = S.keyctl | S.fuse
    return rx.vstack(
        rx.grid(
            _field(
                "Name", "name", _text("name", S.name, placeholder="Docker host", auto_focus=True)
            ),
            _field(
                "OS template",
                "os_template",
                _text("os_template", S.os_template, placeholder="debian-12-standard"),
                "A Proxmox CT template name pattern; the wizard lists matching images.",
            ),
            columns="2",
            spacing="4",
            width="100%",
        ),
        _field(
            "Description",
            "description",
            rx.text_area(
                id="tpl-description",
                value=S.description,
                on_change=lambda v: S.set_field("description", v),
                read_only=S.read_only,
                rows="3",
                width="100%",
            ),
        ),
        rx.grid(
            _field(
                "Tags", "tags", _text("tags", S.tags, placeholder="web, python"), "Comma-separated"
            ),
            _field(
                "Version",
                "version",
                _text("template_version", S.template_version, placeholder="1.0"),
                input_id="template_version",
            ),
            columns="2",
            spacing="4",
            width="100%",
        ),
        _field(
            "Who sees it",
            "visibility",
            rx.select.root(
                rx.select.trigger(id="tpl-visibility", width="100%"),
                rx.select.content(
                    *[rx.select.item(label, value=key) for key, label in VISIBILITY_LABELS.items()]
                ),
                value=S.visibility,
                on_change=S.set_visibility,
                disabled=S.read_only | ~S.owns,
            ),
            "A shared template uses only shared package buckets.",
            input_id="visibility",
        ),
        rx.heading("Resources", size="3", as_="h3"),
        rx.grid(
            _field("Cores", "resources.cores", _text("cores", S.cores, input_mode="numeric")),
            _field(
                "Memory (MB)",
                "resources.memory_mb",
                _text("memory_mb", S.memory_mb, input_mode="numeric"),
            ),
            _field(
                "Swap (MB)", "resources.swap_mb", _text("swap_mb", S.swap_mb, input_mode="numeric")
            ),
            _field(
                "Disk (GB)", "resources.disk_gb", _text("disk_gb", S.disk_gb, input_mode="numeric")
            ),
            columns="4",
            spacing="4",
            width="100%",
        ),
        rx.grid(
            _field(
                "Default storage",
                "storage",
                _text("storage", S.storage, placeholder="local-lvm"),
                "Blank: the wizard picks the node's first rootdir storage.",
            ),
            _field("Bridge", "bridge", _text("bridge", S.bridge, placeholder="vmbr0")),
            columns="2",
            spacing="4",
            width="100%",
        ),
        rx.hstack(
            rx.heading("Features", size="3", as_="h3"),
            rx.spacer(),
            rx.cond(
                S.read_only,
                rx.fragment(),
                rx.select.root(
                    rx.select.trigger(placeholder="Apply a preset…", aria_label="Feature preset"),
                    rx.select.content(
                        *[
                            rx.select.item(label, value=key)
                            for key, (label, _) in FEATURE_PRESETS.items()
                        ]
                    ),
                    on_change=S.apply_preset,
                    value="",
                ),
            ),
            width="100%",
            align="center",
        ),
        rx.grid(
            _flag(
                "unprivileged",
                "Unprivileged",
                S.unprivileged,
                "Recommended: root in the container is not root on the host.",
            ),
            _flag("nesting", "Nesting", S.nesting, "Needed by systemd services and Docker."),
            _flag("keyctl", "keyctl", S.keyctl, "Needed by Docker in unprivileged containers."),
            _flag("fuse", "FUSE", S.fuse, "FUSE file systems (sshfs, rclone mount)."),
            columns="2",
            spacing="3",
            width="100%",
        ),
        _error("features.keyctl"),
        rx.cond(
            features_need_root,
            rx.callout(FEATURE_NOTE, icon="info", color_scheme="amber", size="1", width="100%"),
        ),
        spacing="4",
        width="100%",
    )


def _script_dialog() -> rx.Component:
    editing = S.script_index >= 0
    current = rx.cond(editing, S.scripts[S.script_index.to(int)], ScriptRow(name="", content=""))
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(rx.cond(editing, "Edit script", "Add a script")),
            rx.dialog.description(
                "Runs as root through `bash -s` in the container, after the helper library "
                "(log_info, ensure_installed, save_credential, ...) is sourced.",
                size="2",
                margin_bottom="0.75rem",
            ),
            rx.form(
                rx.vstack(
                    rx.el.label(rx.text("Name", size="2", weight="medium"), html_for="script-name"),
                    rx.input(
                        name="script_name",
                        id="script-name",
                        default_value=rx.cond(editing, current.name, ""),
                        placeholder="10-install-app.sh",
                        auto_focus=True,
                        required=True,
                        width="100%",
                    ),
                    rx.cond(
                        S.item_errors.contains("name"),
                        rx.text(
                            S.item_errors["name"], size="1", color=rx.color("red", 11), role="alert"
                        ),
                    ),
                    rx.el.label(
                        rx.text("Script", size="2", weight="medium"), html_for="script-content"
                    ),
                    rx.text_area(
                        name="script_content",
                        id="script-content",
                        default_value=rx.cond(editing, current.content, SCRIPT_SKELETON),
                        rows="18",
                        width="100%",
                        spell_check=False,
                        style={
                            "fontFamily": "var(--code-font-family)",
                            "fontSize": "13px",
                            "tabSize": "4",
                        },
                        custom_attrs={"autoCapitalize": "off", "autoCorrect": "off"},
                    ),
                    rx.cond(
                        S.item_errors.contains("content"),
                        rx.text(
                            S.item_errors["content"],
                            size="1",
                            color=rx.color("red", 11),
                            role="alert",
                        ),
                    ),
                    rx.hstack(
                        rx.dialog.close(
                            rx.button("Cancel", type="button", variant="soft", color_scheme="gray")
                        ),
                        rx.button("Keep script", type="submit", id="script-save"),
                        justify="end",
                        width="100%",
                        spacing="3",
                    ),
                    spacing="2",
                    width="100%",
                ),
                on_submit=S.save_script,
                reset_on_submit=False,
            ),
            max_width="52rem",
        ),
        open=S.script_index > -2,
        on_open_change=S.close_script,
    )


def _edit_remove(
    name: rx.Var[str], on_open: rx.EventSpec, on_remove: rx.EventSpec
) -> tuple[rx.Component, rx.Component]:
    """ "Edit" (or "View" when read-only) and, when editable, a remove button."""
    return (
        rx.button(
            rx.icon(rx.cond(S.read_only, "eye", "pencil"), size=14),
            rx.cond(S.read_only, "View", "Edit"),
            size="1",
            variant="soft",
            on_click=on_open,
        ),
        rx.cond(
            S.read_only,
            rx.fragment(),
            rx.icon_button(
                rx.icon("trash-2", size=14),
                size="1",
                variant="soft",
                color_scheme="red",
                on_click=on_remove,
                aria_label=f"Remove {name}",
            ),
        ),
    )


def _script_row(row: ScriptRow, index: rx.Var[int]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(index + 1, color=rx.color("gray", 10))),
        rx.table.cell(
            rx.vstack(
                rx.code(row.name, variant="ghost"),
                rx.cond(
                    S.errors.contains(f"scripts.{index}.name"),
                    rx.text(S.errors[f"scripts.{index}.name"], size="1", color=rx.color("red", 11)),
                ),
                rx.cond(
                    S.errors.contains(f"scripts.{index}.content"),
                    rx.text(
                        S.errors[f"scripts.{index}.content"], size="1", color=rx.color("red", 11)
                    ),
                ),
                spacing="1",
            )
        ),
        rx.table.cell(rx.text(row.lines, " lines", size="1", color=rx.color("gray", 10))),
        rx.table.cell(
            rx.switch(
                checked=row.enabled,
                on_change=lambda v: S.toggle_script(index, v),
                disabled=S.read_only,
                aria_label=f"Enable {row.name}",
            )
        ),
        rx.table.cell(
            rx.hstack(
                rx.cond(
                    S.read_only,
                    rx.fragment(),
                    rx.fragment(
                        rx.icon_button(
                            rx.icon("arrow-up", size=14),
                            size="1",
                            variant="soft",
                            color_scheme="gray",
                            on_click=S.move_script(index, -1),
                            disabled=index == 0,
                            aria_label=f"Move {row.name} up",
                        ),
                        rx.icon_button(
                            rx.icon("arrow-down", size=14),
                            size="1",
                            variant="soft",
                            color_scheme="gray",
                            on_click=S.move_script(index, 1),
                            disabled=index == S.scripts.length() - 1,
                            aria_label=f"Move {row.name} down",
                        ),
                    ),
                ),
                *_edit_remove(row.name, S.open_script(index), S.remove_script(index)),
                spacing="2",
                justify="end",
            )
        ),
        align="center",
        custom_attrs={"data-script": row.name},
    )


def _section_header(text: str, label: str, on_add: rx.EventSpec, button_id: str) -> rx.Component:
    """What the tab holds, and its "Add" button unless the template is read-only."""
    return rx.hstack(
        rx.text(text, size="2", color=rx.color("gray", 11)),
        rx.spacer(),
        rx.cond(
            S.read_only,
            rx.fragment(),
            rx.button(rx.icon("plus", size=14), label, size="2", on_click=on_add, id=button_id),
        ),
        width="100%",
        align="center",
    )


def _scripts() -> rx.Component:
    return rx.vstack(
        _section_header(
            "Scripts run in this order after the packages are installed. "
            "Disabled scripts are skipped.",
            "Add script",
            S.open_script(-1),
            "add-script",
        ),
        _error("scripts"),
        rx.cond(
            S.scripts.length() > 0,
            rx.table.root(
                rx.table.body(rx.foreach(S.scripts, _script_row)),
                variant="surface",
                width="100%",
                id="scripts-table",
            ),
            rx.text("No scripts.", size="2", color=rx.color("gray", 10)),
        ),
        _script_dialog(),
        spacing="3",
        width="100%",
    )


def _file_dialog() -> rx.Component:
    editing = S.file_index >= 0
    current = rx.cond(
        editing, S.files[S.file_index.to(int)], FileRow(name="", target_path="", content="")
    )

    def item_error(name: str) -> rx.Component:
        return rx.cond(
            S.item_errors.contains(name),
            rx.text(S.item_errors[name], size="1", color=rx.color("red", 11), role="alert"),
        )

    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(rx.cond(editing, "Edit file", "Add a file")),
            rx.form(
                rx.vstack(
                    rx.grid(
                        rx.vstack(
                            rx.el.label(
                                rx.text("Name", size="2", weight="medium"), html_for="file-name"
                            ),
                            rx.input(
                                name="file_name",
                                id="file-name",
                                default_value=rx.cond(editing, current.name, ""),
                                placeholder="nginx.conf",
                                required=True,
                                auto_focus=True,
                                width="100%",
                            ),
                            item_error("name"),
                            spacing="1",
                        ),
                        rx.vstack(
                            rx.el.label(
                                rx.text("Target path", size="2", weight="medium"),
                                html_for="file-target",
                            ),
                            rx.input(
                                name="file_target",
                                id="file-target",
                                default_value=rx.cond(editing, current.target_path, ""),
                                placeholder="/etc/nginx/conf.d/app.conf",
                                required=True,
                                width="100%",
                            ),
                            item_error("target_path"),
                            spacing="1",
                        ),
                        columns="2",
                        spacing="3",
                        width="100%",
                    ),
                    rx.grid(
                        rx.vstack(
                            rx.el.label(
                                rx.text("If the file exists", size="2", weight="medium"),
                                html_for="file-policy",
                            ),
                            rx.el.select(
                                *[
                                    rx.el.option(label, value=key)
                                    for key, label in POLICY_LABELS.items()
                                ],
                                name="file_policy",
                                id="file-policy",
                                default_value=rx.cond(editing, current.policy, "replace"),
                                style={
                                    "padding": "0.4rem",
                                    "borderRadius": "var(--radius-2)",
                                    "border": f"1px solid {rx.color('gray', 7)}",
                                    "background": "transparent",
                                    "color": "inherit",
                                },
                            ),
                            item_error("policy"),
                            spacing="1",
                        ),
                        rx.vstack(
                            rx.el.label(
                                rx.text("Mode", size="2", weight="medium"), html_for="file-mode"
                            ),
                            rx.input(
                                name="file_mode",
                                id="file-mode",
                                default_value=rx.cond(editing, current.mode, "0644"),
                                width="7rem",
                            ),
                            item_error("mode"),
                            spacing="1",
                        ),
                        columns="2",
                        spacing="3",
                        width="100%",
                    ),
                    rx.el.label(
                        rx.text("Content", size="2", weight="medium"), html_for="file-content"
                    ),
                    rx.text_area(
                        name="file_content",
                        id="file-content",
                        default_value=rx.cond(editing, current.content, ""),
                        rows="14",
                        width="100%",
                        spell_check=False,
                        style={"fontFamily": "var(--code-font-family)", "fontSize": "13px"},
                    ),
                    item_error("content"),
                    item_error("files"),
                    rx.hstack(
                        rx.dialog.close(
                            rx.button("Cancel", type="button", variant="soft", color_scheme="gray")
                        ),
                        rx.button("Keep file", type="submit", id="file-save"),
                        justify="end",
                        width="100%",
                        spacing="3",
                    ),
                    spacing="2",
                    width="100%",
                ),
                on_submit=S.save_file,
                reset_on_submit=False,
            ),
            max_width="52rem",
        ),
        open=S.file_index > -2,
        on_open_change=S.close_file,
    )


def _file_row(row: FileRow, index: rx.Var[int]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.code(row.name, variant="ghost")),
        rx.table.cell(
            rx.vstack(
                rx.code(row.target_path, variant="ghost"),
                rx.cond(
                    S.errors.contains(f"files.{index}.target_path"),
                    rx.text(
                        S.errors[f"files.{index}.target_path"], size="1", color=rx.color("red", 11)
                    ),
                ),
                spacing="1",
            )
        ),
        rx.table.cell(rx.badge(row.policy, variant="soft")),
        rx.table.cell(rx.code(row.mode, variant="ghost")),
        rx.table.cell(
            rx.hstack(
                *_edit_remove(row.name, S.open_file(index), S.remove_file(index)),
                spacing="2",
                justify="end",
            )
        ),
        align="center",
        custom_attrs={"data-file": row.name},
    )


def _files() -> rx.Component:
    return rx.vstack(
        _section_header(
            "Files are written into the container before packages and scripts.",
            "Add file",
            S.open_file(-1),
            "add-file",
        ),
        _error("files"),
        rx.cond(
            S.files.length() > 0,
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        *[
                            rx.table.column_header_cell(h)
                            for h in ("Name", "Target", "Policy", "Mode", "")
                        ]
                    )
                ),
                rx.table.body(rx.foreach(S.files, _file_row)),
                variant="surface",
                width="100%",
                id="files-table",
            ),
            rx.text("No files.", size="2", color=rx.color("gray", 10)),
        ),
        _file_dialog(),
        spacing="3",
        width="100%",
    )


def _package_row(row: PackageRow, index: rx.Var[int]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.badge(row.manager, variant="soft")),
        rx.table.cell(
            rx.vstack(
                rx.code(row.name, variant="ghost"),
                rx.cond(
                    row.command != "", rx.text(row.command, size="1", color=rx.color("gray", 10))
                ),
                rx.cond(
                    S.errors.contains(f"packages.{index}.name"),
                    rx.text(
                        S.errors[f"packages.{index}.name"], size="1", color=rx.color("red", 11)
                    ),
                ),
                spacing="1",
            )
        ),
        rx.table.cell(rx.text(rx.cond(row.version != "", row.version, "latest"), size="2")),
        rx.table.cell(
            rx.cond(
                S.read_only,
                rx.fragment(),
                rx.icon_button(
                    rx.icon("trash-2", size=14),
                    size="1",
                    variant="soft",
                    color_scheme="red",
                    on_click=S.remove_package(index),
                    aria_label=rx.Var.create("Remove ") + row.name,
                ),
            )
        ),
        align="center",
        custom_attrs={"data-package": row.name},
    )


def _package_form() -> rx.Component:
    return package_form(S.pkg_manager, S.pkg_errors, S.set_pkg_manager, S.add_package)


def _packages() -> rx.Component:
    return rx.vstack(
        rx.text(
            "Installed after the files: apt packages first (one apt-get update), then npm, pip and custom ones.",
            size="2",
            color=rx.color("gray", 11),
        ),
        rx.cond(S.read_only, rx.fragment(), _package_form()),
        _error("packages"),
        rx.cond(
            S.packages.length() > 0,
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        *[
                            rx.table.column_header_cell(h)
                            for h in ("Manager", "Package", "Version", "")
                        ]
                    )
                ),
                rx.table.body(rx.foreach(S.packages, _package_row)),
                variant="surface",
                width="100%",
                id="packages-table",
            ),
            rx.text("No packages of its own.", size="2", color=rx.color("gray", 10)),
        ),
        rx.heading("Package buckets", size="3", as_="h3", margin_top="0.5rem"),
        rx.cond(
            S.bucket_names.length() > 0,
            rx.flex(
                rx.foreach(
                    S.bucket_names,
                    lambda name: rx.el.label(
                        rx.hstack(
                            rx.checkbox(
                                checked=S.buckets.contains(name),
                                on_change=lambda v: S.toggle_bucket(name, v),
                                disabled=S.read_only,
                            ),
                            rx.text(name, size="2"),
                            spacing="2",
                            align="center",
                        )
                    ),
                ),
                gap="4",
                wrap="wrap",
            ),
            rx.text(
                "No package buckets yet. ",
                rx.link("Create one", href="/templates/packages"),
                " to share a list of packages between templates.",
                size="2",
                color=rx.color("gray", 10),
            ),
        ),
        _error("buckets"),
        spacing="3",
        width="100%",
    )


def _header() -> rx.Component:
    return rx.hstack(
        rx.link(
            rx.hstack(
                rx.icon("arrow-left", size=14),
                rx.text("Templates", size="2"),
                spacing="1",
                align="center",
            ),
            href="/templates",
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
        rx.cond(
            S.updated != "", rx.text("Saved ", S.updated, size="1", color=rx.color("gray", 10))
        ),
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
            rx.tabs.content(_configuration(), value="configuration", padding_top="1rem"),
            rx.tabs.content(_scripts(), value="scripts", padding_top="1rem"),
            rx.tabs.content(_files(), value="files", padding_top="1rem"),
            rx.tabs.content(_packages(), value="packages", padding_top="1rem"),
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
        "Template",
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


ON_LOAD = TemplateEditorState.load
