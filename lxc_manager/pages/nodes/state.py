"""The nodes page's State: thin, every handler guarded, the services do the work."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import reflex as rx

from lxc_manager.nodes import service
from lxc_manager.nodes.service import CheckResult, NodeInput, NodeNotFound, NodeView
from lxc_manager.pages.components.form_data import read_form
from lxc_manager.pages.nodes.rows import (
    MemberRow,
    NodeForm,
    NodeRow,
    is_checked,
    node_rows,
    parse_port,
    probed,
)
from lxc_manager.state.assign import assign
from lxc_manager.state.guard import GuardedState, require_session, require_session_on_load

PROBE_TIMEOUT = 5.0
NOT_FOUND = "Node not found"


async def _submit(user_id: str, node_id: int, data: NodeInput) -> NodeView | CheckResult | None:
    """Test the connection, then create (`node_id` 0) or update; None: no such node."""
    try:
        if node_id:
            return await service.update_node(user_id, node_id, data)
        return await service.create_node(user_id, data)
    except NodeNotFound:
        return None


class NodesState(GuardedState, rx.State):
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

    def _show_rows(self, rows: list[NodeRow]) -> None:
        assign(self, nodes=rows, loaded=True)

    async def _refresh(self) -> None:
        self._show_rows(node_rows(await service.list_nodes(self._user_id)))

    @rx.event
    @require_session_on_load
    async def load(self) -> Any:
        await self._refresh()
        return NodesState.probe if self.nodes else None

    @rx.event(background=True)
    @require_session
    async def probe(self) -> None:
        """Reachability, latency and SSH status of every node, fanned out concurrently
        outside the state lock."""
        async with self:
            user_id = self._user_id
        probes = await service.probe_nodes(user_id, timeout=PROBE_TIMEOUT)
        async with self:
            self.nodes = [probed(row, probes.get(row.id)) for row in self.nodes]

    # ---- dialog ---------------------------------------------------------------------
    def _reset_form(self) -> None:
        self.pending_tls = ""
        self.pending_ssh = ""
        self._confirmed_tls = ""
        self._confirmed_ssh = ""
        self.pending_members = []
        self._confirmed_members = {}
        self._clear_problems()
        self.privsep_hint = False
        self.saving = False

    def _clear_problems(self) -> None:
        if self.field_errors:
            self.field_errors = {}
        if self.form_error:
            self.form_error = ""
        if self.missing_privileges:
            self.missing_privileges = []

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
            self.delete_error = NOT_FOUND
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

    def _input_from(self, form: NodeForm) -> NodeInput:
        # The f_* vars are only the dialog's initial values: changing them here would
        # re-mount the inputs and wipe what the user typed (secrets included).
        return NodeInput(
            name=form.name.strip(),
            host=form.host.strip(),
            port=parse_port(form.port, 8006),
            token_id=form.token_id.strip(),
            token_secret=form.token_secret or None,
            ssh_user=form.ssh_user.strip() or "root",
            ssh_port=parse_port(form.ssh_port, 22),
            ssh_secret=form.ssh_secret or None,
            ssh_secret_kind=self.f_ssh_kind,
            tls_fingerprint=self.pending_tls or self._confirmed_tls or None,
            ssh_host_key=self.pending_ssh or self._confirmed_ssh or None,
            clear_ssh=is_checked(form.clear_ssh),
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

    @rx.event(background=True)
    @require_session
    async def save(self, form: dict[str, Any]) -> AsyncIterator[Any]:
        """Test the connection, then save; nothing is saved when anything fails. The
        dialog turns busy at once (the first `async with self` sends it); the test talks
        to Proxmox and SSH outside the state lock. The submitted form (token secret, SSH
        secret) stays in this handler: it never enters state or an event sent back to
        the browser."""
        async with self:
            if self.saving:
                return
            self.saving = True
            self._clear_problems()
            data = self._input_from(read_form(NodeForm, form))
            user_id, node_id = self._user_id, self.editing_id
        try:
            outcome = await _submit(user_id, node_id, data)
        except BaseException:
            async with self:
                self.saving = False
            raise
        if isinstance(outcome, CheckResult):
            async with self:
                self.saving = False
                self._show_problems(outcome)
            return
        rows = node_rows(await service.list_nodes(user_id))
        async with self:
            self.saving, self.dialog_open = False, False
            if outcome is None:
                self.delete_error = NOT_FOUND
            else:
                self._reset_form()
            self._show_rows(rows)
        if outcome is not None:
            yield rx.toast.success(f"Node {outcome.name} saved", id="node-saved")
            yield NodesState.probe

    # ---- row actions ------------------------------------------------------------------
    @rx.event
    @require_session
    async def make_default(self, node_id: int) -> Any:
        try:
            await service.make_default(self._user_id, node_id)
        except NodeNotFound:
            self.delete_error = NOT_FOUND
        await self._refresh()
        return NodesState.probe

    @rx.event
    @require_session
    async def delete(self, node_id: int) -> Any:
        if self.delete_error:
            self.delete_error = ""
        try:
            await service.delete_node(self._user_id, node_id)
        except NodeNotFound:
            self.delete_error = NOT_FOUND
        await self._refresh()
        return NodesState.probe if self.nodes else None
