"""The package buckets page's State: thin, over `lxc_manager.templates.service`; the
dialog's text is read by `templates.bucket_text` (one package grammar)."""

from __future__ import annotations

import reflex as rx
from reflex.event import EventSpec

from lxc_manager.state.assign import assign
from lxc_manager.state.guard import GuardedState, require_session
from lxc_manager.state.list_page import ListPageMixin
from lxc_manager.templates import service
from lxc_manager.templates.bucket_text import bucket_text, dialog_errors, read_bucket
from lxc_manager.templates.spec import Visibility

from .rows import BucketRow, bucket_row


class BucketsState(GuardedState, ListPageMixin, rx.State):
    rows: list[BucketRow] = []
    loaded: bool = False
    dialog_open: bool = False
    editing_id: int = 0
    f_name: str = ""
    f_description: str = ""
    f_packages: str = ""
    f_visibility: str = "private"
    f_owns: bool = True  # only the owner changes the visibility
    errors: dict[str, str] = {}

    async def _refresh(self) -> None:
        rows = [bucket_row(b) for b in await service.list_buckets(self._actor())]
        assign(self, rows=rows, loaded=True)

    def _open(
        self,
        bucket_id: int,
        name: str,
        description: str,
        packages: str,
        visibility: str,
        owns: bool,
    ) -> None:
        self.editing_id, self.f_name, self.f_description = bucket_id, name, description
        self.f_packages, self.f_visibility, self.f_owns = packages, visibility, owns
        self.errors, self.dialog_open = {}, True

    @rx.event
    @require_session
    def open_add(self) -> None:
        self._open(0, "", "", "", "private", True)

    @rx.event
    @require_session
    async def open_edit(self, bucket_id: int) -> None:
        bucket = await service.get_bucket(self._actor(), bucket_id)
        if bucket is None:
            self._set_action_error(service.MSG_BUCKET_NOT_FOUND)
            await self._refresh()
            return
        if not bucket.can_edit:
            owner = service.owner_name(bucket.owner)
            self._set_action_error(service.MSG_BUCKET_NOT_YOURS.format(owner=owner))
            return
        text = bucket_text(bucket.packages)
        self._open(bucket.id, bucket.name, bucket.description, text, bucket.visibility, bucket.mine)

    @rx.event
    def set_dialog_open(self, value: bool) -> None:
        self.dialog_open = value

    @rx.event
    @require_session
    async def save(self, form: dict[str, str]) -> EventSpec | None:
        spec, errors = read_bucket(
            form.get("name", ""), form.get("description", ""), form.get("packages", "")
        )
        if errors:
            self.errors = errors
            return None
        wanted = form.get("visibility", self.f_visibility)
        visibility: Visibility = "shared" if wanted == "shared" else "private"
        if not self.editing_id or self.f_owns:
            self.f_visibility = visibility
        result = await service.save_bucket(
            self._actor(), self.editing_id or None, spec, visibility if self.f_owns else None
        )
        if not result.ok:
            self.errors = dialog_errors(result.errors, spec.packages)
            return None
        self.dialog_open, self.errors = False, {}
        await self._refresh()
        saved: EventSpec = rx.toast.success(f"Bucket {spec.name} saved", id="bucket-saved")
        return saved

    @rx.event
    @require_session
    async def delete(self, bucket_id: int) -> EventSpec | None:
        error = await service.delete_bucket(self._actor(), bucket_id)
        self._set_action_error(error or "")
        await self._refresh()
        return None if error else rx.toast.success("Bucket deleted")
