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

This module holds the templates' reads and writes, the catalog sync and the async
boundary the pages call; beside it are `views` (result types and messages, re-exported
here), `access` (who may see and change what), `rows` (rows <-> specs) and `buckets`
(the bucket functions, re-exported here).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from lxc_manager.aio import in_thread
from lxc_manager.db.engine import session_scope
from lxc_manager.db.models import PackageBucket, Template
from lxc_manager.security import audit
from lxc_manager.security.actor import Actor
from lxc_manager.settings import get_settings

from .access import (
    count_owned,
    may_change,
    refuse,
    sees_template,
    visibility_error,
    visible_buckets,
    visible_templates,
)
from .buckets import delete_bucket_sync, get_bucket_sync, list_buckets_sync, save_bucket_sync
from .catalog import default_catalog_dir, load_catalog
from .rows import (
    apply_spec,
    bucket_packages,
    bucket_problems,
    child_counts,
    free_name,
    free_slug,
    name_conflicts,
    slug_of_error,
    spec_of,
    stored_template,
    tags_of,
    version_of,
)
from .spec import PackageSpec, TemplateSpec, Visibility, slugify, validate_template
from .views import (
    CATALOG_OWNER,
    MSG_ADMIN_ONLY,
    MSG_BAD_VISIBILITY,
    MSG_BUCKET_LIMIT,
    MSG_BUCKET_NOT_FOUND,
    MSG_BUCKET_NOT_YOURS,
    MSG_CHANGED,
    MSG_NAME_TAKEN,
    MSG_NOT_FOUND,
    MSG_NOT_YOURS,
    MSG_READ_ONLY,
    MSG_TEMPLATE_LIMIT,
    MSG_VISIBILITY_OWNER,
    PRIVATE,
    SHARED,
    BucketSummary,
    SaveResult,
    StoredTemplate,
    SyncReport,
    TemplateSummary,
    owner_name,
)

__all__ = [
    "CATALOG_OWNER",
    "MSG_ADMIN_ONLY",
    "MSG_BAD_VISIBILITY",
    "MSG_BUCKET_LIMIT",
    "MSG_BUCKET_NOT_FOUND",
    "MSG_BUCKET_NOT_YOURS",
    "MSG_CHANGED",
    "MSG_NAME_TAKEN",
    "MSG_NOT_FOUND",
    "MSG_NOT_YOURS",
    "MSG_READ_ONLY",
    "MSG_TEMPLATE_LIMIT",
    "MSG_VISIBILITY_OWNER",
    "PRIVATE",
    "SHARED",
    "BucketSummary",
    "SaveResult",
    "StoredTemplate",
    "SyncReport",
    "TemplateSummary",
    "all_tags",
    "all_tags_sync",
    "create_template",
    "create_template_sync",
    "delete_bucket",
    "delete_bucket_sync",
    "delete_template",
    "delete_template_sync",
    "duplicate_template",
    "duplicate_template_sync",
    "get_bucket",
    "get_bucket_sync",
    "get_template",
    "get_template_sync",
    "list_buckets",
    "list_buckets_sync",
    "list_templates",
    "list_templates_sync",
    "owner_name",
    "resolve_packages",
    "save_bucket",
    "save_bucket_sync",
    "sync_catalog",
    "sync_catalog_sync",
    "update_template",
    "update_template_sync",
    "usable_buckets",
]


# --- reading -----------------------------------------------------------------------------


def list_templates_sync(actor: Actor, search: str = "", tag: str = "") -> list[TemplateSummary]:
    """The templates the actor may see (their own, shared ones and the catalog), by name;
    `search` matches name, description and OS template."""
    needle = search.strip().lower()
    tag = tag.strip().lower()
    with session_scope() as session:
        rows = session.exec(
            select(Template).where(visible_templates(actor)).order_by(func.lower(Template.name))
        ).all()
        counts = child_counts(session)
    out: list[TemplateSummary] = []
    for row in rows:
        tags = tags_of(row.tags)
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
                can_edit=may_change(actor, row),
                mine=row.owner == actor.user_id,
            )
        )
    return out


def all_tags_sync(actor: Actor) -> list[str]:
    with session_scope() as session:
        values = session.exec(select(Template.tags).where(visible_templates(actor))).all()
    return sorted({tag for value in values for tag in tags_of(value)})


def get_template_sync(actor: Actor, template_id: int) -> StoredTemplate | None:
    """The template, or None when it does not exist or the actor may not see it."""
    with session_scope() as session:
        row = session.get(Template, template_id)
        if row is None or not sees_template(actor, row):
            return None
        return stored_template(session, row, actor)


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
                    col(PackageBucket.name).in_(names), visible_buckets(actor)
                )
            )
        }
        packages = list(spec.packages)
        for name in names:
            bucket = buckets.get(name)
            if bucket is not None and bucket.id is not None:
                packages.extend(bucket_packages(session, bucket.id))
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
                col(PackageBucket.name).in_(list(names)), visible_buckets(actor)
            )
        ).all()
    return frozenset(found)


# --- writing -----------------------------------------------------------------------------


def create_template_sync(
    actor: Actor, spec: TemplateSpec, visibility: Visibility = PRIVATE
) -> SaveResult:
    """A new custom template owned by the actor (private unless asked otherwise)."""
    spec = replace(spec, source="custom", source_path="", slug=spec.slug or slugify(spec.name))
    errors = validate_template(spec) | visibility_error(visibility)
    if errors:
        return SaveResult(errors=errors)
    limit = get_settings().max_templates_per_user
    try:
        with session_scope() as session:
            if (count := count_owned(session, Template, actor.user_id)) >= limit:
                return SaveResult(errors={"template": MSG_TEMPLATE_LIMIT.format(count=count)})
            if error := name_conflicts(session, actor, spec, None):
                return SaveResult(errors=error)
            if problem := bucket_problems(session, actor.user_id, visibility, spec.buckets):
                return SaveResult(errors=problem)
            row = Template(
                slug=spec.slug,
                name=spec.name,
                owner=actor.user_id,
                visibility=visibility,
                created_by=actor.user_id,
                updated_by=actor.user_id,
            )
            apply_spec(session, row, spec)
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
    errors = validate_template(spec) | visibility_error(visibility or PRIVATE)
    if errors:
        return SaveResult(errors=errors)
    try:
        with session_scope() as session:
            row = session.get(Template, template_id)
            if row is None or not sees_template(actor, row):
                return SaveResult(errors={"template": MSG_NOT_FOUND})
            if row.source == "filesystem":
                return SaveResult(errors={"template": MSG_READ_ONLY})
            if not may_change(actor, row):
                refuse(actor, "template.update", f"template:{template_id}")
                owner = owner_name(row.owner)
                return SaveResult(errors={"template": MSG_NOT_YOURS.format(owner=owner)})
            wanted = visibility or row.visibility
            if wanted != row.visibility and row.owner != actor.user_id:
                message = MSG_VISIBILITY_OWNER.format(owner=owner_name(row.owner))
                return SaveResult(errors={"visibility": message})
            if expected_version is not None and expected_version != version_of(row):
                return SaveResult(errors={"template": MSG_CHANGED})
            spec = replace(spec, source="custom", source_path="", slug=row.slug)
            if error := name_conflicts(session, actor, spec, template_id):
                return SaveResult(errors=error)
            if problem := bucket_problems(session, row.owner, wanted, spec.buckets):
                return SaveResult(errors=problem)
            row.updated_by = actor.user_id
            row.visibility = wanted
            apply_spec(session, row, spec)
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
    name = free_name(stored.spec.name, taken_names)
    slug = free_slug(slugify(name), taken_slugs)
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
        if row is None or not sees_template(actor, row):
            return MSG_NOT_FOUND
        if row.source == "filesystem":
            return "Templates from the catalog cannot be deleted here: remove them from the catalog directory and sync"
        if not may_change(actor, row):
            refuse(actor, "template.delete", f"template:{template_id}")
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
        refuse(actor, "template.sync", "catalog")
        return SyncReport(refused=MSG_ADMIN_ONLY)
    root = root or get_settings().templates_dir or default_catalog_dir()
    result = load_catalog(root)
    errors = [str(error) for error in result.errors]
    added: list[str] = []
    updated: list[str] = []
    removed: list[str] = []
    broken_slugs = {slug_of_error(str(e.path)) for e in result.errors}
    for spec in result.templates:
        with session_scope() as session:
            row = session.exec(select(Template).where(Template.slug == spec.slug)).first()
            if row is not None and row.source != "filesystem":
                errors.append(
                    f"{spec.slug}: a custom template already uses the slug {spec.slug}; rename one of them"
                )
                continue
            if conflict := name_conflicts(session, actor, spec, row.id if row else None):
                errors.append(f"{spec.slug}: {next(iter(conflict.values()))}")
                continue
            if problem := bucket_problems(session, CATALOG_OWNER, SHARED, spec.buckets):
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
            elif spec_of(session, row) == spec and _is_catalog_owned(row):
                continue
            else:
                row.updated_by = actor.user_id
                updated.append(spec.name)
            row.owner, row.visibility = CATALOG_OWNER, SHARED
            apply_spec(session, row, spec)
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
