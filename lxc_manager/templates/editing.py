"""The template editor's rules, Reflex-free: a template from the editor's fields as typed,
the problems of one script or file being edited, and which tab shows an error.

The editor keeps the whole template as a draft of plain strings and rows until "Save";
these functions turn that draft into a `TemplateSpec`, which `validate_template` and the
service judge. A number field that is not a whole number becomes -1, which the validation
refuses with its own message.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final, TypeGuard

from .spec import (
    FILE_POLICIES,
    Features,
    FilePolicy,
    FileSpec,
    PackageSpec,
    Resources,
    ScriptSpec,
    TemplateSpec,
    normalize_tags,
    validate_template,
)

# The editor's text fields and the most characters each one takes.
TEXT_LIMITS: Final[dict[str, int]] = {
    "name": 64,
    "description": 2000,
    "tags": 600,
    "os_template": 128,
    "template_version": 64,
    "cores": 6,
    "memory_mb": 9,
    "swap_mb": 9,
    "disk_gb": 7,
    "storage": 64,
    "bridge": 16,
}
FEATURE_FLAGS: Final[tuple[str, ...]] = ("unprivileged", "nesting", "keyctl", "fuse")
# Where an error of each part of a template is shown.
TABS: Final[tuple[str, ...]] = ("configuration", "scripts", "files", "packages")


def whole_number(text: str) -> int:
    """A typed whole number, or -1 (refused by the validation) when it is not one."""
    text = text.strip()
    return int(text) if text.isdigit() else -1


def count_lines(text: str) -> int:
    return text.count("\n") + (1 if text and not text.endswith("\n") else 0)


def is_file_policy(value: str) -> TypeGuard[FilePolicy]:
    return value in FILE_POLICIES


def file_spec(name: str, target_path: str, content: str, policy: str, mode: str) -> FileSpec:
    """A file as the editor holds it. Raises ValueError for a policy that is none of
    `FILE_POLICIES` (the editor's select offers only those)."""
    if not is_file_policy(policy):
        raise ValueError(f"no file policy {policy!r}")
    return FileSpec(name, target_path, content, policy, mode)


def spec_from_fields(
    fields: Mapping[str, str],
    features: Features,
    scripts: Iterable[ScriptSpec] = (),
    files: Iterable[FileSpec] = (),
    packages: Iterable[PackageSpec] = (),
    buckets: Iterable[str] = (),
) -> TemplateSpec:
    """The template the editor's text fields (`TEXT_LIMITS`' names) and rows describe."""
    text = {name: fields.get(name, "").strip() for name in TEXT_LIMITS}
    return TemplateSpec(
        name=text["name"],
        description=text["description"],
        tags=normalize_tags(text["tags"]),
        os_template=text["os_template"],
        version=text["template_version"],
        resources=Resources(
            whole_number(text["cores"]),
            whole_number(text["memory_mb"]),
            whole_number(text["swap_mb"]),
            whole_number(text["disk_gb"]),
        ),
        storage=text["storage"],
        bridge=text["bridge"],
        features=features,
        scripts=tuple(scripts),
        files=tuple(files),
        packages=tuple(packages),
        buckets=tuple(buckets),
    )


def fields_of(spec: TemplateSpec) -> dict[str, str]:
    """The editor's text fields for `spec` (the inverse of `spec_from_fields`)."""
    res = spec.resources
    return {
        "name": spec.name,
        "description": spec.description,
        "tags": ", ".join(spec.tags),
        "os_template": spec.os_template,
        "template_version": spec.version,
        "cores": str(res.cores),
        "memory_mb": str(res.memory_mb),
        "swap_mb": str(res.swap_mb),
        "disk_gb": str(res.disk_gb),
        "storage": spec.storage,
        "bridge": spec.bridge,
    }


def item_problems(spec: TemplateSpec, kind: str, position: int) -> dict[str, str]:
    """The rules broken by the item at 1-based `position` of `kind` ("scripts" or
    "files"), keyed by its field, and the list's own error (e.g. too many)."""
    errors = validate_template(spec)
    prefix = f"{kind}.{position - 1}."
    found = {k.removeprefix(prefix): v for k, v in errors.items() if k.startswith(prefix)}
    if kind in errors:
        found[kind] = errors[kind]
    return found


def tab_of(field: str) -> str:
    """The editor tab that shows the error of `field` (e.g. "scripts.2.name")."""
    head = field.split(".", 1)[0]
    if head in ("scripts", "files", "packages"):
        return head
    return "packages" if head == "buckets" else "configuration"
