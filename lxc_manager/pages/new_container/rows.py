"""The rows the wizard shows (Reflex-free): choices offered, the review's contents."""

from __future__ import annotations

from pydantic import BaseModel

from lxc_manager.nodes.service import NodeView
from lxc_manager.pages.components.rows import row_of
from lxc_manager.templates.service import TemplateSummary
from lxc_manager.templates.spec import FileSpec, ScriptSpec


class TemplateChoice(BaseModel):
    id: int
    name: str
    description: str
    os_template: str
    tags: list[str]
    counts: str


class NodeChoice(BaseModel):
    id: int
    name: str
    is_default: bool
    has_ssh: bool


class Option(BaseModel):
    value: str
    label: str


class ScriptRow(BaseModel):
    """A template script as the wizard lists it: its name and switch, not its content
    (that is read on the server at the review step)."""

    name: str
    enabled: bool = True


class ReviewScript(BaseModel):
    name: str
    content: str
    enabled: bool


class ReviewFile(BaseModel):
    name: str
    target_path: str
    policy: str
    mode: str
    content: str


class ParamRow(BaseModel):
    key: str
    value: str


def template_choice(t: TemplateSummary) -> TemplateChoice:
    counts = f"{t.scripts} scripts · {t.files} files · {t.packages} packages"
    return row_of(TemplateChoice, t, tags=list(t.tags), counts=counts)


def node_choice(v: NodeView) -> NodeChoice:
    return NodeChoice(id=v.id, name=v.name, is_default=v.is_default, has_ssh=v.has_ssh)


def review_script(s: ScriptSpec) -> ReviewScript:
    return ReviewScript(name=s.name, content=s.content, enabled=s.enabled)


def review_file(f: FileSpec) -> ReviewFile:
    return row_of(ReviewFile, f)
