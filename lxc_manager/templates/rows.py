"""Template and bucket rows <-> `TemplateSpec` / `PackageSpec`, and the checks a save needs.

Reading a template's rows into a spec, writing a spec into the rows (in the caller's
transaction), name and slug conflicts, bucket references, and free names for copies.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import func
from sqlmodel import Session, col, select

from lxc_manager.db.models import (
    Package,
    PackageBucket,
    Template,
    TemplateBucket,
    TemplateFile,
    TemplateScript,
    utcnow,
)
from lxc_manager.security.actor import Actor

from .access import may_change, sees_template
from .spec import NAME_MAX, Features, FileSpec, PackageSpec, Resources, ScriptSpec, TemplateSpec
from .views import MSG_NAME_TAKEN, SHARED, StoredTemplate


def tags_of(value: str) -> tuple[str, ...]:
    try:
        data = json.loads(value or "[]")
    except ValueError:
        return ()
    return tuple(str(t) for t in data) if isinstance(data, list) else ()


def version_of(row: Template) -> str:
    return row.updated_at.isoformat() if row.updated_at else ""


def child_counts(session: Session) -> dict[int, tuple[int, int, int]]:
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


def bucket_packages(session: Session, bucket_id: int) -> tuple[PackageSpec, ...]:
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


def package_row(
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


def spec_of(session: Session, row: Template) -> TemplateSpec:
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
        tags=tags_of(row.tags),
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


def stored_template(session: Session, row: Template, actor: Actor) -> StoredTemplate:
    assert row.id is not None
    return StoredTemplate(
        id=row.id,
        spec=spec_of(session, row),
        version=version_of(row),
        updated_by=row.updated_by,
        updated_at=row.updated_at,
        owner=row.owner,
        visibility=row.visibility,
        can_edit=may_change(actor, row),
    )


def apply_spec(session: Session, row: Template, spec: TemplateSpec) -> None:
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
        session.add(package_row(pkg, position, template_id=template_id))
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


def name_conflicts(
    session: Session, actor: Actor, spec: TemplateSpec, template_id: int | None
) -> dict[str, str]:
    """A name or slug already used by another template (named only when the actor may see
    that template)."""
    clash = session.exec(
        select(Template).where(func.lower(Template.name) == spec.name.lower())
    ).first()
    if clash is not None and clash.id != template_id:
        if not sees_template(actor, clash):
            return {"name": MSG_NAME_TAKEN}
        return {"name": f"A template named {clash.name} already exists"}
    slug_clash = session.exec(select(Template).where(Template.slug == spec.slug)).first()
    if slug_clash is not None and slug_clash.id != template_id:
        if not sees_template(actor, slug_clash):
            return {"name": f"The short name {spec.slug} is already taken: choose another name"}
        return {"name": f"The template {slug_clash.name} already has the short name {spec.slug}"}
    return {}


def bucket_problems(
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


def free_name(name: str, taken_lower: set[str]) -> str:
    for n in range(1, 1000):
        suffix = " (copy)" if n == 1 else f" (copy {n})"
        candidate = name[: NAME_MAX - len(suffix)] + suffix
        if candidate.lower() not in taken_lower:
            return candidate
    raise RuntimeError("no free name")  # pragma: no cover - 1,000 copies of one template


def free_slug(slug: str, taken: set[str]) -> str:
    candidate = slug
    n = 2
    while candidate in taken:
        suffix = f"-{n}"
        candidate = slug[: 64 - len(suffix)] + suffix
        n += 1
    return candidate


def slug_of_error(path: str) -> str:
    """The template directory an error belongs to (its first path component)."""
    return Path(path).parts[0].lower() if path and Path(path).parts else ""
