"""The editor's Configuration tab: name, OS template, resources, features."""

from __future__ import annotations

from typing import Any

import reflex as rx

from lxc_manager.pages.components.form import Form, error, field, flag, select, text_input, textarea
from lxc_manager.pages.components.recipe_parts import resources_grid
from lxc_manager.templates.spec import FEATURE_NOTE, FEATURE_PRESETS, VISIBILITY_LABELS

from .state import FIELDS
from .state import TemplateEditorState as S

# Controls are `tpl-<name>` (the last part of the error key), errors `<key>-error`.
FORM = Form(
    errors=S.errors, id_prefix="tpl-", error_prefix="", fields=FIELDS, read_only=S.read_only
)


def _text(name: str, value: rx.Var[str], field_name: str = "", **props: Any) -> rx.Component:
    """A text field setting `field_name` (default: `name`, its error key)."""
    setter = field_name or name
    if field_name:
        props.setdefault("id", f"tpl-{field_name}")
    return text_input(FORM, name, value, lambda v: S.set_field(setter, v), **props)


def _number(label: str, name: str, value: rx.Var[str]) -> rx.Component:
    key = f"resources.{name}"
    return field(FORM, label, key, _text(key, value, name, input_mode="numeric"))


def _flag(name: str, label: str, value: rx.Var[bool], hint: str) -> rx.Component:
    return flag(FORM, name, label, value, lambda v: S.set_flag(name, v), hint)


def _grid(*children: rx.Component, columns: str = "2") -> rx.Component:
    return rx.grid(*children, columns=columns, spacing="4", width="100%")


def _visibility() -> rx.Component:
    control = select(
        FORM,
        "visibility",
        S.visibility,
        S.set_visibility,
        list(VISIBILITY_LABELS.items()),
        disabled=S.read_only | ~S.owns,
    )
    return field(
        FORM,
        "Who sees it",
        "visibility",
        control,
        "A shared template uses only shared package buckets.",
    )


def _presets() -> rx.Component:
    return rx.cond(
        S.read_only,
        rx.fragment(),
        rx.select.root(
            rx.select.trigger(placeholder="Apply a preset…", aria_label="Feature preset"),
            rx.select.content(
                *[rx.select.item(label, value=key) for key, (label, _) in FEATURE_PRESETS.items()]
            ),
            on_change=S.apply_preset,
            value="",
        ),
    )


def _features() -> rx.Component:
    return rx.fragment(
        rx.hstack(
            rx.heading("Features", size="3", as_="h3"),
            rx.spacer(),
            _presets(),
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
        error(FORM, "features.keyctl"),
        rx.cond(
            S.keyctl | S.fuse,
            rx.callout(FEATURE_NOTE, icon="info", color_scheme="amber", size="1", width="100%"),
        ),
    )


def configuration() -> rx.Component:
    description = textarea(
        FORM, "description", S.description, lambda v: S.set_field("description", v), rows="3"
    )
    return rx.vstack(
        _grid(
            field(
                FORM,
                "Name",
                "name",
                _text("name", S.name, placeholder="Docker host", auto_focus=True),
            ),
            field(
                FORM,
                "OS template",
                "os_template",
                _text("os_template", S.os_template, placeholder="debian-12-standard"),
                "A Proxmox CT template name pattern; the wizard lists matching images.",
            ),
        ),
        field(FORM, "Description", "description", description),
        _grid(
            field(
                FORM,
                "Tags",
                "tags",
                _text("tags", S.tags, placeholder="web, python"),
                "Comma-separated",
            ),
            field(
                FORM,
                "Version",
                "version",
                _text("version", S.template_version, "template_version", placeholder="1.0"),
                control_id="tpl-template_version",
            ),
        ),
        _visibility(),
        rx.heading("Resources", size="3", as_="h3"),
        resources_grid(lambda label, name: _number(label, name, getattr(S, name))),
        _grid(
            field(
                FORM,
                "Default storage",
                "storage",
                _text("storage", S.storage, placeholder="local-lvm"),
                "Blank: the wizard picks the node's first rootdir storage.",
            ),
            field(FORM, "Bridge", "bridge", _text("bridge", S.bridge, placeholder="vmbr0")),
        ),
        _features(),
        spacing="4",
        width="100%",
    )
