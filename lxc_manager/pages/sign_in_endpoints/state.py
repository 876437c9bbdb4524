"""The sign-in endpoints page's State: everyone signed in sees the list; only
administrators change it (`require_admin`). Certificates are read outside the state lock."""

from __future__ import annotations

import asyncio
from typing import Any

import reflex as rx

from lxc_manager.pages.components.form_data import read_form
from lxc_manager.pages.sign_in_endpoints.rows import (
    EndpointForm,
    EndpointRow,
    endpoint_of,
    endpoint_row,
)
from lxc_manager.proxmox import ProxmoxError, fetch_fingerprint
from lxc_manager.redis_client import async_client
from lxc_manager.security import audit
from lxc_manager.settings import get_settings
from lxc_manager.signin import endpoints
from lxc_manager.signin.service import Failed, parse_endpoint, unreachable_message
from lxc_manager.state.assign import assign
from lxc_manager.state.guard import (
    GuardedState,
    require_admin,
    require_session_on_load,
)

NOT_FOUND = "Endpoint not found"


async def _new_endpoint_target(form: EndpointForm) -> tuple[str, int] | str:
    """The (host, port) to read a certificate from, or why not."""
    parsed = parse_endpoint(form.host, form.port)
    if isinstance(parsed, Failed):
        return parsed.message
    host, port = parsed
    allowed = get_settings().login_allowed_hosts
    if allowed and (host, port) not in allowed:
        return "LXCM_LOGIN_ALLOWED_HOSTS does not include this host"
    known = await asyncio.to_thread(endpoints.find, host, port)
    if known is not None:
        return (
            "This endpoint is already enabled"
            if known.enabled
            else "This endpoint is disabled: use Enable in its row"
        )
    return host, port


class SignInEndpointsState(GuardedState, rx.State):
    rows: list[EndpointRow] = []
    loaded: bool = False
    new_host: str = ""
    new_port: str = "8006"
    new_fingerprint: str = ""
    old_fingerprint: str = ""  # when re-trusting a known endpoint: what is pinned now
    form_error: str = ""
    busy: bool = False
    message: str = ""

    async def _reload(self) -> None:
        current = endpoint_of(self._user_id)
        rows = [endpoint_row(e, current) for e in await asyncio.to_thread(endpoints.list_all)]
        assign(self, rows=rows, loaded=True)

    @rx.event
    @require_session_on_load
    async def load(self) -> None:
        await self._reload()

    async def _fetch_fingerprint(self, host: str, port: int) -> None:
        """Background only: read the certificate outside the state lock."""
        async with self:
            self.new_host, self.new_port, self.busy = host, str(port), True
        try:
            fingerprint = await fetch_fingerprint(
                host, port, timeout=get_settings().proxmox_connect_timeout
            )
        except ProxmoxError:
            fingerprint = ""
        async with self:
            self.busy = False
            if fingerprint:
                self.new_fingerprint = fingerprint
            else:
                self.form_error = unreachable_message(host, port)

    @rx.event(background=True)
    @require_admin
    async def check_new(self, form: dict[str, Any]) -> None:
        """Step 1 of enabling a new endpoint: read its certificate fingerprint for the
        administrator to compare."""
        async with self:
            self._clear()
        found = await _new_endpoint_target(read_form(EndpointForm, form))
        if isinstance(found, str):
            async with self:
                self.form_error = found
            return
        await self._fetch_fingerprint(*found)

    @rx.event(background=True)
    @require_admin
    async def check_retrust(self, endpoint_id: str) -> None:
        """Re-trust a known endpoint (e.g. after a certificate renewal): read what it
        presents now and show it next to the pinned fingerprint."""
        async with self:
            self._clear()
        endpoint = await asyncio.to_thread(endpoints.get, str(endpoint_id))
        async with self:
            if endpoint is None:
                self.form_error = NOT_FOUND
                return
            self.old_fingerprint = endpoint.tls_fingerprint
        await self._fetch_fingerprint(endpoint.host, endpoint.port)

    @rx.event
    @require_admin
    async def confirm_new(self) -> None:
        """Step 2: the administrator compared the fingerprint; pin it (and enable)."""
        if not self.new_fingerprint or not self.new_host:
            return
        retrust = bool(self.old_fingerprint)
        endpoint = await asyncio.to_thread(
            endpoints.trust,
            self.new_host,
            int(self.new_port),
            self.new_fingerprint,
            self._user_id,
        )
        action = "sign_in_endpoint.trust" if retrust else "sign_in_endpoint.add"
        await asyncio.to_thread(
            audit.record,
            action,
            user_id=self._user_id,
            target=f"endpoint:{endpoint.label}",
            detail=f"fingerprint {endpoint.tls_fingerprint}",
        )
        self._clear()
        self.message = (
            f"{endpoint.label} is trusted with the new certificate"
            if retrust
            else f"{endpoint.label} is enabled for sign-in"
        )
        await self._reload()

    def _clear(self) -> None:
        self.new_fingerprint, self.old_fingerprint, self.new_host = "", "", ""
        self.form_error, self.message = "", ""

    @rx.event
    def cancel_new(self) -> None:
        self._clear()

    @rx.event
    @require_admin
    async def set_enabled(self, endpoint_id: str, enabled: bool) -> None:
        """Disable (its users can no longer sign in; their sessions end at their next
        event) or enable again (its users find their nodes, templates and jobs)."""
        self.form_error, self.message = "", ""
        endpoint_id = str(endpoint_id)
        if not enabled and endpoint_id == endpoint_of(self._user_id):
            self.form_error = "You are signed in through this endpoint: it cannot be disabled"
            return
        endpoint = await asyncio.to_thread(
            endpoints.set_enabled, endpoint_id, bool(enabled), self._user_id
        )
        if endpoint is None:
            self.form_error = NOT_FOUND
            await self._reload()
            return
        await endpoints.publish_disabled(async_client())
        await asyncio.to_thread(
            audit.record,
            "sign_in_endpoint.enable" if enabled else "sign_in_endpoint.disable",
            user_id=self._user_id,
            target=f"endpoint:{endpoint.label}",
        )
        self.message = (
            f"{endpoint.label} is enabled for sign-in again"
            if enabled
            else f"{endpoint.label} is disabled: its users can no longer sign in"
        )
        await self._reload()
