"""Package buckets in the database: list, read, save and delete (the sync cores).

A bucket is a named list of packages that templates refer to by name; the privacy rules
keep a shared template from ever using a private bucket (see `service`).
"""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from lxc_manager.db.engine import session_scope
from lxc_manager.db.models import Package, PackageBucket, Template, TemplateBucket, utcnow
from lxc_manager.security import audit
from lxc_manager.security.actor import Actor
from lxc_manager.settings import get_settings

from .access import (
    count_owned,
    may_change,
    refuse,
    sees_bucket,
    sees_template,
    visibility_error,
    visible_buckets,
)
from .rows import bucket_packages, package_row
from .spec import BucketSpec, Visibility, validate_bucket
from .views import (
    MSG_BUCKET_LIMIT,
    MSG_BUCKET_NOT_FOUND,
    MSG_BUCKET_NOT_YOURS,
    MSG_NAME_TAKEN,
    MSG_VISIBILITY_OWNER,
    PRIVATE,
    SHARED,
    BucketSummary,
    SaveResult,
    owner_name,
)


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
    seen = sorted(t.name for t in users if sees_template(actor, t))
    return BucketSummary(
        id=row.id,
        name=row.name,
        description=row.description,
        packages=bucket_packages(session, row.id),
        used_by=tuple(seen),
        owner=row.owner,
        visibility=row.visibility,
        can_edit=may_change(actor, row),
        mine=row.owner == actor.user_id,
        used_by_others=len(users) - len(seen),
    )


def list_buckets_sync(actor: Actor) -> list[BucketSummary]:
    """The buckets the actor may use (their own and shared ones), by name."""
    with session_scope() as session:
        rows = session.exec(
            select(PackageBucket)
            .where(visible_buckets(actor))
            .order_by(func.lower(PackageBucket.name))
        ).all()
        users = _bucket_users(session)
        return [_bucket_summary(session, actor, row, users.get(row.id or 0, [])) for row in rows]


def get_bucket_sync(actor: Actor, bucket_id: int) -> BucketSummary | None:
    """The bucket, or None when it does not exist or the actor may not see it."""
    with session_scope() as session:
        row = session.get(PackageBucket, bucket_id)
        if row is None or not sees_bucket(actor, row):
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
    errors = validate_bucket(spec) | visibility_error(visibility or PRIVATE)
    if errors:
        return SaveResult(errors=errors)
    try:
        with session_scope() as session:
            if bucket_id is None:
                limit = get_settings().max_templates_per_user
                if (count := count_owned(session, PackageBucket, actor.user_id)) >= limit:
                    return SaveResult(errors={"bucket": MSG_BUCKET_LIMIT.format(count=count)})
                row = PackageBucket(
                    name=spec.name,
                    owner=actor.user_id,
                    visibility=visibility or PRIVATE,
                    created_by=actor.user_id,
                )
            else:
                found = session.get(PackageBucket, bucket_id)
                if found is None or not sees_bucket(actor, found):
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
                    if sees_bucket(actor, clash)
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
                session.add(package_row(pkg, position, bucket_id=row.id))
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
    if not may_change(actor, row):
        refuse(actor, "bucket.update", f"bucket:{row.id}")
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
        if row is None or not sees_bucket(actor, row):
            return MSG_BUCKET_NOT_FOUND
        if not may_change(actor, row):
            refuse(actor, "bucket.delete", f"bucket:{bucket_id}")
            return MSG_BUCKET_NOT_YOURS.format(owner=owner_name(row.owner))
        users = _bucket_users(session).get(bucket_id, [])
        if users:
            return f"{row.name} is used by {_users_text(actor, users)}: remove it from those templates first"
        name = row.name
        session.delete(row)
    audit.record("bucket.delete", user_id=actor.user_id, target=f"bucket:{bucket_id}", detail=name)
    return None


def _users_text(actor: Actor, users: list[Template]) -> str:
    seen = sorted(t.name for t in users if sees_template(actor, t))
    hidden = len(users) - len(seen)
    if hidden:
        seen.append(f"{hidden} template(s) of other users")
    return ", ".join(seen)
