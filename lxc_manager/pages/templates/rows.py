"""The templates list's rows: what the table shows of a `TemplateSummary` (no Reflex)."""

from __future__ import annotations

from pydantic import BaseModel

from lxc_manager.pages.components.format import minute, owner_label
from lxc_manager.templates import service
from lxc_manager.templates.service import TemplateSummary

ALL_TAGS = "__all__"  # the tag filter's "All tags"


class Choice(BaseModel):
    value: str
    label: str


def tag_choices(tags: list[str]) -> list[Choice]:
    """The tag filter's options: every tag, after "All tags"."""
    return [Choice(value=ALL_TAGS, label="All tags"), *(Choice(value=t, label=t) for t in tags)]


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


def template_row(summary: TemplateSummary) -> TemplateRow:
    catalog = summary.source == "filesystem"
    return TemplateRow(
        id=summary.id,
        name=summary.name,
        description=summary.description,
        tags=list(summary.tags),
        os_template=summary.os_template or "any",
        catalog=catalog,
        counts=f"{summary.scripts} scripts · {summary.files} files · {summary.packages} packages",
        updated=minute(summary.updated_at),
        badge=owner_label(
            catalog, summary.mine, summary.visibility, service.owner_name(summary.owner)
        ),
        owner=summary.owner,
        can_edit=summary.can_edit,
    )
