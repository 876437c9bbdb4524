"""`/templates`: the templates a user may see — their own, shared ones and the catalog —
with owner and visibility badges; search, tag filter, duplicate, delete (what the user may
change), and "Sync catalog" for administrators."""

from __future__ import annotations

import reflex as rx
from pydantic import BaseModel

from lxc_manager.aio import all_of
from lxc_manager.pages.components.layout import delete_button, empty_state, page_shell
from lxc_manager.security.actor import Actor
from lxc_manager.state.legacy_session import LegacySessionState, require_admin, require_session
from lxc_manager.templates import service
from lxc_manager.templates.service import TemplateSummary

ROUTE = "/templates"
TITLE = "Templates"
ALL_TAGS = "__all__"


class TemplateRow(BaseModel):
    id: int
    name: str
    description: str
    tags: list[str]
    os_template: str
    catalog: bool
    counts: str
    updated: str
    badge: str  # catalog | mine · private | mine · shared | shared by USER
    owner: str  # the owner's full user id (a tooltip: two endpoints may have a root@pam)
    can_edit: bool


def owner_badge(source: str, owner: str, visibility: str, mine: bool) -> str:
    if source == "filesystem":
        return "catalog"
    if mine:
        return f"mine · {visibility}"
    return f"shared by {service.owner_name(owner)}"


def _row(summary: TemplateSummary) -> TemplateRow:
    return TemplateRow(
        id=summary.id,
        name=summary.name,
        description=summary.description,
        tags=list(summary.tags),
        os_template=summary.os_template or "any",
        catalog=summary.source == "filesystem",
        counts=f"{summary.scripts} scripts · {summary.files} files · {summary.packages} packages",
        updated=summary.updated_at.strftime("%Y-%m-%d %H:%M"),
        badge=owner_badge(summary.source, summary.owner, summary.visibility, summary.mine),
        owner=summary.owner,
        can_edit=summary.can_edit,
    )


class TemplatesState(LegacySessionState):
    rows: list[TemplateRow] = []
    tags: list[str] = []
    search: str = ""
    tag: str = ALL_TAGS
    loaded: bool = False
    syncing: bool = False
    sync_summary: str = ""
    sync_errors: list[str] = []
    action_error: str = ""

    def _actor(self) -> Actor:
        return Actor(self._user_id, self.is_admin)

    async def _refresh(self) -> None:
        tag = "" if self.tag == ALL_TAGS else self.tag
        actor = self._actor()
        listed, self.tags = await all_of(
            service.list_templates(actor, self.search, tag), service.all_tags(actor)
        )
        self.rows = [_row(s) for s in listed]
        self.loaded = True

    @rx.event
    @require_session
    async def load(self) -> None:
        self.action_error = ""
        await self._refresh()

    @rx.event
    @require_session
    async def set_search(self, value: str) -> None:
        self.search = value[:100]
        await self._refresh()

    @rx.event
    @require_session
    async def set_tag(self, value: str) -> None:
        self.tag = value if value in self.tags else ALL_TAGS
        await self._refresh()

    @rx.event
    @require_admin
    async def sync(self):
        if self.syncing:
            return
        self.syncing, self.sync_summary, self.sync_errors = True, "", []
        yield
        try:
            report = await service.sync_catalog(self._actor())
        finally:
            self.syncing = False
        self.sync_summary = report.summary()
        self.sync_errors = list(report.errors)
        await self._refresh()
        if report.errors:
            yield rx.toast.warning(report.summary(), id="catalog-synced")
        else:
            yield rx.toast.success(report.summary(), id="catalog-synced")

    @rx.event
    @require_session
    async def duplicate(self, template_id: int):
        result = await service.duplicate_template(self._actor(), template_id)
        if not result.ok:
            self.action_error = next(
                iter(result.errors.values()), "The template could not be copied"
            )
            await self._refresh()
            return None
        return rx.redirect(f"/templates/{result.id}")

    @rx.event
    @require_session
    async def delete(self, template_id: int):
        name = next((r.name for r in self.rows if r.id == template_id), "")
        error = await service.delete_template(self._actor(), template_id)
        self.action_error = error or ""
        await self._refresh()
        if error is None:
            return rx.toast.success(f"Template {name} deleted")
        return None


def _tag_badges(tags: rx.Var) -> rx.Component:
    return rx.flex(
        rx.foreach(tags, lambda t: rx.badge(t, variant="soft", color_scheme="gray")),
        gap="1",
        wrap="wrap",
    )


def _delete_button(row: TemplateRow) -> rx.Component:
    return delete_button(
        row.name,
        "Delete template?",
        rx.text(
            "The template ",
            rx.code(row.name),
            " with its scripts, files and packages is deleted. Containers created "
            "from it are not touched.",
        ),
        TemplatesState.delete(row.id),
    )


def _template_row(row: TemplateRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.vstack(
                rx.hstack(
                    rx.link(row.name, href=f"/templates/{row.id}", weight="bold"),
                    rx.badge(
                        row.badge,
                        color_scheme=rx.cond(
                            row.catalog, "indigo", rx.cond(row.can_edit, "green", "gray")
                        ),
                        variant="soft",
                        title=row.owner,
                        custom_attrs={"data-owner-badge": row.badge},
                    ),
                    spacing="2",
                    align="center",
                ),
                rx.text(
                    row.description,
                    size="1",
                    color=rx.color("gray", 10),
                    max_width="36rem",
                    style={  # two lines at most, wrapped at spaces (a nowrap line widens the table)
                        "overflow": "hidden",
                        "display": "-webkit-box",
                        "WebkitLineClamp": "2",
                        "WebkitBoxOrient": "vertical",
                    },
                ),
                spacing="1",
            )
        ),
        rx.table.cell(rx.code(row.os_template, variant="ghost"), white_space="nowrap"),
        rx.table.cell(_tag_badges(row.tags)),
        rx.table.cell(rx.text(row.counts, size="1", color=rx.color("gray", 11)), min_width="9rem"),
        rx.table.cell(
            rx.hstack(
                rx.button(
                    rx.icon("copy", size=14),
                    rx.cond(row.can_edit, "Duplicate", "Duplicate to edit"),
                    size="1",
                    variant="soft",
                    on_click=TemplatesState.duplicate(row.id),
                ),
                rx.cond(row.can_edit, _delete_button(row), rx.fragment()),
                spacing="2",
                justify="end",
            )
        ),
        align="center",
        custom_attrs={"data-template": row.name},
    )


def _toolbar() -> rx.Component:
    return rx.hstack(
        rx.input(
            rx.input.slot(rx.icon("search", size=14)),
            placeholder="Search templates",
            value=TemplatesState.search,
            on_change=TemplatesState.set_search.debounce(250),
            aria_label="Search templates",
            width="18rem",
            id="template-search",
        ),
        rx.select.root(
            rx.select.trigger(aria_label="Filter by tag", id="template-tag-filter"),
            rx.select.content(
                rx.select.item("All tags", value=ALL_TAGS),
                rx.foreach(TemplatesState.tags, lambda t: rx.select.item(t, value=t)),
            ),
            value=TemplatesState.tag,
            on_change=TemplatesState.set_tag,
        ),
        rx.spacer(),
        rx.link(
            rx.button(rx.icon("package", size=16), "Package buckets", variant="soft"),
            href="/templates/packages",
        ),
        rx.cond(
            TemplatesState.is_admin,
            rx.button(
                rx.cond(
                    TemplatesState.syncing, rx.spinner(size="2"), rx.icon("refresh-cw", size=16)
                ),
                "Sync catalog",
                variant="soft",
                on_click=TemplatesState.sync,
                disabled=TemplatesState.syncing,
                id="sync-catalog",
            ),
        ),
        rx.link(
            rx.button(rx.icon("plus", size=16), "New template", id="new-template"),
            href="/templates/new",
        ),
        width="100%",
        align="center",
        spacing="3",
        wrap="wrap",
    )


def _sync_report() -> rx.Component:
    return rx.cond(
        TemplatesState.sync_errors.length() > 0,
        rx.callout.root(
            rx.callout.icon(rx.icon("triangle-alert")),
            rx.vstack(
                rx.text(
                    TemplatesState.sync_summary,
                    ". These templates were not loaded:",
                    weight="bold",
                    size="2",
                ),
                rx.el.ul(
                    rx.foreach(
                        TemplatesState.sync_errors,
                        lambda e: rx.el.li(rx.code(e, variant="ghost", size="1")),
                    ),
                    style={"paddingLeft": "1rem", "margin": "0"},
                ),
                spacing="2",
            ),
            color_scheme="amber",
            width="100%",
            id="sync-errors",
        ),
    )


def _table() -> rx.Component:
    return rx.table.root(
        rx.table.header(
            rx.table.row(
                *[
                    rx.table.column_header_cell(h)
                    for h in ("Template", "OS template", "Tags", "Contents", "")
                ]
            )
        ),
        rx.table.body(rx.foreach(TemplatesState.rows, _template_row)),
        variant="surface",
        width="100%",
        id="templates-table",
    )


def page() -> rx.Component:
    filtering = (TemplatesState.search != "") | (TemplatesState.tag != ALL_TAGS)
    return page_shell(
        "Templates",
        rx.vstack(
            _toolbar(),
            _sync_report(),
            rx.cond(
                TemplatesState.action_error != "",
                rx.callout(
                    TemplatesState.action_error,
                    icon="circle-alert",
                    color_scheme="red",
                    role="alert",
                ),
            ),
            rx.cond(
                TemplatesState.loaded,
                rx.cond(
                    TemplatesState.rows.length() > 0,
                    _table(),
                    rx.cond(
                        filtering,
                        empty_state(
                            "search-x",
                            "No template matches",
                            "Nothing matches this search and tag. Clear the filters to see every template.",
                        ),
                        empty_state(
                            "layout-template",
                            "No templates yet",
                            "Templates describe a container: its OS image, resources, packages, "
                            "files and setup scripts. An administrator syncs the catalog of "
                            "templates shipped with LXC Manager; you can create your own.",
                            rx.cond(
                                TemplatesState.is_admin,
                                rx.button(
                                    rx.icon("refresh-cw", size=16),
                                    "Sync catalog",
                                    on_click=TemplatesState.sync,
                                ),
                            ),
                        ),
                    ),
                ),
                rx.center(rx.spinner(), width="100%", padding="2rem"),
            ),
            spacing="4",
            width="100%",
        ),
    )


ON_LOAD = TemplatesState.load
