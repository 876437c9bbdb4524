"""Who may see and change templates and package buckets (DESIGN §3.3).

Catalog templates are seen by everyone and changed by nobody; a shared template or bucket
is seen by everyone and changed by its owner or an administrator; a private one is seen
and changed by its owner only. Refusals are logged, not audited.
"""

from __future__ import annotations

import logging

from sqlalchemy import ColumnElement, func
from sqlmodel import Session, col, or_, select

from lxc_manager.db.models import PackageBucket, Template
from lxc_manager.security.actor import Actor

from .spec import VISIBILITIES
from .views import MSG_BAD_VISIBILITY, SHARED

# Refusals are logged under the name they have always had.
log = logging.getLogger("lxc_manager.templates.service")


def visible_templates(actor: Actor) -> ColumnElement[bool]:
    return or_(
        col(Template.source) == "filesystem",
        col(Template.visibility) == SHARED,
        col(Template.owner) == actor.user_id,
    )


def visible_buckets(actor: Actor) -> ColumnElement[bool]:
    return or_(col(PackageBucket.visibility) == SHARED, col(PackageBucket.owner) == actor.user_id)


def sees_template(actor: Actor, row: Template) -> bool:
    return row.source == "filesystem" or row.visibility == SHARED or row.owner == actor.user_id


def sees_bucket(actor: Actor, row: PackageBucket) -> bool:
    return row.visibility == SHARED or row.owner == actor.user_id


def may_change(actor: Actor, row: Template | PackageBucket) -> bool:
    """The owner, or an administrator when it is shared; nobody changes catalog templates."""
    if isinstance(row, Template) and row.source == "filesystem":
        return False
    return row.owner == actor.user_id or (row.visibility == SHARED and actor.is_admin)


def refuse(actor: Actor, action: str, target: str) -> None:
    # Logged, not audited: a refusal changes nothing, and one audit row per refused event
    # would let anyone flood the audit trail.
    log.warning("refused %s of %s to %s", action, target, actor.user_id)


def count_owned(session: Session, model: type[Template] | type[PackageBucket], owner: str) -> int:
    query = select(func.count()).select_from(model).where(col(model.owner) == owner)
    return int(session.exec(query).one())


def visibility_error(visibility: str) -> dict[str, str]:
    return {} if visibility in VISIBILITIES else {"visibility": MSG_BAD_VISIBILITY}
