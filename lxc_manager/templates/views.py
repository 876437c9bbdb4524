"""What the template service hands out: owners, visibilities, messages and result types.

`TemplateSummary`, `StoredTemplate`, `BucketSummary`, `SaveResult`, `SyncReport`, the
user-facing messages (`MSG_*`) and `owner_name`; `service` re-exports all of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .spec import PackageSpec, TemplateSpec, Visibility

CATALOG_OWNER = "catalog"
PRIVATE: Visibility = "private"
SHARED: Visibility = "shared"

MSG_NOT_FOUND = "This template no longer exists"
MSG_BUCKET_NOT_FOUND = "This package bucket no longer exists"
MSG_READ_ONLY = "Templates from the catalog are read-only: duplicate it to edit a copy"
MSG_CHANGED = (
    "Someone else saved this template since you opened it. Reload it to see their changes."
)
MSG_NOT_YOURS = (
    "This template is shared by {owner}: only its owner or an administrator can change it. "
    "Duplicate it to edit a copy of your own."
)
MSG_BUCKET_NOT_YOURS = (
    "This package bucket is shared by {owner}: only its owner or an administrator can change it"
)
MSG_VISIBILITY_OWNER = "Only the owner ({owner}) can change who sees it"
MSG_BAD_VISIBILITY = "Choose private or shared"
MSG_ADMIN_ONLY = "Only an administrator of LXC Manager can sync the catalog"
MSG_TEMPLATE_LIMIT = (
    "You own {count} templates, the most allowed (LXCM_MAX_TEMPLATES_PER_USER): "
    "delete one before adding another"
)
MSG_BUCKET_LIMIT = (
    "You own {count} package buckets, the most allowed (LXCM_MAX_TEMPLATES_PER_USER): "
    "delete one before adding another"
)
MSG_NAME_TAKEN = "This name is already taken: choose another"


@dataclass(frozen=True)
class TemplateSummary:
    id: int
    slug: str
    name: str
    description: str
    tags: tuple[str, ...]
    os_template: str
    source: str
    scripts: int
    files: int
    packages: int
    updated_at: datetime
    owner: str = ""
    visibility: str = SHARED
    can_edit: bool = False  # for the actor who listed it
    mine: bool = False


@dataclass(frozen=True)
class StoredTemplate:
    id: int
    spec: TemplateSpec
    version: str  # opaque: pass it back to `update_template` to detect concurrent edits
    updated_by: str
    updated_at: datetime
    owner: str = ""
    visibility: str = SHARED
    can_edit: bool = False  # for the actor who read it

    @property
    def read_only(self) -> bool:
        return not self.can_edit

    @property
    def catalog(self) -> bool:
        return self.spec.source == "filesystem"


@dataclass(frozen=True)
class BucketSummary:
    id: int
    name: str
    description: str
    packages: tuple[PackageSpec, ...]
    used_by: tuple[str, ...]  # the templates using it that the actor may see
    owner: str = ""
    visibility: str = SHARED
    can_edit: bool = False
    mine: bool = False
    used_by_others: int = 0  # templates using it that the actor may not see


@dataclass(frozen=True)
class SaveResult:
    id: int | None = None
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.id is not None and not self.errors


@dataclass(frozen=True)
class SyncReport:
    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    refused: str = ""  # set when the actor may not sync at all (nothing was read or changed)

    def summary(self) -> str:
        if self.refused:
            return self.refused
        parts = [
            f"{len(self.added)} added",
            f"{len(self.updated)} updated",
            f"{len(self.removed)} removed",
        ]
        if self.errors:
            parts.append(f"{len(self.errors)} with errors")
        return "Catalog synced: " + ", ".join(parts)


def owner_name(owner: str) -> str:
    """`root@pam@3f9c0a1e2b4d5c6f` -> `root@pam` (the Proxmox user, without the endpoint)."""
    return owner.rsplit("@", 1)[0] if owner.count("@") >= 2 else owner
