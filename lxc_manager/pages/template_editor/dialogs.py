"""The script and file dialogs: a form each, submitted whole ("Keep script", "Keep file")."""

from __future__ import annotations

import reflex as rx

from lxc_manager.pages.components.dialogs import dialog_actions, form_dialog
from lxc_manager.pages.components.form import Form, error, field, text_input, textarea
from lxc_manager.templates.spec import POLICY_LABELS

from .rows import FileRow, ScriptRow
from .state import CLOSED
from .state import TemplateEditorState as S

SCRIPT_SKELETON = '#!/usr/bin/env bash\nset -euo pipefail\n\nlog_info "Hello from $CONTAINER_OS"\n'
CODE = {"fontFamily": "var(--code-font-family)", "fontSize": "13px"}
SCRIPT = Form(errors=S.item_errors, id_prefix="script-", fields=("name", "content", "scripts"))
FILE = Form(
    errors=S.item_errors,
    id_prefix="file-",
    fields=("name", "target_path", "policy", "mode", "content", "files"),
)


def _item_form(
    form: Form, kind: str, keep: str, on_submit: rx.EventHandler, *rows: rx.Component
) -> rx.Component:
    """The dialog's form: its fields, the list's error (`kind`), Cancel and `keep`."""
    return rx.form(
        rx.vstack(
            *rows,
            error(form, kind),
            dialog_actions(keep, f"{form.id_prefix}save"),
            spacing="2",
            width="100%",
        ),
        on_submit=on_submit,
        reset_on_submit=False,
    )


def _name_input(form: Form, value: rx.Var[str], example: str) -> rx.Component:
    """The item's name, required, focused when its dialog opens."""
    return text_input(
        form, "name", default_value=value, placeholder=example, auto_focus=True, required=True
    )


def script_dialog() -> rx.Component:
    editing = S.script_index >= 0
    # a new script starts from the skeleton
    blank = ScriptRow(name="", content=SCRIPT_SKELETON)
    current = rx.cond(editing, S.scripts[S.script_index.to(int)], blank)
    content = textarea(
        SCRIPT,
        "content",
        default_value=current.content,
        rows="18",
        spell_check=False,
        style={**CODE, "tabSize": "4"},
        custom_attrs={"autoCapitalize": "off", "autoCorrect": "off"},
    )
    name = _name_input(SCRIPT, current.name, "10-install-app.sh")
    return form_dialog(
        rx.cond(editing, "Edit script", "Add a script"),
        _item_form(
            SCRIPT,
            "scripts",
            "Keep script",
            S.save_script,
            field(SCRIPT, "Name", "name", name),
            field(SCRIPT, "Script", "content", content),
        ),
        description=rx.dialog.description(
            "Runs as root through `bash -s` in the container, after the helper library "
            "(log_info, ensure_installed, save_credential, ...) is sourced.",
            size="2",
            margin_bottom="0.75rem",
        ),
        open_=S.script_index > CLOSED,
        on_open_change=S.close_script,
        max_width="52rem",
    )


def _policy(current: FileRow) -> rx.Component:
    return rx.el.select(
        *[rx.el.option(label, value=key) for key, label in POLICY_LABELS.items()],
        name="policy",
        id=FILE.control_id("policy"),
        default_value=current.policy,
        custom_attrs=FILE.a11y("policy"),
        style={
            "padding": "0.4rem",
            "borderRadius": "var(--radius-2)",
            "border": f"1px solid {rx.color('gray', 7)}",
            "background": "transparent",
            "color": "inherit",
        },
    )


def file_dialog() -> rx.Component:
    editing = S.file_index >= 0
    current = rx.cond(
        editing, S.files[S.file_index.to(int)], FileRow(name="", target_path="", content="")
    )
    name = _name_input(FILE, current.name, "nginx.conf")
    target = text_input(
        FILE,
        "target_path",
        id="file-target",
        default_value=current.target_path,
        placeholder="/etc/nginx/conf.d/app.conf",
        required=True,
    )
    mode = text_input(FILE, "mode", default_value=current.mode, width="7rem")
    content = textarea(
        FILE,
        "content",
        default_value=current.content,
        rows="14",
        spell_check=False,
        style=CODE,
    )
    return form_dialog(
        rx.cond(editing, "Edit file", "Add a file"),
        _item_form(
            FILE,
            "files",
            "Keep file",
            S.save_file,
            _pair(
                field(FILE, "Name", "name", name),
                field(FILE, "Target path", "target_path", target, control_id="file-target"),
            ),
            _pair(
                field(FILE, "If the file exists", "policy", _policy(current)),
                field(FILE, "Mode", "mode", mode),
            ),
            field(FILE, "Content", "content", content),
        ),
        open_=S.file_index > CLOSED,
        on_open_change=S.close_file,
        max_width="52rem",
    )


def _pair(first: rx.Component, second: rx.Component) -> rx.Component:
    return rx.grid(first, second, columns="2", spacing="3", width="100%")
