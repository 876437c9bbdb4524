"""The rows the template editor holds in its draft (Reflex-free)."""

from __future__ import annotations

from pydantic import BaseModel

from lxc_manager.pages.components.rows import row_of
from lxc_manager.templates.editing import count_lines
from lxc_manager.templates.spec import FileSpec, ScriptSpec


class ScriptRow(BaseModel):
    name: str
    content: str
    enabled: bool = True
    lines: int = 0


class FileRow(BaseModel):
    name: str
    target_path: str
    content: str
    policy: str = "replace"
    mode: str = "0644"


def script_row(spec: ScriptSpec) -> ScriptRow:
    return ScriptRow(
        name=spec.name, content=spec.content, enabled=spec.enabled, lines=count_lines(spec.content)
    )


def file_row(spec: FileSpec) -> FileRow:
    return row_of(FileRow, spec)
