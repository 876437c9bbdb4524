"""The add/edit dialog of the nodes page: a submitted form (secrets never enter state)."""

from __future__ import annotations

import reflex as rx

from lxc_manager.nodes import PRIVSEP_HINT
from lxc_manager.pages.components import form as kit
from lxc_manager.pages.components.controls import error_callout
from lxc_manager.pages.components.dialogs import dialog_actions, form_dialog
from lxc_manager.pages.components.fingerprint import fingerprint_confirmation
from lxc_manager.pages.components.form_data import field_names
from lxc_manager.pages.nodes.rows import SSH_KEEP_HINT, TOKEN_KEEP_HINT, MemberRow, NodeForm
from lxc_manager.pages.nodes.state import NodesState

# Errors keep their historical ids (`host-error`, not `node-host-error`).
FORM = kit.Form(
    errors=NodesState.field_errors,
    id_prefix="node-",
    error_prefix="",
    fields=field_names(NodeForm),
)
EDITING = NodesState.editing_id != 0


def _problems() -> rx.Component:
    return rx.fragment(
        rx.cond(
            (NodesState.form_error != "") & (NodesState.missing_privileges.length() == 0),
            error_callout(NodesState.form_error, id="node-form-error"),
        ),
        rx.cond(
            NodesState.missing_privileges.length() > 0,
            rx.callout.root(
                rx.callout.icon(rx.icon("lock")),
                rx.vstack(
                    rx.text(
                        "The token lacks privileges LXC Manager needs:", weight="bold", size="2"
                    ),
                    rx.flex(
                        rx.foreach(
                            NodesState.missing_privileges, lambda p: rx.badge(p, color_scheme="red")
                        ),
                        wrap="wrap",
                        gap="1",
                        id="missing-privileges",
                    ),
                    rx.cond(NodesState.privsep_hint, rx.text(PRIVSEP_HINT, size="1")),
                    spacing="2",
                ),
                color_scheme="red",
                width="100%",
            ),
        ),
    )


def _pair(wide: rx.Component, narrow: rx.Component) -> rx.Component:
    """Two fields side by side: `wide` takes the room, `narrow` (a port) 7rem."""
    return rx.hstack(
        rx.box(wide, flex="1", min_width="0"),
        rx.box(narrow, width="7rem"),
        width="100%",
        spacing="3",
        align="start",
    )


def _ssh_secret(keep_hint: rx.Var[str]) -> rx.Component:
    """The SSH password or private key, whichever the radio chose (one control name)."""
    return rx.cond(
        NodesState.f_ssh_kind == "key",
        kit.field(
            FORM,
            "Private key",
            "ssh_secret",
            kit.textarea(
                FORM,
                "ssh_secret",
                rows="4",
                placeholder="-----BEGIN OPENSSH PRIVATE KEY-----",
                spell_check=False,
            ),
            keep_hint,
        ),
        kit.field(
            FORM,
            "SSH password",
            "ssh_secret",
            kit.text_input(FORM, "ssh_secret", type="password", auto_complete="new-password"),
            keep_hint,
        ),
    )


def _ssh_section() -> rx.Component:
    keep_hint = rx.cond(EDITING & NodesState.editing_has_ssh, SSH_KEEP_HINT, "")
    return rx.vstack(
        rx.hstack(
            rx.text("SSH access", weight="bold", size="2"),
            kit.hint_text("optional · for provisioning, services and logs (pct exec)"),
            align="baseline",
            spacing="2",
        ),
        _pair(
            kit.field(
                FORM,
                "SSH user",
                "ssh_user",
                kit.text_input(FORM, "ssh_user", default_value=NodesState.f_ssh_user),
            ),
            kit.field(
                FORM,
                "SSH port",
                "ssh_port",
                kit.number_input(FORM, "ssh_port", default_value=NodesState.f_ssh_port),
            ),
        ),
        kit.radios(
            (("password", "Password", "ssh-kind-password"), ("key", "Private key", "ssh-kind-key")),
            NodesState.f_ssh_kind,
            NodesState.set_ssh_kind,
            size="2",
        ),
        _ssh_secret(keep_hint),
        rx.cond(
            EDITING & NodesState.editing_has_ssh,
            rx.el.label(
                rx.hstack(
                    rx.checkbox(name=FORM.known("clear_ssh"), id="node-clear-ssh"),
                    rx.text("Remove the stored SSH credentials", size="2"),
                    spacing="2",
                ),
            ),
        ),
        spacing="3",
        width="100%",
        padding="0.75rem",
        border=f"1px solid {rx.color('gray', 5)}",
        border_radius="var(--radius-3)",
    )


def _api_fields() -> list[rx.Component]:
    return [
        kit.field(
            FORM,
            "Name",
            "name",
            kit.text_input(
                FORM,
                "name",
                default_value=NodesState.f_name,
                placeholder="pve1",
                required=True,
                auto_focus=True,
            ),
        ),
        _pair(
            kit.field(
                FORM,
                "Host",
                "host",
                kit.text_input(
                    FORM,
                    "host",
                    default_value=NodesState.f_host,
                    placeholder="192.168.1.100 or pve.local",
                    required=True,
                ),
            ),
            kit.field(
                FORM,
                "Port",
                "port",
                kit.number_input(FORM, "port", default_value=NodesState.f_port, required=True),
            ),
        ),
        kit.field(
            FORM,
            "Token ID",
            "token_id",
            kit.text_input(
                FORM,
                "token_id",
                default_value=NodesState.f_token_id,
                placeholder="root@pam!lxc-manager",
                required=True,
            ),
        ),
        kit.field(
            FORM,
            "Token secret",
            "token_secret",
            kit.text_input(
                FORM,
                "token_secret",
                type="password",
                auto_complete="off",
                placeholder=rx.cond(
                    EDITING,
                    "Leave blank to keep the stored secret",
                    "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
                ),
                required=~EDITING,
            ),
            rx.cond(EDITING, TOKEN_KEEP_HINT, ""),
        ),
    ]


def _pending_member(member: MemberRow) -> rx.Component:
    return fingerprint_confirmation(
        f"New SSH host key of PVE node {member.name} ({member.ip})",
        member.key,
        f"pending-member-{member.name}",
    )


def _confirmations() -> list[rx.Component]:
    return [
        rx.cond(
            NodesState.pending_tls != "",
            fingerprint_confirmation(
                "TLS certificate fingerprint (SHA-256)", NodesState.pending_tls, "pending-tls"
            ),
        ),
        rx.cond(
            NodesState.pending_ssh != "",
            fingerprint_confirmation(
                "SSH host key fingerprint", NodesState.pending_ssh, "pending-ssh"
            ),
        ),
        rx.foreach(NodesState.pending_members, _pending_member),
    ]


def _buttons() -> rx.Component:
    confirming = (
        (NodesState.pending_tls != "")
        | (NodesState.pending_ssh != "")
        | (NodesState.pending_members.length() > 0)
    )
    return dialog_actions(
        rx.cond(
            NodesState.saving,
            "Testing the connection…",
            rx.cond(
                confirming,
                "Trust and save",
                rx.cond(EDITING, "Test and save", "Test and add"),
            ),
        ),
        "node-save",
        busy=NodesState.saving,
    )


def node_dialog() -> rx.Component:
    return form_dialog(
        rx.cond(EDITING, "Edit node", "Add a Proxmox node"),
        rx.form(
            rx.vstack(
                *_api_fields(),
                _ssh_section(),
                *_confirmations(),
                _problems(),
                _buttons(),
                spacing="4",
                width="100%",
            ),
            on_submit=NodesState.save,
            width="100%",
        ),
        description=rx.dialog.description(
            "LXC Manager signs in to the node with an API token. The connection is "
            "tested before anything is saved.",
            size="2",
            margin_bottom="1rem",
        ),
        open_=NodesState.dialog_open,
        on_open_change=NodesState.set_dialog_open,
        max_width="36rem",
    )
