"""The templates list's State: thin, over `lxc_manager.templates.service`."""

from __future__ import annotations

from collections.abc import AsyncIterator

import reflex as rx
from reflex.event import EventSpec

from lxc_manager import routes
from lxc_manager.aio import all_of
from lxc_manager.state.assign import assign
from lxc_manager.state.guard import (
    GuardedState,
    require_admin,
    require_session,
)
from lxc_manager.state.list_page import ListPageMixin
from lxc_manager.templates import service

from .rows import ALL_TAGS, Choice, TemplateRow, tag_choices, template_row

SEARCH_MAX = 100


class TemplatesState(GuardedState, ListPageMixin, rx.State):
    rows: list[TemplateRow] = []
    tags: list[str] = []
    search: str = ""
    tag: str = ALL_TAGS
    loaded: bool = False
    syncing: bool = False
    sync_summary: str = ""
    sync_errors: list[str] = []

    @rx.var
    def tag_choices(self) -> list[Choice]:
        return tag_choices(self.tags)

    @rx.var
    def filtering(self) -> bool:
        return self.search != "" or self.tag != ALL_TAGS

    async def _refresh(self) -> None:
        actor = self._actor()
        listed, tags = await all_of(
            service.list_templates(actor, self.search, "" if self.tag == ALL_TAGS else self.tag),
            service.all_tags(actor),
        )
        rows = [template_row(s) for s in listed]
        assign(self, rows=rows, tags=tags, loaded=True)

    @rx.event
    @require_session
    async def set_search(self, value: str) -> None:
        self.search = value[:SEARCH_MAX]
        await self._refresh()

    @rx.event
    @require_session
    async def set_tag(self, value: str) -> None:
        self.tag = value if value in self.tags else ALL_TAGS
        await self._refresh()

    @rx.event
    @require_admin
    async def sync(self) -> AsyncIterator[EventSpec | None]:
        if self.syncing:
            return
        self.syncing, self.sync_summary, self.sync_errors = True, "", []
        yield None
        try:
            report = await service.sync_catalog(self._actor())
        finally:
            self.syncing = False
        self.sync_summary = report.summary()
        self.sync_errors = list(report.errors)
        await self._refresh()
        toast = rx.toast.warning if report.errors else rx.toast.success
        yield toast(report.summary(), id="catalog-synced")

    @rx.event
    @require_session
    async def duplicate(self, template_id: int) -> EventSpec | None:
        result = await service.duplicate_template(self._actor(), template_id)
        if not result.ok:
            self._set_action_error(
                next(iter(result.errors.values()), "The template could not be copied")
            )
            await self._refresh()
            return None
        return rx.redirect(routes.template(result.id))

    @rx.event
    @require_session
    async def delete(self, template_id: int) -> EventSpec | None:
        name = next((r.name for r in self.rows if r.id == template_id), "")
        error = await service.delete_template(self._actor(), template_id)
        self._set_action_error(error or "")
        await self._refresh()
        return rx.toast.success(f"Template {name} deleted") if error is None else None
