"""`/settings/nodes`: the signed-in user's Proxmox nodes (API-token endpoints).

Secrets typed into the form pass through the submit event to the service and are never
kept in state; stored secrets are never sent back to the browser (blank = keep, except
where the edit moves them: a new host, port or token ID needs the token secret again, a
new host, SSH port or SSH user the SSH secret; the hints under the fields say so).
"""

from __future__ import annotations

import reflex as rx
from pydantic import BaseModel

from lxc_manager.nodes import PRIVSEP_HINT, service
from lxc_manager.nodes.service import CheckResult, NodeInput, NodeNotFound, NodeView
from lxc_manager.pages.components.fingerprint import fingerprint_confirmation
from lxc_manager.pages.components.layout import delete_button, empty_state, page_shell
from lxc_manager.state.legacy_session import LegacySessionState, require_session

ROUTE = "/settings/nodes"
TITLE = "Nodes"
PROBE_TIMEOUT = 5.0
TOKEN_KEEP_HINT = (
    "Leave blank to keep the stored secret. Changing the host, port or token ID needs it "
    "again: a stored secret is never sent to a new address."
)
SSH_KEEP_HINT = (
    "Leave blank to keep the stored secret. Changing the host, SSH port or SSH user needs "
    "it again: a stored secret is never sent to a new address."
)


class MemberRow(BaseModel):
    """A cluster member's SSH host key as the page shows it."""

    name: str
    ip: str
    key: str


class NodeRow(BaseModel):
    id: int
    name: str
    address: str
    token_id: str
    is_default: bool
    cluster: str
    pve_nodes: list[str]
    ssh: str
    member_keys: list[MemberRow] = []  # the other cluster members' pinned SSH host keys
    same_cluster_as: str = ""  # other nodes of this user that reach the same cluster
    status: str = "checking"  # checking | online | offline
    latency: str = ""
    error: str = ""


def _row(view: NodeView) -> NodeRow:
    address = f"[{view.host}]:{view.port}" if ":" in view.host else f"{view.host}:{view.port}"
    return NodeRow(
        id=view.id,
        name=view.name,
        address=address,
        token_id=view.token_id,
        is_default=view.is_default,
        cluster=view.cluster_name or "standalone",
        pve_nodes=list(view.pve_nodes),
        ssh=f"{view.ssh_user}@…:{view.ssh_port}" if view.has_ssh else "not configured",
        member_keys=[MemberRow(name=m.name, ip=m.ip, key=m.key) for m in view.member_keys],
    )


def _port(text: str, default: int) -> int:
    text = text.strip()
    return int(text) if text.isdigit() and 0 < int(text) < 65536 else (default if not text else -1)


class NodesState(LegacySessionState):
    nodes: list[NodeRow] = []
    loaded: bool = False
    # The add/edit dialog (non-secret fields only).
    dialog_open: bool = False
    editing_id: int = 0
    editing_has_ssh: bool = False
    f_name: str = ""
    f_host: str = ""
    f_port: str = "8006"
    f_token_id: str = ""
    f_ssh_user: str = "root"
    f_ssh_port: str = "22"
    f_ssh_kind: str = "password"
    pending_tls: str = ""
    pending_ssh: str = ""
    pending_members: list[MemberRow] = []  # members whose pinned SSH host key changed
    field_errors: dict[str, str] = {}
    form_error: str = ""
    missing_privileges: list[str] = []
    privsep_hint: bool = False
    saving: bool = False
    delete_error: str = ""
    _confirmed_tls: str = ""
    _confirmed_ssh: str = ""
    _confirmed_members: dict[str, str] = {}

    async def _refresh(self) -> None:
        views = await service.list_nodes(self._user_id)
        rows = []
        for view in views:
            peers = [v.name for v in views if v.cluster_key == view.cluster_key and v.id != view.id]
            rows.append(_row(view).model_copy(update={"same_cluster_as": ", ".join(peers)}))
        self.nodes = rows
        self.loaded = True

    @rx.event
    @require_session
    async def load(self) -> type[NodesState] | None:
        await self._refresh()
        return NodesState.probe if self.nodes else None

    @rx.event(background=True)
    @require_session
    async def probe(self) -> None:
        """Reachability, latency and SSH status of every node, fanned out concurrently."""
        async with self:
            session = await self.current_session()
            if session is None:
                return
            user_id = session.user_id
        probes = await service.probe_nodes(user_id, timeout=PROBE_TIMEOUT)
        async with self:
            rows = []
            for row in self.nodes:
                probe = probes.get(row.id)
                if probe is not None:
                    row = row.model_copy(
                        update={
                            "status": "online" if probe.reachable else "offline",
                            "latency": f"{probe.latency_ms:.0f} ms"
                            if probe.latency_ms is not None
                            else "",
                            "error": probe.error,
                            "ssh": probe.ssh if row.ssh != "not configured" else row.ssh,
                        }
                    )
                rows.append(row)
            self.nodes = rows

    # ---- dialog ---------------------------------------------------------------------
    def _reset_form(self) -> None:
        self.pending_tls = ""
        self.pending_ssh = ""
        self._confirmed_tls = ""
        self._confirmed_ssh = ""
        self.pending_members = []
        self._confirmed_members = {}
        self.field_errors = {}
        self.form_error = ""
        self.missing_privileges = []
        self.privsep_hint = False
        self.saving = False

    @rx.event
    @require_session
    def open_add(self) -> None:
        self._reset_form()
        self.editing_id, self.editing_has_ssh = 0, False
        self.f_name, self.f_host, self.f_port, self.f_token_id = "", "", "8006", ""
        self.f_ssh_user, self.f_ssh_port, self.f_ssh_kind = "root", "22", "password"
        self.dialog_open = True

    @rx.event
    @require_session
    async def open_edit(self, node_id: int) -> None:
        self._reset_form()
        try:
            view = await service.get_node(self._user_id, node_id)
        except NodeNotFound:
            self.delete_error = "Node not found"
            await self._refresh()
            return
        self.editing_id, self.editing_has_ssh = view.id, view.has_ssh
        self.f_name, self.f_host, self.f_port, self.f_token_id = (
            view.name,
            view.host,
            str(view.port),
            view.token_id,
        )
        self.f_ssh_user, self.f_ssh_port = view.ssh_user, str(view.ssh_port)
        self.dialog_open = True

    @rx.event
    def set_dialog_open(self, value: bool) -> None:
        if not self.saving:
            self.dialog_open = value

    @rx.event
    @require_session
    def set_ssh_kind(self, value: str) -> None:
        self.f_ssh_kind = "key" if value == "key" else "password"

    def _input_from(self, form: dict[str, str]) -> NodeInput:
        # The f_* vars are only the dialog's initial values: changing them here would
        # re-mount the inputs and wipe what the user typed (secrets included).
        secret_field = "ssh_key" if self.f_ssh_kind == "key" else "ssh_password"
        return NodeInput(
            name=form.get("name", "").strip(),
            host=form.get("host", "").strip(),
            port=_port(form.get("port", ""), 8006),
            token_id=form.get("token_id", "").strip(),
            token_secret=form.get("token_secret") or None,
            ssh_user=form.get("ssh_user", "").strip() or "root",
            ssh_port=_port(form.get("ssh_port", ""), 22),
            ssh_secret=form.get(secret_field) or None,
            ssh_secret_kind=self.f_ssh_kind,
            tls_fingerprint=self.pending_tls or self._confirmed_tls or None,
            ssh_host_key=self.pending_ssh or self._confirmed_ssh or None,
            clear_ssh=form.get("clear_ssh") in ("on", "true", "1"),
            member_host_keys={
                **self._confirmed_members,
                **{m.name: m.key for m in self.pending_members},
            },
        )

    def _show_problems(self, result: CheckResult) -> None:
        self.field_errors = dict(result.field_errors)
        self.form_error = result.error
        self.missing_privileges = list(result.missing_privileges)
        self.privsep_hint = result.privsep_hint
        # A fingerprint the user just trusted stays trusted for the next try of this form.
        if self.pending_tls and not result.needs_tls_confirmation:
            self._confirmed_tls = self.pending_tls
        if self.pending_ssh and not result.needs_ssh_confirmation:
            self._confirmed_ssh = self.pending_ssh
        if self.pending_members and not result.needs_member_confirmation:
            self._confirmed_members = {m.name: m.key for m in self.pending_members}
        self.pending_tls = result.tls_fingerprint if result.needs_tls_confirmation else ""
        self.pending_ssh = result.ssh_host_key if result.needs_ssh_confirmation else ""
        self.pending_members = [
            MemberRow(name=m.name, ip=m.ip, key=m.presented)
            for m in result.member_keys
            if result.needs_member_confirmation and m.state == "changed"
        ]

    @rx.event
    @require_session
    async def save(self, form: dict[str, str]):
        """Test the connection, then save; nothing is saved when anything fails."""
        if self.saving:
            return
        data = self._input_from(form)
        self.saving, self.field_errors, self.form_error, self.missing_privileges = True, {}, "", []
        yield
        try:
            if self.editing_id:
                outcome = await service.update_node(self._user_id, self.editing_id, data)
            else:
                outcome = await service.create_node(self._user_id, data)
        except NodeNotFound:
            self.saving, self.dialog_open = False, False
            self.delete_error = "Node not found"
            await self._refresh()
            return
        finally:
            self.saving = False
        if isinstance(outcome, CheckResult):
            self._show_problems(outcome)
            return
        self.dialog_open = False
        self._reset_form()
        await self._refresh()
        yield rx.toast.success(f"Node {outcome.name} saved", id="node-saved")
        yield NodesState.probe

    # ---- row actions ------------------------------------------------------------------
    @rx.event
    @require_session
    async def make_default(self, node_id: int):
        try:
            await service.make_default(self._user_id, node_id)
        except NodeNotFound:
            self.delete_error = "Node not found"
        await self._refresh()
        return NodesState.probe

    @rx.event
    @require_session
    async def delete(self, node_id: int):
        self.delete_error = ""
        try:
            await service.delete_node(self._user_id, node_id)
        except NodeNotFound:
            self.delete_error = "Node not found"
        await self._refresh()
        return NodesState.probe if self.nodes else None


# ---- components ------------------------------------------------------------------------


def _error(name: str) -> rx.Component:
    return rx.cond(
        NodesState.field_errors.contains(name),
        rx.text(
            NodesState.field_errors[name],
            size="1",
            color=rx.color("red", 11),
            id=f"{name}-error",
            role="alert",
            overflow_wrap="anywhere",
        ),
    )


def _field(
    label: str, name: str, control: rx.Component, hint: str | rx.Var | None = None
) -> rx.Component:
    return rx.vstack(
        rx.el.label(rx.text(label, size="2", weight="medium"), html_for=f"node-{name}"),
        control,
        *([rx.text(hint, size="1", color=rx.color("gray", 10))] if hint is not None else []),
        _error(name),
        spacing="1",
        width="100%",
    )


def _input(name: str, field: str | None = None, **props: object) -> rx.Component:
    """An input whose id matches its label (`field` when the form name differs)."""
    return rx.input(name=name, id=f"node-{field or name}", width="100%", **props)


def _problems() -> rx.Component:
    return rx.fragment(
        rx.cond(
            (NodesState.form_error != "") & (NodesState.missing_privileges.length() == 0),
            rx.callout(
                NodesState.form_error,
                icon="circle-alert",
                color_scheme="red",
                role="alert",
                id="node-form-error",
            ),
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


def _ssh_section() -> rx.Component:
    editing = NodesState.editing_id != 0
    keep_hint = rx.cond(editing & NodesState.editing_has_ssh, SSH_KEEP_HINT, "")
    return rx.vstack(
        rx.hstack(
            rx.text("SSH access", weight="bold", size="2"),
            rx.text(
                "optional · for provisioning, services and logs (pct exec)",
                size="1",
                color=rx.color("gray", 10),
            ),
            align="baseline",
            spacing="2",
        ),
        rx.hstack(
            rx.box(
                _field(
                    "SSH user", "ssh_user", _input("ssh_user", default_value=NodesState.f_ssh_user)
                ),
                flex="1",
            ),
            rx.box(
                _field(
                    "SSH port",
                    "ssh_port",
                    _input("ssh_port", default_value=NodesState.f_ssh_port, input_mode="numeric"),
                ),
                width="7rem",
            ),
            width="100%",
            spacing="3",
        ),
        rx.radio_group.root(
            rx.hstack(
                rx.radio_group.item(value="password", id="ssh-kind-password"),
                rx.el.label("Password", html_for="ssh-kind-password"),
                rx.radio_group.item(value="key", id="ssh-kind-key"),
                rx.el.label("Private key", html_for="ssh-kind-key"),
                spacing="2",
                align="center",
            ),
            value=NodesState.f_ssh_kind,
            on_change=NodesState.set_ssh_kind,
            size="2",
        ),
        rx.cond(
            NodesState.f_ssh_kind == "key",
            _field(
                "Private key",
                "ssh_secret",
                rx.text_area(
                    name="ssh_key",
                    id="node-ssh_secret",
                    rows="4",
                    width="100%",
                    placeholder="-----BEGIN OPENSSH PRIVATE KEY-----",
                    spell_check=False,
                ),
                keep_hint,
            ),
            _field(
                "SSH password",
                "ssh_secret",
                _input(
                    "ssh_password",
                    field="ssh_secret",
                    type="password",
                    auto_complete="new-password",
                ),
                keep_hint,
            ),
        ),
        rx.cond(
            editing & NodesState.editing_has_ssh,
            rx.el.label(
                rx.hstack(
                    rx.checkbox(name="clear_ssh", id="node-clear-ssh"),
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


def _form() -> rx.Component:
    editing = NodesState.editing_id != 0
    confirming = (
        (NodesState.pending_tls != "")
        | (NodesState.pending_ssh != "")
        | (NodesState.pending_members.length() > 0)
    )
    return rx.form(
        rx.vstack(
            _field(
                "Name",
                "name",
                _input(
                    "name",
                    default_value=NodesState.f_name,
                    placeholder="pve1",
                    required=True,
                    auto_focus=True,
                ),
            ),
            rx.hstack(
                rx.box(
                    _field(
                        "Host",
                        "host",
                        _input(
                            "host",
                            default_value=NodesState.f_host,
                            placeholder="192.168.1.100 or pve.local",
                            required=True,
                        ),
                    ),
                    flex="1",
                    min_width="0",
                ),
                rx.box(
                    _field(
                        "Port",
                        "port",
                        _input(
                            "port",
                            default_value=NodesState.f_port,
                            input_mode="numeric",
                            required=True,
                        ),
                    ),
                    width="7rem",
                ),
                width="100%",
                spacing="3",
                align="start",
            ),
            _field(
                "Token ID",
                "token_id",
                _input(
                    "token_id",
                    default_value=NodesState.f_token_id,
                    placeholder="root@pam!lxc-manager",
                    required=True,
                ),
            ),
            _field(
                "Token secret",
                "token_secret",
                _input(
                    "token_secret",
                    type="password",
                    auto_complete="off",
                    placeholder=rx.cond(
                        editing,
                        "Leave blank to keep the stored secret",
                        "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
                    ),
                    required=~editing,
                ),
                rx.cond(editing, TOKEN_KEEP_HINT, ""),
            ),
            _ssh_section(),
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
            _problems(),
            rx.hstack(
                rx.dialog.close(
                    rx.button(
                        "Cancel",
                        type="button",
                        variant="soft",
                        color_scheme="gray",
                        disabled=NodesState.saving,
                    )
                ),
                rx.button(
                    rx.cond(NodesState.saving, rx.spinner(size="2"), rx.fragment()),
                    rx.cond(
                        NodesState.saving,
                        "Testing the connection…",
                        rx.cond(
                            confirming,
                            "Trust and save",
                            rx.cond(editing, "Test and save", "Test and add"),
                        ),
                    ),
                    type="submit",
                    disabled=NodesState.saving,
                    id="node-save",
                ),
                justify="end",
                width="100%",
                spacing="3",
            ),
            spacing="4",
            width="100%",
        ),
        on_submit=NodesState.save,
        width="100%",
    )


def _dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(rx.cond(NodesState.editing_id != 0, "Edit node", "Add a Proxmox node")),
            rx.dialog.description(
                "LXC Manager signs in to the node with an API token. The connection is tested before anything is saved.",
                size="2",
                margin_bottom="1rem",
            ),
            _form(),
            max_width="36rem",
        ),
        open=NodesState.dialog_open,
        on_open_change=NodesState.set_dialog_open,
    )


def _status(row: NodeRow) -> rx.Component:
    return rx.match(
        row.status,
        (
            "online",
            rx.hstack(
                rx.icon("circle-check", size=16, color=rx.color("green", 10)),
                rx.text("online", size="2"),
                rx.text(row.latency, size="1", color=rx.color("gray", 10)),
                spacing="1",
                align="center",
            ),
        ),
        (
            "offline",
            rx.tooltip(
                rx.hstack(
                    rx.icon("circle-x", size=16, color=rx.color("red", 10)),
                    rx.text("unreachable", size="2"),
                    spacing="1",
                    align="center",
                ),
                content=row.error,
            ),
        ),
        rx.hstack(
            rx.spinner(size="1"),
            rx.text("checking", size="2", color=rx.color("gray", 10)),
            spacing="1",
            align="center",
        ),
    )


def _delete_button(row: NodeRow) -> rx.Component:
    return delete_button(
        row.name,
        "Delete node?",
        rx.text(
            "LXC Manager forgets ",
            rx.code(row.name),
            " and its token. Its containers keep running on Proxmox.",
            rx.cond(row.is_default, " Your oldest other node becomes the default.", ""),
        ),
        NodesState.delete(row.id),
    )


def _pending_member(member: MemberRow) -> rx.Component:
    return fingerprint_confirmation(
        f"New SSH host key of PVE node {member.name} ({member.ip})",
        member.key,
        f"pending-member-{member.name}",
    )


def _ssh_cell(row: NodeRow) -> rx.Component:
    """The SSH status, and the host keys pinned for the cluster's other members."""
    return rx.vstack(
        rx.text(row.ssh, size="2"),
        rx.foreach(
            row.member_keys,
            lambda m: rx.text(
                m.name,
                " ",
                rx.code(m.key, size="1", overflow_wrap="anywhere"),
                size="1",
                color=rx.color("gray", 10),
                title=f"SSH host key of PVE node {m.name} at {m.ip}",
                custom_attrs={"data-testid": "member-key"},
            ),
        ),
        spacing="1",
    )


def _node_row(row: NodeRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.hstack(
                rx.text(row.name, weight="bold"),
                rx.cond(
                    row.is_default,
                    rx.badge(
                        "default",
                        color_scheme="indigo",
                        variant="solid",
                        custom_attrs={"data-testid": "default-badge"},
                    ),
                ),
                spacing="2",
                align="center",
            )
        ),
        rx.table.cell(
            rx.vstack(
                rx.text(row.address, size="2"),
                rx.text(row.token_id, size="1", color=rx.color("gray", 10)),
                spacing="0",
            )
        ),
        rx.table.cell(
            rx.vstack(
                rx.text(row.cluster, size="2"),
                rx.flex(
                    rx.foreach(
                        row.pve_nodes, lambda n: rx.badge(n, variant="soft", color_scheme="gray")
                    ),
                    gap="1",
                    wrap="wrap",
                ),
                rx.cond(
                    row.same_cluster_as != "",
                    rx.text(
                        "same cluster as ",
                        row.same_cluster_as,
                        size="1",
                        color=rx.color("gray", 10),
                    ),
                ),
                spacing="1",
            )
        ),
        rx.table.cell(_status(row)),
        rx.table.cell(_ssh_cell(row)),
        rx.table.cell(
            rx.hstack(
                rx.cond(
                    row.is_default,
                    rx.fragment(),
                    rx.button(
                        "Make default",
                        size="1",
                        variant="soft",
                        on_click=NodesState.make_default(row.id),
                    ),
                ),
                rx.button(
                    rx.icon("pencil", size=14),
                    "Edit",
                    size="1",
                    variant="soft",
                    color_scheme="gray",
                    on_click=NodesState.open_edit(row.id),
                ),
                _delete_button(row),
                spacing="2",
                justify="end",
            )
        ),
        align="center",
        custom_attrs={"data-node": row.name},
    )


def _table() -> rx.Component:
    return rx.table.root(
        rx.table.header(
            rx.table.row(
                *[
                    rx.table.column_header_cell(h)
                    for h in ("Name", "Endpoint", "Cluster", "Status", "SSH", "")
                ]
            )
        ),
        rx.table.body(rx.foreach(NodesState.nodes, _node_row)),
        variant="surface",
        width="100%",
        id="nodes-table",
    )


def page() -> rx.Component:
    return page_shell(
        "Proxmox nodes",
        rx.vstack(
            rx.hstack(
                rx.text(
                    "Each node is a Proxmox VE endpoint reached with an API token. Your first node becomes the default.",
                    size="2",
                    color=rx.color("gray", 11),
                ),
                rx.spacer(),
                rx.button(
                    rx.icon("plus", size=16),
                    "Add node",
                    on_click=NodesState.open_add,
                    id="add-node",
                ),
                width="100%",
                align="center",
            ),
            rx.cond(
                NodesState.delete_error != "",
                rx.callout(NodesState.delete_error, icon="circle-alert", color_scheme="red"),
            ),
            rx.cond(
                NodesState.loaded,
                rx.cond(
                    NodesState.nodes.length() > 0,
                    _table(),
                    empty_state(
                        "server",
                        "No nodes configured",
                        "Add a Proxmox VE host with an API token (Datacenter → Permissions → API Tokens). "
                        "Container operations are enabled once a node is configured.",
                        rx.button(
                            rx.icon("plus", size=16),
                            "Add your first node",
                            on_click=NodesState.open_add,
                        ),
                    ),
                ),
                rx.center(rx.spinner(), width="100%", padding="2rem"),
            ),
            _dialog(),
            spacing="4",
            width="100%",
        ),
    )


ON_LOAD = NodesState.load
