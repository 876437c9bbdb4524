"""The package buckets page's cards: what it shows of a `BucketSummary` (no Reflex)."""

from __future__ import annotations

from pydantic import BaseModel

from lxc_manager.pages.components.format import owner_label
from lxc_manager.templates import service
from lxc_manager.templates.packages import package_line
from lxc_manager.templates.service import BucketSummary


class BucketRow(BaseModel):
    id: int
    name: str
    description: str
    packages: list[str]
    used_by: str
    badge: str  # mine · private | mine · shared | shared by USER
    owner: str
    can_edit: bool


def used_by(bucket: BucketSummary) -> str:
    """The templates that include the bucket: the user's by name, others' as a count."""
    names = list(bucket.used_by)
    if bucket.used_by_others:
        names.append(f"{bucket.used_by_others} template(s) of other users")
    return ", ".join(names)


def bucket_row(bucket: BucketSummary) -> BucketRow:
    return BucketRow(
        id=bucket.id,
        name=bucket.name,
        description=bucket.description,
        packages=[package_line(p) for p in bucket.packages],
        used_by=used_by(bucket),
        badge=owner_label(False, bucket.mine, bucket.visibility, service.owner_name(bucket.owner)),
        owner=bucket.owner,
        can_edit=bucket.can_edit,
    )
