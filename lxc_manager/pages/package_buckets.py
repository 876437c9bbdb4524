"""`/templates/packages`: package buckets, named lists of packages templates can share.

A user sees their own buckets and shared ones (with an owner/visibility badge); they edit
and delete their own, an administrator also shared ones of others."""

from __future__ import annotations

import reflex as rx
from pydantic import BaseModel

from lxc_manager.pages.components.layout import delete_button, empty_state, page_shell
from lxc_manager.security.actor import Actor
from lxc_manager.state.legacy_session import LegacySessionState, require_session
from lxc_manager.templates import service
from lxc_manager.templates.packages import package_line, parse_package_lines
from lxc_manager.templates.service import BucketSummary
from lxc_manager.templates.spec import (
    VISIBILITY_LABELS,
    BucketSpec,
    PackageSpec,
    Visibility,
)

ROUTE = "/templates/packages"
TITLE = "Package buckets"
EXAMPLE = "apt: curl\napt: htop=3.2*\npip: httpie\nnpm: pm2@5"


class BucketRow(BaseModel):
    id: int
    name: str
    description: str
    packages: list[str]
    used_by: str
    badge: str  # mine · private | mine · shared | shared by USER
    owner: str
    can_edit: bool


def _used_by(bucket: BucketSummary) -> str:
    names = list(bucket.used_by)
    if bucket.used_by_others:
        names.append(f"{bucket.used_by_others} template(s) of other users")
    return ", ".join(names)


def _row(bucket: BucketSummary) -> BucketRow:
    return BucketRow(
        id=bucket.id,
        name=bucket.name,
        description=bucket.description,
        packages=[package_line(p) for p in bucket.packages],
        used_by=_used_by(bucket),
        badge=(
            f"mine · {bucket.visibility}"
            if bucket.mine
            else f"shared by {service.owner_name(bucket.owner)}"
        ),
        owner=bucket.owner,
        can_edit=bucket.can_edit,
    )


class BucketsState(LegacySessionState):
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
    action_error: str = ""

    def _actor(self) -> Actor:
        return Actor(self._user_id, self.is_admin)

    async def _refresh(self) -> None:
        self.rows = [_row(b) for b in await service.list_buckets(self._actor())]
        self.loaded = True

    @rx.event
    @require_session
    async def load(self) -> None:
        self.action_error = ""
        await self._refresh()

    @rx.event
    @require_session
    def open_add(self) -> None:
        self.editing_id, self.f_name, self.f_description, self.f_packages = 0, "", "", ""
        self.f_visibility, self.f_owns = "private", True
        self.errors, self.dialog_open = {}, True

    @rx.event
    @require_session
    async def open_edit(self, bucket_id: int) -> None:
        bucket = await service.get_bucket(self._actor(), bucket_id)
        if bucket is None:
            self.action_error = service.MSG_BUCKET_NOT_FOUND
            await self._refresh()
            return
        if not bucket.can_edit:
            self.action_error = service.MSG_BUCKET_NOT_YOURS.format(
                owner=service.owner_name(bucket.owner)
            )
            return
        self.editing_id, self.f_name, self.f_description = (
            bucket.id,
            bucket.name,
            bucket.description,
        )
        self.f_packages = "\n".join(package_line(p) for p in bucket.packages)
        self.f_visibility, self.f_owns = bucket.visibility, bucket.mine
        self.errors, self.dialog_open = {}, True

    @rx.event
    def set_dialog_open(self, value: bool) -> None:
        self.dialog_open = value

    @rx.event
    @require_session
    async def save(self, form: dict[str, str]):
        packages, line_errors = parse_package_lines(form.get("packages", ""))
        if line_errors:
            number, message = next(iter(line_errors.items()))
            self.errors = {"packages": f"{number.capitalize()}: {message}"}
            return None
        spec = BucketSpec(
            name=form.get("name", "").strip(),
            description=form.get("description", "").strip(),
            packages=packages,
        )
        wanted = form.get("visibility", self.f_visibility)
        visibility: Visibility = "shared" if wanted == "shared" else "private"
        if not self.editing_id or self.f_owns:
            self.f_visibility = visibility
        result = await service.save_bucket(
            self._actor(),
            self.editing_id or None,
            spec,
            visibility if self.f_owns else None,
        )
        if not result.ok:
            self.errors = _bucket_errors(result.errors, packages)
            return None
        self.dialog_open, self.errors = False, {}
        await self._refresh()
        return rx.toast.success(f"Bucket {spec.name} saved", id="bucket-saved")

    @rx.event
    @require_session
    async def delete(self, bucket_id: int):
        error = await service.delete_bucket(self._actor(), bucket_id)
        self.action_error = error or ""
        await self._refresh()
        return None if error else rx.toast.success("Bucket deleted")


def _bucket_errors(errors: dict[str, str], packages: tuple[PackageSpec, ...]) -> dict[str, str]:
    """Service errors keyed `packages.N.field` become one message naming the package."""
    out: dict[str, str] = {}
    for key, message in errors.items():
        parts = key.split(".")
        if parts[0] == "packages" and len(parts) == 3 and parts[1].isdigit():
            pkg = packages[int(parts[1])]
            out.setdefault("packages", f"{pkg.manager}: {pkg.name or '(empty)'} — {message}")
        else:
            out.setdefault(parts[0], message)
    return out


def _error(name: str) -> rx.Component:
    return rx.cond(
        BucketsState.errors.contains(name),
        rx.text(
            BucketsState.errors[name],
            size="1",
            color=rx.color("red", 11),
            role="alert",
            id=f"bucket-{name}-error",
        ),
    )


def _dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(
                rx.cond(BucketsState.editing_id != 0, "Edit bucket", "New package bucket")
            ),
            rx.form(
                rx.vstack(
                    rx.el.label(rx.text("Name", size="2", weight="medium"), html_for="bucket-name"),
                    rx.input(
                        name="name",
                        id="bucket-name",
                        default_value=BucketsState.f_name,
                        required=True,
                        auto_focus=True,
                        width="100%",
                    ),
                    _error("name"),
                    rx.el.label(
                        rx.text("Description", size="2", weight="medium"),
                        html_for="bucket-description",
                    ),
                    rx.input(
                        name="description",
                        id="bucket-description",
                        default_value=BucketsState.f_description,
                        width="100%",
                    ),
                    _error("description"),
                    rx.el.label(
                        rx.text("Packages, one per line", size="2", weight="medium"),
                        html_for="bucket-packages",
                    ),
                    rx.text_area(
                        name="packages",
                        id="bucket-packages",
                        default_value=BucketsState.f_packages,
                        placeholder=EXAMPLE,
                        rows="10",
                        width="100%",
                        spell_check=False,
                        style={"fontFamily": "var(--code-font-family)", "fontSize": "13px"},
                    ),
                    rx.text(
                        "apt: name[=version] · pip: name[==version] · npm: name[@version] · custom: name -> install command",
                        size="1",
                        color=rx.color("gray", 10),
                    ),
                    _error("packages"),
                    rx.el.label(
                        rx.text("Who sees it", size="2", weight="medium"),
                        html_for="bucket-visibility",
                    ),
                    rx.el.select(
                        *[
                            rx.el.option(label, value=key)
                            for key, label in VISIBILITY_LABELS.items()
                        ],
                        name="visibility",
                        id="bucket-visibility",
                        default_value=BucketsState.f_visibility,
                        disabled=~BucketsState.f_owns,
                        style={
                            "padding": "0.4rem",
                            "borderRadius": "var(--radius-2)",
                            "border": f"1px solid {rx.color('gray', 7)}",
                            "background": "transparent",
                            "color": "inherit",
                        },
                    ),
                    _error("visibility"),
                    _error("bucket"),
                    rx.hstack(
                        rx.dialog.close(
                            rx.button("Cancel", type="button", variant="soft", color_scheme="gray")
                        ),
                        rx.button("Save bucket", type="submit", id="bucket-save"),
                        justify="end",
                        width="100%",
                        spacing="3",
                    ),
                    spacing="2",
                    width="100%",
                ),
                on_submit=BucketsState.save,
                reset_on_submit=False,
            ),
            max_width="40rem",
        ),
        open=BucketsState.dialog_open,
        on_open_change=BucketsState.set_dialog_open,
    )


def _delete_button(row: BucketRow) -> rx.Component:
    return delete_button(
        row.name,
        "Delete bucket?",
        rx.text(
            "The bucket ", rx.code(row.name), " is deleted. Templates keep their own packages."
        ),
        BucketsState.delete(row.id),
    )


def _bucket_card(row: BucketRow) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.text(row.name, weight="bold", size="3"),
                rx.badge(row.packages.length(), " packages", variant="soft"),
                rx.badge(
                    row.badge,
                    color_scheme=rx.cond(row.can_edit, "green", "gray"),
                    variant="soft",
                    title=row.owner,
                    custom_attrs={"data-owner-badge": row.badge},
                ),
                rx.spacer(),
                rx.cond(
                    row.can_edit,
                    rx.hstack(
                        rx.button(
                            rx.icon("pencil", size=14),
                            "Edit",
                            size="1",
                            variant="soft",
                            on_click=BucketsState.open_edit(row.id),
                        ),
                        _delete_button(row),
                        spacing="2",
                    ),
                ),
                width="100%",
                align="center",
                spacing="2",
            ),
            rx.cond(
                row.description != "",
                rx.text(row.description, size="2", color=rx.color("gray", 11)),
            ),
            rx.flex(
                rx.foreach(row.packages, lambda p: rx.code(p, size="1", variant="soft")),
                gap="1",
                wrap="wrap",
            ),
            rx.cond(
                row.used_by != "",
                rx.text("Used by ", row.used_by, size="1", color=rx.color("gray", 10)),
            ),
            spacing="2",
            width="100%",
        ),
        width="100%",
        custom_attrs={"data-bucket": row.name},
    )


def page() -> rx.Component:
    return page_shell(
        "Package buckets",
        rx.vstack(
            rx.hstack(
                rx.link(
                    rx.hstack(
                        rx.icon("arrow-left", size=14),
                        rx.text("Templates", size="2"),
                        spacing="1",
                        align="center",
                    ),
                    href="/templates",
                ),
                rx.text(
                    "A bucket is a named list of packages that several templates can include.",
                    size="2",
                    color=rx.color("gray", 11),
                ),
                rx.spacer(),
                rx.button(
                    rx.icon("plus", size=16),
                    "New bucket",
                    on_click=BucketsState.open_add,
                    id="new-bucket",
                ),
                width="100%",
                align="center",
                spacing="3",
            ),
            rx.cond(
                BucketsState.action_error != "",
                rx.callout(
                    BucketsState.action_error, icon="circle-alert", color_scheme="red", role="alert"
                ),
            ),
            rx.cond(
                BucketsState.loaded,
                rx.cond(
                    BucketsState.rows.length() > 0,
                    rx.vstack(
                        rx.foreach(BucketsState.rows, _bucket_card), spacing="3", width="100%"
                    ),
                    empty_state(
                        "package",
                        "No package buckets",
                        "Group packages you install again and again (say curl, htop and jq) into a bucket, then tick it in any template.",
                        rx.button(
                            rx.icon("plus", size=16),
                            "Create a bucket",
                            on_click=BucketsState.open_add,
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


ON_LOAD = BucketsState.load
