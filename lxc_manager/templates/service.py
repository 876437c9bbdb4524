"""Templates and package buckets in the database: list, read, save, duplicate, delete, sync.

Templates are shared by every user of an installation; every change is audited with the
user who made it. Saving validates first (`spec.validate_template`) and writes nothing when
a rule fails. Filesystem templates are upserted by `sync_catalog` on their slug and are
read-only here: users duplicate them to edit.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

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
from lxc_manager.settings import get_settings

from .catalog import default_catalog_dir, load_catalog
from .spec import (
    NAME_MAX,
    BucketSpec,
    Features,
    FileSpec,
    PackageSpec,
    Resources,
    ScriptSpec,
    TemplateSpec,
    slugify,
    validate_bucket,
    validate_template,
)

MSG_NOT_FOUND = "This template no longer exists"
MSG_BUCKET_NOT_FOUND = "This package bucket no longer exists"
MSG_READ_ONLY = "Templates from the catalog are read-only: duplicate it to edit a copy"
MSG_CHANGED = (
    "Someone else saved this template since you opened it. Reload it to see their changes."
)


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


@dataclass(frozen=True)
class StoredTemplate:
    id: int
    spec: TemplateSpec
    version: str  # opaque: pass it back to `update_template` to detect concurrent edits
    updated_by: str
    updated_at: datetime

    @property
    def read_only(self) -> bool:
        return self.spec.source == "filesystem"


@dataclass(frozen=True)
class BucketSummary:
    id: int
    name: str
    description: str
    packages: tuple[PackageSpec, ...]
    used_by: tuple[str, ...]


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

    def summary(self) -> str:
        parts = [
            f"{len(self.added)} added",
            f"{len(self.updated)} updated",
            f"{len(self.removed)} removed",
        ]
        if self.errors:
            parts.append(f"{len(self.errors)} with errors")
        return "Catalog synced: " + ", ".join(parts)


# --- reading -----------------------------------------------------------------------------


def list_templates(search: str = "", tag: str = "") -> list[TemplateSummary]:
    """Every template, by name; `search` matches name, description and OS template."""
    needle = search.strip().lower()
    tag = tag.strip().lower()
    with session_scope() as session:
        rows = session.exec(select(Template).order_by(func.lower(Template.name))).all()
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
            )
        )
    return out


def all_tags() -> list[str]:
    with session_scope() as session:
        values = session.exec(select(Template.tags)).all()
    return sorted({tag for value in values for tag in _tags(value)})


def get_template(template_id: int) -> StoredTemplate | None:
    with session_scope() as session:
        row = session.get(Template, template_id)
        if row is None:
            return None
        return _stored(session, row)


def resolve_packages(
    spec: TemplateSpec, extra_bucket_names: Sequence[str] = ()
) -> tuple[PackageSpec, ...]:
    """The template's own packages, then those of its buckets and of the extra buckets,
    without duplicates (first wins)."""
    names = list(dict.fromkeys([*spec.buckets, *extra_bucket_names]))
    with session_scope() as session:
        buckets = {
            b.name: b
            for b in session.exec(select(PackageBucket).where(col(PackageBucket.name).in_(names)))
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


# --- writing -----------------------------------------------------------------------------


def create_template(user_id: str, spec: TemplateSpec) -> SaveResult:
    spec = replace(spec, source="custom", source_path="", slug=spec.slug or slugify(spec.name))
    errors = validate_template(spec)
    if errors:
        return SaveResult(errors=errors)
    try:
        with session_scope() as session:
            if error := _conflicts(session, spec, None):
                return SaveResult(errors=error)
            if missing := _missing_buckets(session, spec.buckets):
                return SaveResult(errors=missing)
            row = Template(slug=spec.slug, name=spec.name, created_by=user_id, updated_by=user_id)
            _apply(session, row, spec)
            template_id = row.id
    except IntegrityError:
        return SaveResult(errors={"name": f"A template named {spec.name} already exists"})
    assert template_id is not None
    audit.record(
        "template.create", user_id=user_id, target=f"template:{template_id}", detail=spec.name
    )
    return SaveResult(id=template_id)


def update_template(
    user_id: str, template_id: int, spec: TemplateSpec, expected_version: str | None = None
) -> SaveResult:
    errors = validate_template(spec)
    if errors:
        return SaveResult(errors=errors)
    try:
        with session_scope() as session:
            row = session.get(Template, template_id)
            if row is None:
                return SaveResult(errors={"template": MSG_NOT_FOUND})
            if row.source == "filesystem":
                return SaveResult(errors={"template": MSG_READ_ONLY})
            if expected_version is not None and expected_version != _version(row):
                return SaveResult(errors={"template": MSG_CHANGED})
            spec = replace(spec, source="custom", source_path="", slug=row.slug)
            if error := _conflicts(session, spec, template_id):
                return SaveResult(errors=error)
            if missing := _missing_buckets(session, spec.buckets):
                return SaveResult(errors=missing)
            row.updated_by = user_id
            _apply(session, row, spec)
    except IntegrityError:
        return SaveResult(errors={"name": f"A template named {spec.name} already exists"})
    audit.record(
        "template.update", user_id=user_id, target=f"template:{template_id}", detail=spec.name
    )
    return SaveResult(id=template_id)


def duplicate_template(user_id: str, template_id: int) -> SaveResult:
    stored = get_template(template_id)
    if stored is None:
        return SaveResult(errors={"template": MSG_NOT_FOUND})
    with session_scope() as session:
        taken_names = {n.lower() for n in session.exec(select(Template.name)).all()}
        taken_slugs = set(session.exec(select(Template.slug)).all())
    name = _free_name(stored.spec.name, taken_names)
    slug = _free_slug(slugify(name), taken_slugs)
    result = create_template(user_id, replace(stored.spec, name=name, slug=slug))
    if result.ok:
        audit.record(
            "template.duplicate",
            user_id=user_id,
            target=f"template:{result.id}",
            detail=f"copy of {stored.spec.name}",
        )
    return result


def delete_template(user_id: str, template_id: int) -> str | None:
    """Delete a custom template; returns an error message, or None when deleted."""
    with session_scope() as session:
        row = session.get(Template, template_id)
        if row is None:
            return MSG_NOT_FOUND
        if row.source == "filesystem":
            return "Templates from the catalog cannot be deleted here: remove them from the catalog directory and sync"
        name = row.name
        session.delete(row)
    audit.record("template.delete", user_id=user_id, target=f"template:{template_id}", detail=name)
    return None


def sync_catalog(user_id: str, root: Path | None = None) -> SyncReport:
    """Upsert the filesystem templates on their slug; remove the ones no longer there.

    A malformed template is reported (file and line) and left as it was in the database.
    """
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
            if conflict := _conflicts(session, spec, row.id if row else None):
                errors.append(f"{spec.slug}: {next(iter(conflict.values()))}")
                continue
            if missing := _missing_buckets(session, spec.buckets):
                errors.append(f"{spec.slug}: {next(iter(missing.values()))}")
                continue
            if row is None:
                row = Template(
                    slug=spec.slug, name=spec.name, created_by=user_id, updated_by=user_id
                )
                added.append(spec.name)
            elif _spec_of(session, row) == spec:
                continue
            else:
                row.updated_by = user_id
                updated.append(spec.name)
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
        user_id=user_id,
        target="catalog",
        outcome=audit.Outcome.FAILED if errors else audit.Outcome.OK,
        detail=report.summary() + ("\n" + "\n".join(errors) if errors else ""),
    )
    return report


# --- buckets -----------------------------------------------------------------------------


def list_buckets() -> list[BucketSummary]:
    with session_scope() as session:
        rows = session.exec(select(PackageBucket).order_by(func.lower(PackageBucket.name))).all()
        users: dict[int, list[str]] = {}
        for bucket_id, template_name in session.exec(
            select(TemplateBucket.bucket_id, Template.name).where(
                TemplateBucket.template_id == Template.id
            )
        ):
            users.setdefault(bucket_id, []).append(template_name)
        out = []
        for row in rows:
            assert row.id is not None
            out.append(
                BucketSummary(
                    id=row.id,
                    name=row.name,
                    description=row.description,
                    packages=_bucket_packages(session, row.id),
                    used_by=tuple(sorted(users.get(row.id, []))),
                )
            )
    return out


def get_bucket(bucket_id: int) -> BucketSummary | None:
    return next((b for b in list_buckets() if b.id == bucket_id), None)


def save_bucket(user_id: str, bucket_id: int | None, spec: BucketSpec) -> SaveResult:
    errors = validate_bucket(spec)
    if errors:
        return SaveResult(errors=errors)
    try:
        with session_scope() as session:
            clash = session.exec(
                select(PackageBucket).where(func.lower(PackageBucket.name) == spec.name.lower())
            ).first()
            if clash is not None and clash.id != bucket_id:
                return SaveResult(errors={"name": f"A bucket named {clash.name} already exists"})
            if bucket_id is None:
                row = PackageBucket(name=spec.name, created_by=user_id)
            else:
                found = session.get(PackageBucket, bucket_id)
                if found is None:
                    return SaveResult(errors={"bucket": MSG_BUCKET_NOT_FOUND})
                row = found
            row.name = spec.name
            row.description = spec.description
            row.updated_at = utcnow()
            session.add(row)
            session.flush()
            assert row.id is not None
            for old in session.exec(select(Package).where(Package.bucket_id == row.id)):
                session.delete(old)
            session.flush()
            for position, pkg in enumerate(spec.packages):
                session.add(_package_row(pkg, position, bucket_id=row.id))
            saved_id = row.id
    except IntegrityError:
        return SaveResult(errors={"name": f"A bucket named {spec.name} already exists"})
    action = "bucket.create" if bucket_id is None else "bucket.update"
    audit.record(action, user_id=user_id, target=f"bucket:{saved_id}", detail=spec.name)
    return SaveResult(id=saved_id)


def delete_bucket(user_id: str, bucket_id: int) -> str | None:
    """Delete a bucket no template uses; returns an error message, or None when deleted."""
    with session_scope() as session:
        row = session.get(PackageBucket, bucket_id)
        if row is None:
            return MSG_BUCKET_NOT_FOUND
        users = session.exec(
            select(Template.name).where(
                TemplateBucket.template_id == Template.id, TemplateBucket.bucket_id == bucket_id
            )
        ).all()
        if users:
            return f"{row.name} is used by {', '.join(sorted(users))}: remove it from those templates first"
        name = row.name
        session.delete(row)
    audit.record("bucket.delete", user_id=user_id, target=f"bucket:{bucket_id}", detail=name)
    return None


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


def _stored(session: Session, row: Template) -> StoredTemplate:
    assert row.id is not None
    return StoredTemplate(
        id=row.id,
        spec=_spec_of(session, row),
        version=_version(row),
        updated_by=row.updated_by,
        updated_at=row.updated_at,
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


def _conflicts(session: Session, spec: TemplateSpec, template_id: int | None) -> dict[str, str]:
    clash = session.exec(
        select(Template).where(func.lower(Template.name) == spec.name.lower())
    ).first()
    if clash is not None and clash.id != template_id:
        return {"name": f"A template named {clash.name} already exists"}
    slug_clash = session.exec(select(Template).where(Template.slug == spec.slug)).first()
    if slug_clash is not None and slug_clash.id != template_id:
        return {"name": f"The template {slug_clash.name} already has the short name {spec.slug}"}
    return {}


def _missing_buckets(session: Session, names: Sequence[str]) -> dict[str, str]:
    if not names:
        return {}
    found = set(
        session.exec(select(PackageBucket.name).where(col(PackageBucket.name).in_(list(names))))
    )
    missing = [name for name in names if name not in found]
    if missing:
        return {"buckets": f"No package bucket is named {missing[0]}"}
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
