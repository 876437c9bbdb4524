"""Template and bucket CRUD against a real database: validation failures change nothing."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from sqlmodel import select

from lxc_manager.db.engine import session_scope
from lxc_manager.db.migrate import upgrade_head
from lxc_manager.db.models import Package, Template, TemplateFile, TemplateScript
from lxc_manager.security import audit
from lxc_manager.security.actor import Actor
from lxc_manager.templates import service
from lxc_manager.templates.spec import (
    BucketSpec,
    Features,
    FileSpec,
    PackageSpec,
    Resources,
    ScriptSpec,
    TemplateSpec,
)

USER = "root@pam@1"
OTHER = "alice@pve@1"
ME = Actor(USER, is_admin=False)
ALICE = Actor(OTHER, is_admin=False)
ADMIN = Actor(USER, is_admin=True)
ALICE_ADMIN = Actor(OTHER, is_admin=True)

pytestmark = pytest.mark.usefixtures("app_settings")


@pytest.fixture(autouse=True)
def _db(app_settings: Path) -> None:
    upgrade_head()


def web_spec(name: str = "Web app") -> TemplateSpec:
    return TemplateSpec(
        name=name,
        description="nginx in front of a Python app",
        tags=("web", "python"),
        os_template="debian-12-standard",
        resources=Resources(cores=2, memory_mb=1024, swap_mb=256, disk_gb=10),
        features=Features(nesting=True),
        scripts=(
            ScriptSpec("10-base.sh", "log_info base\n"),
            ScriptSpec("20-app.sh", "log_info app\n", enabled=False),
        ),
        files=(FileSpec("motd", "/etc/motd", "hello\n", "default", "0644"),),
        packages=(PackageSpec("apt", "nginx"), PackageSpec("pip", "gunicorn", "22.0.0")),
    )


def table_counts() -> tuple[int, int, int, int]:
    with session_scope() as session:
        return (
            len(session.exec(select(Template)).all()),
            len(session.exec(select(TemplateScript)).all()),
            len(session.exec(select(TemplateFile)).all()),
            len(session.exec(select(Package)).all()),
        )


async def test_create_then_read_back_everything_in_order() -> None:
    result = await service.create_template(ME, web_spec())
    assert result.ok, result.errors
    assert result.id is not None
    stored = await service.get_template(ME, result.id)
    assert stored is not None
    spec = stored.spec
    assert spec.slug == "web-app" and spec.source == "custom" and not stored.read_only
    assert [s.name for s in spec.scripts] == ["10-base.sh", "20-app.sh"]
    assert spec.scripts[1].enabled is False
    assert spec.files[0].policy == "default"
    assert [p.install_spec() for p in spec.packages] == ["nginx", "gunicorn==22.0.0"]
    assert replace(spec, slug="", source="custom") == replace(web_spec(), slug="")
    assert [e.action for e in audit.recent(user_id=USER)] == ["template.create"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": ""}, "name"),
        ({"scripts": (ScriptSpec("bad name!", "x"),)}, "scripts.0.name"),
        ({"files": (FileSpec("f", "etc/relative", "x"),)}, "files.0.target_path"),
        ({"files": (FileSpec("f", "/etc/../shadow", "x"),)}, "files.0.target_path"),
        ({"packages": (PackageSpec("apt", "Nginx!"),)}, "packages.0.name"),
        (
            {"packages": (PackageSpec("npm", "@scope/ok"), PackageSpec("npm", "@scope/ok"))},
            "packages.1.name",
        ),
        ({"resources": Resources(cores=0)}, "resources.cores"),
        ({"scripts": (ScriptSpec("big.sh", "x" * (256 * 1024 + 1)),)}, "scripts.0.content"),
        ({"buckets": ("no-such-bucket",)}, "buckets"),
    ],
)
async def test_invalid_templates_are_refused_and_change_nothing(change: dict, field: str) -> None:
    assert (await service.create_template(ME, web_spec("Keep me"))).ok
    before = table_counts()
    result = await service.create_template(ME, replace(web_spec("Other"), **change))
    assert not result.ok and field in result.errors, result.errors
    assert table_counts() == before
    stored_id = (await service.list_templates(ME))[0].id
    update = await service.update_template(ME, stored_id, replace(web_spec("Keep me"), **change))
    assert field in update.errors
    stored = await service.get_template(ME, stored_id)
    assert stored is not None and stored.spec.scripts == web_spec().scripts


async def test_duplicate_names_are_refused_case_insensitively() -> None:
    assert (await service.create_template(ME, web_spec("Web app"), "shared")).ok
    result = await service.create_template(ALICE, web_spec("WEB APP"))
    assert result.errors == {"name": "A template named Web app already exists"}
    # A private template's name is taken too, but the refusal does not show it.
    assert (await service.create_template(ME, web_spec("Secret plan"))).ok
    hidden = await service.create_template(ALICE, web_spec("SECRET PLAN"))
    assert hidden.errors == {"name": service.MSG_NAME_TAKEN}


async def test_update_replaces_children_and_detects_concurrent_edits() -> None:
    created = await service.create_template(ME, web_spec(), "shared")
    assert created.id is not None
    stored = await service.get_template(ME, created.id)
    assert stored is not None
    new_spec = replace(
        web_spec(),
        scripts=(ScriptSpec("05-first.sh", "true\n"),),
        packages=(PackageSpec("custom", "rustup", command="curl -fsS https://sh.rustup.rs | sh"),),
    )
    # an administrator may change a shared template of someone else
    assert (await service.update_template(ALICE_ADMIN, created.id, new_spec, stored.version)).ok
    again = await service.get_template(ME, created.id)
    assert again is not None
    assert [s.name for s in again.spec.scripts] == ["05-first.sh"]
    assert again.spec.packages[0].command.startswith("curl")
    assert again.updated_by == OTHER
    stale = await service.update_template(ME, created.id, web_spec(), stored.version)
    assert stale.errors == {"template": service.MSG_CHANGED}
    assert table_counts() == (1, 1, 1, 1)


async def test_duplicate_makes_an_editable_copy_with_a_free_name() -> None:
    created = await service.create_template(ME, web_spec(), "shared")
    assert created.id is not None
    first = await service.duplicate_template(ALICE, created.id)
    second = await service.duplicate_template(ALICE, created.id)
    assert first.ok and second.ok
    names = [t.name for t in await service.list_templates(ALICE)]
    assert sorted(names) == ["Web app", "Web app (copy 2)", "Web app (copy)"]
    assert [t.name for t in await service.list_templates(ME)] == ["Web app"]
    assert first.id is not None
    copy = await service.get_template(ALICE, first.id)
    assert copy is not None and copy.spec.scripts == web_spec().scripts
    # a private copy owned by the one who duplicated it
    assert (copy.owner, copy.visibility, copy.read_only) == (OTHER, "private", False)
    assert await service.get_template(ME, first.id) is None
    assert "template.duplicate" in [e.action for e in audit.recent(user_id=OTHER)]


async def test_delete_cascades_to_children() -> None:
    created = await service.create_template(ME, web_spec())
    assert created.id is not None
    assert await service.delete_template(ME, created.id) is None
    assert table_counts() == (0, 0, 0, 0)
    assert await service.delete_template(ME, created.id) == service.MSG_NOT_FOUND


async def test_search_and_tag_filter() -> None:
    assert (await service.create_template(ME, web_spec("Web app"))).ok
    assert (
        await service.create_template(
            ME, replace(web_spec("Docker"), tags=("docker",), description="engine")
        )
    ).ok
    assert [t.name for t in await service.list_templates(ME, search="ENGINE")] == ["Docker"]
    assert [t.name for t in await service.list_templates(ME, tag="python")] == ["Web app"]
    assert [t.name for t in await service.list_templates(ME, search="dock", tag="python")] == []
    assert await service.all_tags(ME) == ["docker", "python", "web"]
    summary = (await service.list_templates(ME, search="web"))[0]
    assert (summary.scripts, summary.files, summary.packages) == (2, 1, 2)


async def test_buckets_crud_references_and_resolution() -> None:
    tools = BucketSpec(
        "Base tools", "every box", (PackageSpec("apt", "curl"), PackageSpec("apt", "htop"))
    )
    saved = await service.save_bucket(ME, None, tools)
    assert saved.ok and saved.id is not None
    clash = await service.save_bucket(ME, None, replace(tools, name="base TOOLS"))
    assert clash.errors == {"name": "A bucket named Base tools already exists"}
    bad = await service.save_bucket(
        ME, saved.id, replace(tools, packages=(PackageSpec("pip", "bad name"),))
    )
    assert "packages.0.name" in bad.errors
    bucket = await service.get_bucket(ME, saved.id)
    assert bucket is not None and [p.name for p in bucket.packages] == ["curl", "htop"]

    spec = replace(
        web_spec(),
        packages=(PackageSpec("apt", "curl"), PackageSpec("apt", "nginx")),
        buckets=("Base tools",),
    )
    created = await service.create_template(ME, spec)
    assert created.ok and created.id is not None
    stored = await service.get_template(ME, created.id)
    assert stored is not None and stored.spec.buckets == ("Base tools",)
    resolved = service.resolve_packages(ME, stored.spec)
    assert [p.name for p in resolved] == ["curl", "nginx", "htop"]
    assert (await service.list_buckets(ME))[0].used_by == ("Web app",)
    message = await service.delete_bucket(ME, saved.id)
    assert message is not None and "Web app" in message
    assert await service.delete_template(ME, created.id) is None
    assert await service.delete_bucket(ME, saved.id) is None
    assert await service.list_buckets(ME) == []
    actions = [e.action for e in audit.recent(user_id=USER)]
    assert {"bucket.create", "bucket.delete"} <= set(actions)


def write_template(root: Path, slug: str, name: str, extra: str = "") -> None:
    folder = root / slug
    (folder / "scripts").mkdir(parents=True)
    (folder / "template.toml").write_text(
        f'name = "{name}"\nos_template = "debian-12-standard"\n{extra}', encoding="utf-8"
    )
    (folder / "scripts" / "10-hello.sh").write_text('log_info "hello"\n', encoding="utf-8")


async def test_sync_catalog_upserts_reports_and_removes(tmp_path: Path) -> None:
    root = tmp_path / "catalog"
    write_template(root, "alpha", "Alpha")
    write_template(root, "beta", "Beta")
    write_template(root, "broken", "Broken", 'descripton = "typo"\n')
    report = await service.sync_catalog(ADMIN, root)
    assert sorted(report.added) == ["Alpha", "Beta"]
    assert len(report.errors) == 1 and report.errors[0].startswith("broken/template.toml:3:")
    alpha = next(t for t in await service.list_templates(ME) if t.name == "Alpha")
    assert alpha.source == "filesystem"
    stored = await service.get_template(ME, alpha.id)
    assert stored is not None and stored.read_only
    assert (await service.update_template(ME, alpha.id, stored.spec)).errors == {
        "template": service.MSG_READ_ONLY
    }
    assert await service.delete_template(ME, alpha.id) is not None

    # Unchanged templates are left alone; a changed one is updated, a vanished one removed.
    assert (await service.sync_catalog(ADMIN, root)).added == ()
    (root / "alpha" / "scripts" / "20-more.sh").write_text("true\n", encoding="utf-8")
    shutil.rmtree(root / "beta")
    report = await service.sync_catalog(ALICE_ADMIN, root)
    assert (report.added, report.updated, report.removed) == ((), ("Alpha",), ("Beta",))
    stored = await service.get_template(ME, alpha.id)
    assert stored is not None and [s.name for s in stored.spec.scripts] == [
        "10-hello.sh",
        "20-more.sh",
    ]
    # A custom template holding the slug wins: the catalog one is reported, not overwritten.
    assert (await service.create_template(ME, replace(web_spec("Gamma"), slug="gamma"))).ok
    write_template(root, "gamma", "Gamma from disk")
    report = await service.sync_catalog(ADMIN, root)
    assert any(e.startswith("gamma:") for e in report.errors)
    assert {t.source for t in await service.list_templates(ME) if t.slug == "gamma"} == {"custom"}
    assert "template.sync" in [e.action for e in audit.recent(user_id=OTHER)]


async def test_shipped_catalog_syncs_cleanly() -> None:
    report = await service.sync_catalog(ADMIN)
    assert report.errors == () and len(report.added) >= 3
    for summary in await service.list_templates(ME):
        stored = await service.get_template(ME, summary.id)
        assert stored is not None and stored.spec.scripts
