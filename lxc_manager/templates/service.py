"""Templates and package buckets in the database: list, read, save, duplicate, delete, sync.

Every function takes the acting user (`Actor`) and applies the owner/visibility rules
(DESIGN §3.3):

- A template or bucket has an owner (a user id) and a visibility: `private` (only the owner
  sees and uses it) or `shared` (everyone sees and uses it; only the owner or an
  administrator changes or deletes it). Another user's private one is "not found", never
  data. Only the owner changes the visibility.
- Catalog templates (`source=filesystem`, owner `catalog`) are shared and read-only for
  everyone; only administrators sync them (`sync_catalog`). Users duplicate them to edit.
- Duplicating makes a private copy owned by the one who duplicates.
- A template uses only buckets its owner may use (their own or shared ones), and a shared
  template uses only shared buckets: making a template shared while it uses a private
  bucket is refused, and so is making a bucket private while a shared template, or a
  template of another user, uses it. So a shared template never leaks a private bucket.
- A user owns at most `LXCM_MAX_TEMPLATES_PER_USER` templates, and separately at most as
  many buckets (catalog templates count for nobody).

Names are unique across the installation (templates and buckets reference buckets by
name); a clash with something the user may not see says only that the name is taken.
Saving validates first (`spec.validate_template`) and writes nothing when a rule fails;
every change is audited with the user who made it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from sqlalchemy import ColumnElement, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, or_, select

from lxc_manager.aio import in_thread
from lxc_manager.db.engine import session_scope
from lxc_manager.db.models import (
    Package,
    PackageBucket,
    Template,
    TemplateBucket,
    TemplateFile,
    TemplateScript,
    utcnow,
)
from lxc_manager.security import audit
from lxc_manager.security.actor import Actor
from lxc_manager.settings import get_settings

from .catalog import default_catalog_dir, load_catalog
from .spec import (
    NAME_MAX,
    VISIBILITIES,
    BucketSpec,
    Features,
    FileSpec,
    PackageSpec,
    Resources,
    ScriptSpec,
    TemplateSpec,
    Visibility,
    slugify,
    validate_bucket,
    validate_template,
)

log = logging.getLogger(__name__)

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


# --- who may do what ---------------------------------------------------------------------


def _visible_templates(actor: Actor) -> ColumnElement[bool]:
    return or_(
        col(Template.source) == "filesystem",
        col(Template.visibility) == SHARED,
        col(Template.owner) == actor.user_id,
    )


def _visible_buckets(actor: Actor) -> ColumnElement[bool]:
    return or_(col(PackageBucket.visibility) == SHARED, col(PackageBucket.owner) == actor.user_id)


def _sees_template(actor: Actor, row: Template) -> bool:
    return row.source == "filesystem" or row.visibility == SHARED or row.owner == actor.user_id


def _sees_bucket(actor: Actor, row: PackageBucket) -> bool:
    return row.visibility == SHARED or row.owner == actor.user_id


def _may_change(actor: Actor, row: Template | PackageBucket) -> bool:
    """The owner, or an administrator when it is shared; nobody changes catalog templates."""
    if isinstance(row, Template) and row.source == "filesystem":
        return False
    return row.owner == actor.user_id or (row.visibility == SHARED and actor.is_admin)


def _refuse(actor: Actor, action: str, target: str) -> None:
    # Logged, not audited: a refusal changes nothing, and one audit row per refused event
    # would let anyone flood the audit trail.
    log.warning("refused %s of %s to %s", action, target, actor.user_id)


def _count_owned(session: Session, model: type[Template] | type[PackageBucket], owner: str) -> int:
    query = select(func.count()).select_from(model).where(col(model.owner) == owner)
    return int(session.exec(query).one())


# --- reading -----------------------------------------------------------------------------


def list_templates_sync(actor: Actor, search: str = "", tag: str = "") -> list[TemplateSummary]:
    """The templates the actor may see (their own, shared ones and the catalog), by name;
    `search` matches name, description and OS template."""
    needle = search.strip().lower()
    tag = tag.strip().lower()
    with session_scope() as session:
        rows = session.exec(
            select(Template).where(_visible_templates(actor)).order_by(func.lower(Template.name))
        ).all()
        counts = _child_counts(session)
    out: list[TemplateSummary] = []
    for row in rows:
        tags = _tags(row.tags)
        if tag and tag not in tags:
            continue
        haystack = f"{row.name}\n{row.description}\n{row.os_template}\n{row.slug}".lower()
        if needle and needle not in haystack and not any(needle in t for t in tags):
            continue
        assert row.id is not None
        scripts, files, packages = counts.get(row.id, (0, 0, 0))
        out.append(
            TemplateSummary(
                id=row.id,
                slug=row.slug,
                name=row.name,
                description=row.description,
                tags=tags,
                os_template=row.os_template,
                source=row.source,
                scripts=scripts,
                files=files,
                packages=packages,
                updated_at=row.updated_at,
                owner=row.owner,
                visibility=row.visibility,
                can_edit=_may_change(actor, row),
                mine=row.owner == actor.user_id,
            )
        )
    return out


def all_tags_sync(actor: Actor) -> list[str]:
    with session_scope() as session:
        values = session.exec(select(Template.tags).where(_visible_templates(actor))).all()
    return sorted({tag for value in values for tag in _tags(value)})


def get_template_sync(actor: Actor, template_id: int) -> StoredTemplate | None:
    """The template, or None when it does not exist or the actor may not see it."""
    with session_scope() as session:
        row = session.get(Template, template_id)
        if row is None or not _sees_template(actor, row):
            return None
        return _stored(session, row, actor)


def resolve_packages(
    actor: Actor, spec: TemplateSpec, extra_bucket_names: Sequence[str] = ()
) -> tuple[PackageSpec, ...]:
    """The template's own packages, then those of its buckets and of the extra buckets,
    without duplicates (first wins). Only buckets the actor may use count: another user's
    private bucket adds nothing."""
    names = list(dict.fromkeys([*spec.buckets, *extra_bucket_names]))
    with session_scope() as session:
        buckets = {
            b.name: b
            for b in session.exec(
                select(PackageBucket).where(
                    col(PackageBucket.name).in_(names), _visible_buckets(actor)
                )
            )
        }
        packages = list(spec.packages)
        for name in names:
            bucket = buckets.get(name)
            if bucket is not None and bucket.id is not None:
                packages.extend(_bucket_packages(session, bucket.id))
    seen: set[tuple[str, str]] = set()
    unique: list[PackageSpec] = []
    for pkg in packages:
        key = (pkg.manager, pkg.name.lower())
        if key not in seen:
            seen.add(key)
            unique.append(pkg)
    return tuple(unique)


def usable_buckets(actor: Actor, names: Sequence[str]) -> frozenset[str]:
    """Those of `names` that are buckets the actor may use (their own or shared ones)."""
    if not names:
        return frozenset()
    with session_scope() as session:
        found = session.exec(
            select(PackageBucket.name).where(
                col(PackageBucket.name).in_(list(names)), _visible_buckets(actor)
            )
        ).all()
    return frozenset(found)


# --- writing -----------------------------------------------------------------------------


def _visibility_error(visibility: str) -> dict[str, str]:
    return {} if visibility in VISIBILITIES else {"visibility": MSG_BAD_VISIBILITY}


def create_template_sync(
    actor: Actor, spec: TemplateSpec, visibility: Visibility = PRIVATE
) -> SaveResult:
    """A new custom template owned by the actor (private unless asked otherwise)."""
    spec = replace(spec, source="custom", source_path="", slug=spec.slug or slugify(spec.name))
    errors = validate_template(spec) | _visibility_error(visibility)
    if errors:
        return SaveResult(errors=errors)
    limit = get_settings().max_templates_per_user
    try:
        with session_scope() as session:
            if (count := _count_owned(session, Template, actor.user_id)) >= limit:
                return SaveResult(errors={"template": MSG_TEMPLATE_LIMIT.format(count=count)})
            if error := _conflicts(session, actor, spec, None):
                return SaveResult(errors=error)
            if problem := _bucket_problems(session, actor.user_id, visibility, spec.buckets):
                return SaveResult(errors=problem)
            row = Template(
                slug=spec.slug,
                name=spec.name,
                owner=actor.user_id,
                visibility=visibility,
                created_by=actor.user_id,
                updated_by=actor.user_id,
            )
            _apply(session, row, spec)
            template_id = row.id
    except IntegrityError:
        return SaveResult(errors={"name": MSG_NAME_TAKEN})
    assert template_id is not None
    audit.record(
        "template.create",
        user_id=actor.user_id,
        target=f"template:{template_id}",
        detail=f"{spec.name} ({visibility})",
    )
    return SaveResult(id=template_id)


def update_template_sync(
    actor: Actor,
    template_id: int,
    spec: TemplateSpec,
    expected_version: str | None = None,
    visibility: Visibility | None = None,
) -> SaveResult:
    """Save a template the actor may change; `visibility` None keeps it as it is."""
    errors = validate_template(spec) | _visibility_error(visibility or PRIVATE)
    if errors:
        return SaveResult(errors=errors)
    try:
        with session_scope() as session:
            row = session.get(Template, template_id)
            if row is None or not _sees_template(actor, row):
                return SaveResult(errors={"template": MSG_NOT_FOUND})
            if row.source == "filesystem":
                return SaveResult(errors={"template": MSG_READ_ONLY})
            if not _may_change(actor, row):
                _refuse(actor, "template.update", f"template:{template_id}")
                owner = owner_name(row.owner)
                return SaveResult(errors={"template": MSG_NOT_YOURS.format(owner=owner)})
            wanted = visibility or row.visibility
            if wanted != row.visibility and row.owner != actor.user_id:
                message = MSG_VISIBILITY_OWNER.format(owner=owner_name(row.owner))
                return SaveResult(errors={"visibility": message})
            if expected_version is not None and expected_version != _version(row):
                return SaveResult(errors={"template": MSG_CHANGED})
            spec = replace(spec, source="custom", source_path="", slug=row.slug)
            if error := _conflicts(session, actor, spec, template_id):
                return SaveResult(errors=error)
            if problem := _bucket_problems(session, row.owner, wanted, spec.buckets):
                return SaveResult(errors=problem)
            row.updated_by = actor.user_id
            row.visibility = wanted
            _apply(session, row, spec)
    except IntegrityError:
        return SaveResult(errors={"name": MSG_NAME_TAKEN})
    audit.record(
        "template.update",
        user_id=actor.user_id,
        target=f"template:{template_id}",
        detail=f"{spec.name} ({wanted})",
    )
    return SaveResult(id=template_id)


def duplicate_template_sync(actor: Actor, template_id: int) -> SaveResult:
    """A private copy, owned by the actor, of a template the actor may see."""
    stored = get_template_sync(actor, template_id)
    if stored is None:
        return SaveResult(errors={"template": MSG_NOT_FOUND})
    with session_scope() as session:
        taken_names = {n.lower() for n in session.exec(select(Template.name)).all()}
        taken_slugs = set(session.exec(select(Template.slug)).all())
    name = _free_name(stored.spec.name, taken_names)
    slug = _free_slug(slugify(name), taken_slugs)
    result = create_template_sync(actor, replace(stored.spec, name=name, slug=slug), PRIVATE)
    if result.ok:
        audit.record(
            "template.duplicate",
            user_id=actor.user_id,
            target=f"template:{result.id}",
            detail=f"copy of {stored.spec.name}",
        )
    return result


def delete_template_sync(actor: Actor, template_id: int) -> str | None:
    """Delete a custom template the actor may change; an error message, or None when deleted."""
    with session_scope() as session:
        row = session.get(Template, template_id)
        if row is None or not _sees_template(actor, row):
            return MSG_NOT_FOUND
        if row.source == "filesystem":
            return "Templates from the catalog cannot be deleted here: remove them from the catalog directory and sync"
        if not _may_change(actor, row):
            _refuse(actor, "template.delete", f"template:{template_id}")
            return MSG_NOT_YOURS.format(owner=owner_name(row.owner))
        name = row.name
        session.delete(row)
    audit.record(
        "template.delete", user_id=actor.user_id, target=f"template:{template_id}", detail=name
    )
    return None


def sync_catalog_sync(actor: Actor, root: Path | None = None) -> SyncReport:
    """Upsert the filesystem templates on their slug; remove the ones no longer there.
    Administrators only (anyone else gets `refused` and nothing is read or changed).

    A malformed template is reported (file and line) and left as it was in the database.
    """
    if not actor.is_admin:
        _refuse(actor, "template.sync", "catalog")
        return SyncReport(refused=MSG_ADMIN_ONLY)
    root = root or get_settings().templates_dir or default_catalog_dir()
    result = load_catalog(root)
    errors = [str(error) for error in result.errors]
    added: list[str] = []
    updated: list[str] = []
    removed: list[str] = []
    broken_slugs = {_slug_of_error(str(e.path)) for e in result.errors}
    for spec in result.templates:
        with session_scope() as session:
            row = session.exec(select(Template).where(Template.slug == spec.slug)).first()
            if row is not None and row.source != "filesystem":
                errors.append(
                    f"{spec.slug}: a custom template already uses the slug {spec.slug}; rename one of them"
                )
                continue
            if conflict := _conflicts(session, actor, spec, row.id if row else None):
                errors.append(f"{spec.slug}: {next(iter(conflict.values()))}")
                continue
            if problem := _bucket_problems(session, CATALOG_OWNER, SHARED, spec.buckets):
                errors.append(f"{spec.slug}: {next(iter(problem.values()))}")
                continue
            if row is None:
                row = Template(
                    slug=spec.slug,
                    name=spec.name,
                    created_by=actor.user_id,
                    updated_by=actor.user_id,
                )
                added.append(spec.name)
            elif _spec_of(session, row) == spec and _is_catalog_owned(row):
                continue
            else:
                row.updated_by = actor.user_id
                updated.append(spec.name)
            row.owner, row.visibility = CATALOG_OWNER, SHARED
            _apply(session, row, spec)
    keep = {spec.slug for spec in result.templates} | broken_slugs
    if root.is_dir():  # a missing catalog directory removes nothing
        with session_scope() as session:
            for row in session.exec(select(Template).where(Template.source == "filesystem")):
                if row.slug not in keep:
                    removed.append(row.name)
                    session.delete(row)
    report = SyncReport(tuple(added), tuple(updated), tuple(removed), tuple(errors))
    audit.record(
        "template.sync",
        user_id=actor.user_id,
        target="catalog",
        outcome=audit.Outcome.FAILED if errors else audit.Outcome.OK,
        detail=report.summary() + ("\n" + "\n".join(errors) if errors else ""),
    )
    return report


def _is_catalog_owned(row: Template) -> bool:
    return row.owner == CATALOG_OWNER and row.visibility == SHARED


# --- buckets -----------------------------------------------------------------------------


def _bucket_users(session: Session) -> dict[int, list[Template]]:
    users: dict[int, list[Template]] = {}
    for bucket_id, template in session.exec(
        select(TemplateBucket.bucket_id, Template).where(TemplateBucket.template_id == Template.id)
    ):
        users.setdefault(bucket_id, []).append(template)
    return users


def _bucket_summary(
    session: Session, actor: Actor, row: PackageBucket, users: list[Template]
) -> BucketSummary:
    assert row.id is not None
    seen = sorted(t.name for t in users if _sees_template(actor, t))
    return BucketSummary(
        id=row.id,
        name=row.name,
        description=row.description,
        packages=_bucket_packages(session, row.id),
        used_by=tuple(seen),
        owner=row.owner,
        visibility=row.visibility,
        can_edit=_may_change(actor, row),
        mine=row.owner == actor.user_id,
        used_by_others=len(users) - len(seen),
    )


def list_buckets_sync(actor: Actor) -> list[BucketSummary]:
    """The buckets the actor may use (their own and shared ones), by name."""
    with session_scope() as session:
        rows = session.exec(
            select(PackageBucket)
            .where(_visible_buckets(actor))
            .order_by(func.lower(PackageBucket.name))
        ).all()
        users = _bucket_users(session)
        return [_bucket_summary(session, actor, row, users.get(row.id or 0, [])) for row in rows]


def get_bucket_sync(actor: Actor, bucket_id: int) -> BucketSummary | None:
    """The bucket, or None when it does not exist or the actor may not see it."""
    with session_scope() as session:
        row = session.get(PackageBucket, bucket_id)
        if row is None or not _sees_bucket(actor, row):
            return None
        users = _bucket_users(session).get(bucket_id, [])
        return _bucket_summary(session, actor, row, users)


def _privacy_problem(session: Session, row: PackageBucket) -> str | None:
    """Why the bucket cannot become private: shared templates or other users' templates
    use it (they would reference a bucket their users may not use)."""
    users = _bucket_users(session).get(row.id or 0, [])
    blocking = [t for t in users if t.visibility == SHARED or t.owner != row.owner]
    if not blocking:
        return None
    return (
        f"{len(blocking)} shared template(s) or templates of other users use this bucket: "
        "it stays shared until they no longer do"
    )


def save_bucket_sync(
    actor: Actor, bucket_id: int | None, spec: BucketSpec, visibility: Visibility | None = None
) -> SaveResult:
    """Create a bucket owned by the actor (`bucket_id` None, private unless asked otherwise)
    or change one the actor may change (`visibility` None keeps it)."""
    errors = validate_bucket(spec) | _visibility_error(visibility or PRIVATE)
    if errors:
        return SaveResult(errors=errors)
    try:
        with session_scope() as session:
            if bucket_id is None:
                limit = get_settings().max_templates_per_user
                if (count := _count_owned(session, PackageBucket, actor.user_id)) >= limit:
                    return SaveResult(errors={"bucket": MSG_BUCKET_LIMIT.format(count=count)})
                row = PackageBucket(
                    name=spec.name,
                    owner=actor.user_id,
                    visibility=visibility or PRIVATE,
                    created_by=actor.user_id,
                )
            else:
                found = session.get(PackageBucket, bucket_id)
                if found is None or not _sees_bucket(actor, found):
                    return SaveResult(errors={"bucket": MSG_BUCKET_NOT_FOUND})
                if problem := _bucket_change_problem(session, actor, found, visibility):
                    return SaveResult(errors=problem)
                row = found
            # Nothing is assigned to `row` before the last check: a return commits.
            clash = session.exec(
                select(PackageBucket).where(func.lower(PackageBucket.name) == spec.name.lower())
            ).first()
            if clash is not None and clash.id != bucket_id:
                message = (
                    f"A bucket named {clash.name} already exists"
                    if _sees_bucket(actor, clash)
                    else MSG_NAME_TAKEN
                )
                return SaveResult(errors={"name": message})
            row.name = spec.name
            row.description = spec.description
            row.visibility = visibility or row.visibility
            row.updated_at = utcnow()
            session.add(row)
            session.flush()
            assert row.id is not None
            for old in session.exec(select(Package).where(Package.bucket_id == row.id)):
                session.delete(old)
            session.flush()
            for position, pkg in enumerate(spec.packages):
                session.add(_package_row(pkg, position, bucket_id=row.id))
            saved_id, saved_visibility = row.id, row.visibility
    except IntegrityError:
        return SaveResult(errors={"name": MSG_NAME_TAKEN})
    action = "bucket.create" if bucket_id is None else "bucket.update"
    audit.record(
        action,
        user_id=actor.user_id,
        target=f"bucket:{saved_id}",
        detail=f"{spec.name} ({saved_visibility})",
    )
    return SaveResult(id=saved_id)


def _bucket_change_problem(
    session: Session, actor: Actor, row: PackageBucket, visibility: Visibility | None
) -> dict[str, str]:
    """Why the actor may not save these changes to an existing bucket ({} when allowed)."""
    if not _may_change(actor, row):
        _refuse(actor, "bucket.update", f"bucket:{row.id}")
        return {"bucket": MSG_BUCKET_NOT_YOURS.format(owner=owner_name(row.owner))}
    wanted = visibility or row.visibility
    if wanted == row.visibility:
        return {}
    if row.owner != actor.user_id:
        return {"visibility": MSG_VISIBILITY_OWNER.format(owner=owner_name(row.owner))}
    if wanted == PRIVATE and (problem := _privacy_problem(session, row)):
        return {"visibility": problem}
    return {}


def delete_bucket_sync(actor: Actor, bucket_id: int) -> str | None:
    """Delete a bucket the actor may change and no template uses; an error message, or
    None when deleted."""
    with session_scope() as session:
        row = session.get(PackageBucket, bucket_id)
        if row is None or not _sees_bucket(actor, row):
            return MSG_BUCKET_NOT_FOUND
        if not _may_change(actor, row):
            _refuse(actor, "bucket.delete", f"bucket:{bucket_id}")
            return MSG_BUCKET_NOT_YOURS.format(owner=owner_name(row.owner))
        users = _bucket_users(session).get(bucket_id, [])
        if users:
            return f"{row.name} is used by {_users_text(actor, users)}: remove it from those templates first"
        name = row.name
        session.delete(row)
    audit.record("bucket.delete", user_id=actor.user_id, target=f"bucket:{bucket_id}", detail=name)
    return None


def _users_text(actor: Actor, users: list[Template]) -> str:
    seen = sorted(t.name for t in users if _sees_template(actor, t))
    hidden = len(users) - len(seen)
    if hidden:
        seen.append(f"{hidden} template(s) of other users")
    return ", ".join(seen)


# --- rows <-> specs ----------------------------------------------------------------------


def _tags(value: str) -> tuple[str, ...]:
    try:
        data = json.loads(value or "[]")
    except ValueError:
        return ()
    return tuple(str(t) for t in data) if isinstance(data, list) else ()


def _version(row: Template) -> str:
    return row.updated_at.isoformat() if row.updated_at else ""


def _child_counts(session: Session) -> dict[int, tuple[int, int, int]]:
    counts: dict[int, list[int]] = {}
    for index, model in enumerate((TemplateScript, TemplateFile, Package)):
        template_col = model.template_id  # type: ignore[attr-defined]
        query = (
            select(template_col, func.count())
            .where(template_col.is_not(None))
            .group_by(template_col)
        )
        for template_id, count in session.exec(query):
            counts.setdefault(template_id, [0, 0, 0])[index] = count
    return {k: (v[0], v[1], v[2]) for k, v in counts.items()}


def _bucket_packages(session: Session, bucket_id: int) -> tuple[PackageSpec, ...]:
    rows = session.exec(
        select(Package).where(Package.bucket_id == bucket_id).order_by(col(Package.position))
    ).all()
    return tuple(_package_spec(row) for row in rows)


def _package_spec(row: Package) -> PackageSpec:
    return PackageSpec(
        manager=row.manager,  # type: ignore[arg-type]
        name=row.name,
        version=row.version,
        command=row.command,
    )


def _package_row(
    pkg: PackageSpec, position: int, *, template_id: int | None = None, bucket_id: int | None = None
) -> Package:
    return Package(
        template_id=template_id,
        bucket_id=bucket_id,
        position=position,
        manager=pkg.manager,
        name=pkg.name,
        version=pkg.version,
        command=pkg.command,
    )


def _spec_of(session: Session, row: Template) -> TemplateSpec:
    assert row.id is not None
    scripts = session.exec(
        select(TemplateScript)
        .where(TemplateScript.template_id == row.id)
        .order_by(col(TemplateScript.position))
    ).all()
    files = session.exec(
        select(TemplateFile)
        .where(TemplateFile.template_id == row.id)
        .order_by(col(TemplateFile.position))
    ).all()
    packages = session.exec(
        select(Package).where(Package.template_id == row.id).order_by(col(Package.position))
    ).all()
    buckets = session.exec(
        select(PackageBucket.name)
        .where(TemplateBucket.bucket_id == PackageBucket.id, TemplateBucket.template_id == row.id)
        .order_by(col(TemplateBucket.position))
    ).all()
    return TemplateSpec(
        name=row.name,
        slug=row.slug,
        description=row.description,
        tags=_tags(row.tags),
        os_template=row.os_template,
        version=row.version,
        resources=Resources(row.cores, row.memory_mb, row.swap_mb, row.disk_gb),
        storage=row.storage,
        bridge=row.bridge,
        features=Features(row.unprivileged, row.nesting, row.keyctl, row.fuse),
        scripts=tuple(ScriptSpec(s.name, s.content, s.enabled) for s in scripts),
        files=tuple(
            FileSpec(f.name, f.target_path, f.content, f.policy, f.mode)  # type: ignore[arg-type]
            for f in files
        ),
        packages=tuple(_package_spec(p) for p in packages),
        buckets=tuple(buckets),
        source=row.source,  # type: ignore[arg-type]
        source_path=row.source_path,
    )


def _stored(session: Session, row: Template, actor: Actor) -> StoredTemplate:
    assert row.id is not None
    return StoredTemplate(
        id=row.id,
        spec=_spec_of(session, row),
        version=_version(row),
        updated_by=row.updated_by,
        updated_at=row.updated_at,
        owner=row.owner,
        visibility=row.visibility,
        can_edit=_may_change(actor, row),
    )


def _apply(session: Session, row: Template, spec: TemplateSpec) -> None:
    """Write `spec` into `row` and replace its children, in the caller's transaction."""
    row.slug = spec.slug
    row.name = spec.name
    row.description = spec.description
    row.tags = json.dumps(list(spec.tags))
    row.os_template = spec.os_template
    row.version = spec.version
    row.cores = spec.resources.cores
    row.memory_mb = spec.resources.memory_mb
    row.swap_mb = spec.resources.swap_mb
    row.disk_gb = spec.resources.disk_gb
    row.storage = spec.storage
    row.bridge = spec.bridge
    row.unprivileged = spec.features.unprivileged
    row.nesting = spec.features.nesting
    row.keyctl = spec.features.keyctl
    row.fuse = spec.features.fuse
    row.source = spec.source
    row.source_path = spec.source_path
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    template_id = row.id
    assert template_id is not None
    for model in (TemplateScript, TemplateFile, Package, TemplateBucket):
        for old in session.exec(select(model).where(model.template_id == template_id)):
            session.delete(old)
    session.flush()
    for position, script in enumerate(spec.scripts):
        session.add(
            TemplateScript(
                template_id=template_id,
                position=position,
                name=script.name,
                content=script.content,
                enabled=script.enabled,
            )
        )
    for position, item in enumerate(spec.files):
        session.add(
            TemplateFile(
                template_id=template_id,
                position=position,
                name=item.name,
                target_path=item.target_path,
                content=item.content,
                policy=item.policy,
                mode=item.mode,
            )
        )
    for position, pkg in enumerate(spec.packages):
        session.add(_package_row(pkg, position, template_id=template_id))
    bucket_ids = {
        b.name: b.id
        for b in session.exec(
            select(PackageBucket).where(col(PackageBucket.name).in_(list(spec.buckets)))
        )
    }
    for position, name in enumerate(spec.buckets):
        bucket_id = bucket_ids.get(name)
        if bucket_id is not None:
            session.add(
                TemplateBucket(template_id=template_id, bucket_id=bucket_id, position=position)
            )
    session.flush()


def _conflicts(
    session: Session, actor: Actor, spec: TemplateSpec, template_id: int | None
) -> dict[str, str]:
    """A name or slug already used by another template (named only when the actor may see
    that template)."""
    clash = session.exec(
        select(Template).where(func.lower(Template.name) == spec.name.lower())
    ).first()
    if clash is not None and clash.id != template_id:
        if not _sees_template(actor, clash):
            return {"name": MSG_NAME_TAKEN}
        return {"name": f"A template named {clash.name} already exists"}
    slug_clash = session.exec(select(Template).where(Template.slug == spec.slug)).first()
    if slug_clash is not None and slug_clash.id != template_id:
        if not _sees_template(actor, slug_clash):
            return {"name": f"The short name {spec.slug} is already taken: choose another name"}
        return {"name": f"The template {slug_clash.name} already has the short name {spec.slug}"}
    return {}


def _bucket_problems(
    session: Session, owner: str, visibility: str, names: Sequence[str]
) -> dict[str, str]:
    """A template owned by `owner` uses only buckets that owner may use (own or shared);
    a shared template uses only shared buckets (it must not leak a private one)."""
    if not names:
        return {}
    rows = {
        b.name: b
        for b in session.exec(select(PackageBucket).where(col(PackageBucket.name).in_(list(names))))
    }
    for name in names:
        bucket = rows.get(name)
        if bucket is None or not (bucket.owner == owner or bucket.visibility == SHARED):
            return {"buckets": f"No package bucket is named {name}"}
        if visibility == SHARED and bucket.visibility != SHARED:
            return {
                "visibility": f"It uses the private package bucket {name}: share that bucket "
                "first, or keep this template private"
            }
    return {}


def _free_name(name: str, taken_lower: set[str]) -> str:
    for n in range(1, 1000):
        suffix = " (copy)" if n == 1 else f" (copy {n})"
        candidate = name[: NAME_MAX - len(suffix)] + suffix
        if candidate.lower() not in taken_lower:
            return candidate
    raise RuntimeError("no free name")  # pragma: no cover - 1,000 copies of one template


def _free_slug(slug: str, taken: set[str]) -> str:
    candidate = slug
    n = 2
    while candidate in taken:
        suffix = f"-{n}"
        candidate = slug[: 64 - len(suffix)] + suffix
        n += 1
    return candidate


def _slug_of_error(path: str) -> str:
    """The template directory an error belongs to (its first path component)."""
    return Path(path).parts[0].lower() if path and Path(path).parts else ""


# -- the async boundary (what the pages call): each runs its sync core in a thread --------

list_templates = in_thread(list_templates_sync)
all_tags = in_thread(all_tags_sync)
get_template = in_thread(get_template_sync)
list_buckets = in_thread(list_buckets_sync)
get_bucket = in_thread(get_bucket_sync)
save_bucket = in_thread(save_bucket_sync)
delete_bucket = in_thread(delete_bucket_sync)
create_template = in_thread(create_template_sync)
update_template = in_thread(update_template_sync)
duplicate_template = in_thread(duplicate_template_sync)
delete_template = in_thread(delete_template_sync)
sync_catalog = in_thread(sync_catalog_sync)
