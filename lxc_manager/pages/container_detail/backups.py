"""The Backups tab: the container's backups (newest first) and what can be done with
them — back up now, restore (over this container or as a new one), protect, notes,
delete. Long actions continue on the job page (live log, survives a reload)."""

from __future__ import annotations

import reflex as rx

from lxc_manager.pages.components.controls import error_callout
from lxc_manager.pages.components.dialogs import confirm_button, dialog_actions, form_dialog
from lxc_manager.pages.components.form import (
    Form,
    error,
    field,
    flag,
    hint_text,
    number_input,
    radios,
    select,
    text_input,
    textarea,
)
from lxc_manager.pages.components.layout import muted
from lxc_manager.pages.components.listing import data_table
from lxc_manager.pages.container_detail.backups_state import COMPRESS_LABELS, BackupRow
from lxc_manager.pages.container_detail.backups_state import BackupsState as B

HEADERS = ("Date", "Storage", "Size", "Format", "Notes", "Made by", "")
BACKUP_FORM = Form(
    errors=B.backup_errors,
    id_prefix="backup-",
    fields=("storage", "mode", "compress", "notes", "protected", "form"),
)
RESTORE_FORM = Form(
    errors=B.restore_errors,
    id_prefix="restore-",
    fields=("vmid", "hostname", "node", "storage", "confirm", "form"),
)
NOTES_FORM = Form(
    errors=rx.Var.create({}).to(dict[str, str]), id_prefix="notes-", fields=("notes",)
)
MODES = (
    ("snapshot", "Snapshot", "backup-mode-snapshot"),
    ("suspend", "Suspend", "backup-mode-suspend"),
    ("stop", "Stop", "backup-mode-stop"),
)


def _protect_button(row: BackupRow) -> rx.Component:
    return rx.button(
        rx.icon(rx.cond(row.protected, "lock-open", "lock"), size=14),
        rx.cond(row.protected, "Unprotect", "Protect"),
        size="1",
        variant="soft",
        color_scheme="gray",
        disabled=B.busy != "",
        on_click=B.set_protected(row.volid, ~row.protected),
    )


def _delete_button(row: BackupRow) -> rx.Component:
    trigger = rx.button(
        rx.icon("trash-2", size=14),
        "Delete",
        size="1",
        variant="soft",
        color_scheme="red",
        disabled=(B.busy != "") | row.protected,
        title=rx.cond(row.protected, "Protected backups cannot be deleted", "Delete"),
    )
    return confirm_button(
        trigger,
        "Delete this backup?",
        rx.text(
            "The archive ", rx.code(row.filename), " is removed from ", row.storage, " for good."
        ),
        "Delete",
        B.delete(row.volid),
    )


def _row(row: BackupRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row.date, weight="medium", white_space="nowrap")),
        rx.table.cell(
            row.storage,
            rx.cond(
                row.protected, rx.badge("protected", color_scheme="amber", margin_left="0.5rem")
            ),
        ),
        rx.table.cell(row.size),
        rx.table.cell(row.format),
        rx.table.cell(rx.text(row.notes, size="2")),
        rx.table.cell(muted(row.origin, size="2", shade=11)),
        rx.table.cell(
            rx.hstack(
                rx.button(
                    rx.icon("history", size=14),
                    "Restore",
                    size="1",
                    variant="soft",
                    disabled=B.busy != "",
                    on_click=B.open_restore(row.volid),
                ),
                _protect_button(row),
                rx.button(
                    rx.icon("pencil", size=14),
                    "Notes",
                    size="1",
                    variant="soft",
                    color_scheme="gray",
                    on_click=B.open_notes(row.volid),
                ),
                _delete_button(row),
                spacing="2",
                justify="end",
                wrap="wrap",
            )
        ),
        custom_attrs={"data-backup": row.volid},
    )


def _storage_select(form: Form) -> rx.Component:
    return field(
        form,
        "Backup storage",
        "storage",
        select(form, "storage", B.bk_storage, B.set_bk_storage, B.storages, "Choose a storage"),
        hint="Only storages that hold backups are offered.",
    )


def _backup_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            _storage_select(BACKUP_FORM),
            field(
                BACKUP_FORM,
                "Mode",
                "mode",
                radios(MODES, B.bk_mode, B.set_bk_mode),
                hint=B.mode_help,
                control_id="backup-mode-snapshot",
            ),
            field(
                BACKUP_FORM,
                "Compression",
                "compress",
                select(
                    BACKUP_FORM,
                    "compress",
                    B.bk_compress,
                    B.set_bk_compress,
                    list(COMPRESS_LABELS.items()),
                ),
            ),
            field(
                BACKUP_FORM,
                "Notes",
                "notes",
                text_input(
                    BACKUP_FORM, "notes", placeholder="e.g. before the upgrade", max_length=1024
                ),
            ),
            flag(
                BACKUP_FORM,
                "protected",
                "Protected",
                hint="A protected backup cannot be deleted (nor pruned) until it is unprotected.",
            ),
            error(BACKUP_FORM, "form"),
            dialog_actions("Back up now", "backup-submit", B.busy == "backup"),
            spacing="3",
            width="100%",
        ),
        on_submit=B.back_up,
        width="100%",
    )


def _new_fields() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            field(
                RESTORE_FORM,
                "New VMID",
                "vmid",
                number_input(RESTORE_FORM, "vmid", placeholder="e.g. 140"),
            ),
            field(
                RESTORE_FORM,
                "Host name",
                "hostname",
                text_input(RESTORE_FORM, "hostname", placeholder="e.g. web-copy"),
            ),
            width="100%",
            spacing="3",
        ),
        field(
            RESTORE_FORM,
            "PVE node",
            "node",
            select(
                RESTORE_FORM,
                "node",
                B.rs_node,
                B.set_rs_node,
                B.node_choices,
                "Choose a node",
            ),
        ),
        spacing="3",
        width="100%",
    )


def _over_fields() -> rx.Component:
    return rx.vstack(
        rx.callout(
            rx.text(
                "Everything CT ",
                B.this_vmid,
                " holds now — its disks, its configuration and "
                "its snapshots — is replaced by this backup of ",
                B.restore_date,
                ". Whatever changed since then is lost. The container must be stopped.",
            ),
            icon="triangle-alert",
            color_scheme="red",
            width="100%",
        ),
        rx.el.label(
            rx.hstack(
                rx.checkbox(
                    checked=B.backup_first,
                    on_change=B.set_backup_first,
                    id="restore-backup-first",
                    name="backup_first",
                ),
                rx.vstack(
                    rx.text("Back up first", size="2", weight="medium"),
                    hint_text("One job: a backup of the container as it is now, then the restore."),
                    spacing="0",
                ),
                spacing="2",
                align="start",
            )
        ),
        rx.cond(B.backup_first, _storage_select(RESTORE_FORM)),
        field(
            RESTORE_FORM,
            rx.text("Type ", rx.code(B.this_vmid), " to confirm", size="2", weight="medium"),
            "confirm",
            text_input(RESTORE_FORM, "confirm", placeholder="VMID", auto_complete="off"),
        ),
        spacing="3",
        width="100%",
    )


def _restore_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            radios(
                (
                    ("new", "As a new container", "restore-mode-new"),
                    ("over", "Over this container", "restore-mode-over"),
                ),
                B.restore_mode,
                B.set_restore_mode,
            ),
            rx.cond(B.restore_mode == "over", _over_fields(), _new_fields()),
            field(
                RESTORE_FORM,
                "Target storage",
                "storage",
                select(
                    RESTORE_FORM,
                    "storage",
                    B.rs_storage,
                    B.set_rs_storage,
                    B.target_storages,
                    "Choose a storage",
                ),
                hint="Where the restored disks go (storages for container disks).",
            ),
            error(RESTORE_FORM, "form"),
            dialog_actions(
                rx.cond(
                    B.restore_mode == "over",
                    "Restore over CT " + B.this_vmid.to_string(),
                    "Restore",
                ),
                "restore-submit",
                B.busy == "restore",
            ),
            spacing="3",
            width="100%",
        ),
        on_submit=B.restore,
        width="100%",
    )


def _notes_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            textarea(NOTES_FORM, "notes", default_value=B.notes_text, max_length=1024, rows="4"),
            dialog_actions("Save notes", "notes-submit", B.busy == "notes"),
            spacing="3",
            width="100%",
        ),
        on_submit=B.save_notes,
        width="100%",
    )


def _dialogs() -> rx.Component:
    return rx.fragment(
        form_dialog(
            "Back up now",
            _backup_form(),
            open_=B.backup_open,
            on_open_change=B.set_backup_open,
            max_width="32rem",
        ),
        form_dialog(
            "Restore a backup",
            _restore_form(),
            open_=B.restore_open,
            on_open_change=B.set_restore_open,
            max_width="36rem",
            description=rx.dialog.description(
                rx.text("From the backup of ", B.restore_date, size="2")
            ),
        ),
        form_dialog(
            "Notes of the backup",
            _notes_form(),
            open_=B.notes_open,
            on_open_change=B.set_notes_open,
            max_width="32rem",
        ),
    )


def _listing() -> rx.Component:
    return rx.cond(
        B.error != "",
        error_callout(B.error, id="backups-error"),
        rx.cond(
            B.rows.length() > 0,
            data_table(HEADERS, rx.foreach(B.rows, _row), id="backups-table"),
            rx.text(
                "No backups of this container yet.",
                size="2",
                color=rx.color("gray", 11),
                id="backups-empty",
            ),
        ),
    )


def backups() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.button(
                rx.icon("archive", size=16),
                "Back up now",
                on_click=B.set_backup_open(True),
                disabled=(B.busy != "") | (B.storages.length() == 0),
                id="backup-now",
            ),
            rx.button(
                rx.icon("refresh-cw", size=14),
                "Refresh",
                variant="soft",
                color_scheme="gray",
                on_click=B.open,
                disabled=B.loading,
            ),
            rx.cond(B.loading, rx.spinner(size="2")),
            spacing="2",
            align="center",
        ),
        rx.cond(B.notice != "", hint_text(B.notice_text)),
        rx.cond(B.loaded, _listing(), rx.center(rx.spinner(), padding="2rem", width="100%")),
        _dialogs(),
        spacing="3",
        width="100%",
    )
