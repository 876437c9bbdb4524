"""The delete dialog (type the VMID to confirm) and the last task's log."""

from __future__ import annotations

import reflex as rx

from lxc_manager.pages.components.form import NO_ERRORS, Form, field, flag, text_input
from lxc_manager.pages.components.log_box import log_box
from lxc_manager.pages.dashboard.state import DashboardState as S

DELETE_FORM = Form(
    errors=NO_ERRORS,
    id_prefix="delete-",
    fields=("vmid", "purge", "destroy_disks", "stop_first", "backup_first"),
)
HA_NOTE = (
    "This container is managed by HA: it is deleted with purge, which also "
    "removes it from the HA resources (Proxmox refuses it otherwise)."
)


def _option(name: str, label: rx.Component | str, **props: str) -> rx.Component:
    text = rx.text(label, size="2") if isinstance(label, str) else label
    return flag(DELETE_FORM, name, text, **props)


def _delete_form() -> rx.Component:
    confirm = rx.text("Type the VMID ", rx.code(S.delete_target_vmid), " to confirm", size="2")
    # Controlled, and also submitted with the form (`confirm_delete` reads its "vmid").
    vmid = text_input(
        DELETE_FORM,
        "vmid",
        S.delete_vmid,
        S.set_delete_vmid,
        auto_complete="off",
        custom_attrs={"name": "vmid"},
    )
    stop_first = rx.text(
        "The container is running: stop it first", size="2", color=rx.color("red", 11)
    )
    return rx.form(
        rx.vstack(
            field(DELETE_FORM, confirm, "vmid", vmid),
            _option("purge", "Purge from backup jobs, replication and HA"),
            _option("destroy_disks", "Destroy unreferenced disks"),
            rx.cond(S.delete_running, _option("stop_first", stop_first, id="stop-first")),
            flag(
                DELETE_FORM,
                "backup_first",
                rx.text("Back up first", size="2"),
                hint="One job: a backup (on the first backup storage, shared ones first), "
                "then the delete (purged); you follow it on the job page.",
            ),
            rx.hstack(
                rx.button(
                    "Cancel",
                    type="button",
                    variant="soft",
                    color_scheme="gray",
                    on_click=S.cancel_delete,
                ),
                rx.button(
                    "Delete",
                    type="submit",
                    color_scheme="red",
                    disabled=S.delete_vmid != S.delete_target_vmid,
                    id="confirm-delete",
                ),
                justify="end",
                spacing="3",
                width="100%",
            ),
            spacing="3",
        ),
        on_submit=S.confirm_delete,
    )


def delete_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Delete container ", S.delete_target_vmid, "?"),
            rx.dialog.description(
                "This destroys the container and its disks on Proxmox. It cannot be undone.",
                size="2",
            ),
            rx.cond(
                S.delete_ha,
                rx.callout(
                    HA_NOTE,
                    icon="info",
                    color_scheme="purple",
                    size="1",
                    id="delete-ha-note",
                    margin_top="2",
                ),
            ),
            _delete_form(),
            max_width="30rem",
        ),
        open=S.delete_key != "",
        on_open_change=lambda _open: S.cancel_delete(),
    )


def task_log() -> rx.Component:
    """A button naming the last task, and its log in a dialog."""
    return rx.fragment(
        rx.cond(
            S.task_log.length() > 0,
            rx.button(
                rx.icon("scroll-text", size=14),
                "Task log: ",
                S.task_title,
                size="1",
                variant="ghost",
                on_click=S.set_task_log_open(True),
                id="show-task-log",
            ),
        ),
        rx.dialog.root(
            rx.dialog.content(
                rx.dialog.title("Task log: ", S.task_title),
                log_box(S.task_log, "task-log", max_height="24rem"),
                rx.hstack(
                    rx.dialog.close(rx.button("Close", variant="soft")),
                    justify="end",
                    margin_top="1rem",
                ),
                max_width="44rem",
            ),
            open=S.task_log_open,
            on_open_change=S.set_task_log_open,
        ),
    )
