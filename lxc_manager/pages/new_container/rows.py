"""The rows the wizard shows (Reflex-free): choices offered, the review's contents."""

from __future__ import annotations

from pydantic import BaseModel


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
