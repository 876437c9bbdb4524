"""Page handlers never do database work on the event loop (issue 15, item 4).

Each page's loading and row-action handlers run through Reflex's own event processor
(tests/support/reflex_events.py) against a real Redis and a real SQLite database. The
slow-callback guard (tests/support/slow_callbacks.py) fails a test in which a handler
takes a database connection on the loop's thread: the handlers await the node and
template services, which do that work in a thread. The assertions check that the data
still arrives.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from lxc_manager.db.migrate import upgrade_head
from lxc_manager.pages.container_detail.state import ContainerDetailState
from lxc_manager.pages.dashboard.state import DashboardState
from lxc_manager.pages.new_container.state import WizardState
from lxc_manager.pages.nodes.state import NodesState
from lxc_manager.pages.package_buckets.state import BucketsState
from lxc_manager.pages.template_editor.state import TemplateEditorState
from lxc_manager.pages.templates.state import TemplatesState
from lxc_manager.redis_client import async_client
from lxc_manager.security import sessions
from lxc_manager.security.actor import Actor
from lxc_manager.settings import get_settings
from lxc_manager.templates import service as templates
from lxc_manager.templates.spec import BucketSpec, PackageSpec, TemplateSpec
from tests.conftest import reset_app_caches
from tests.support.reflex_events import Tab, event_processor

ENDPOINT = "3f9c0a1e2b4d5c6f"
ALICE = Actor(f"alice@pve@{ENDPOINT}", is_admin=False)
MISSING = 987654


@pytest.fixture
async def session_id(app_settings: Path) -> str:
    reset_app_caches()
    await asyncio.to_thread(upgrade_head)
    client = async_client()
    await client.flushdb()
    return await sessions.create_session(
        client,
        get_settings(),
        username="alice@pve",
        endpoint_id=ENDPOINT,
        endpoint_label="pve:8006",
        is_admin=False,
    )


@pytest.fixture
async def open_tab(session_id: str) -> AsyncIterator[Callable[[str], Awaitable[Tab]]]:
    async with event_processor() as make:

        async def opened(path: str) -> Tab:
            tab = make(path, session_id)
            await tab.open()
            return tab

        yield opened


async def alices_template_and_bucket() -> tuple[int, int]:
    bucket = await templates.save_bucket(
        ALICE, None, BucketSpec("Tools", "", (PackageSpec("apt", "jq"),))
    )
    created = await templates.create_template(
        ALICE, TemplateSpec(name="Web app", os_template="debian-12-standard")
    )
    assert bucket.ok and bucket.id and created.ok and created.id, (bucket, created)
    return created.id, bucket.id


async def test_template_pages_load_and_act_off_the_loop(
    open_tab: Callable[[str], Awaitable[Tab]],
) -> None:
    template_id, bucket_id = await alices_template_and_bucket()

    tab = await open_tab("/templates")
    await tab.fire(TemplatesState.load)
    await tab.fire(TemplatesState.set_search, value="web")
    await tab.fire(TemplatesState.delete, template_id=MISSING)
    listed = await tab.state(TemplatesState)
    assert [r.name for r in listed.rows] == ["Web app"] and listed.action_error

    tab = await open_tab("/templates/packages")
    await tab.fire(BucketsState.load)
    await tab.fire(BucketsState.open_edit, bucket_id=bucket_id)
    buckets = await tab.state(BucketsState)
    assert [r.name for r in buckets.rows] == ["Tools"] and buckets.f_name == "Tools"

    tab = await open_tab(f"/templates/{template_id}")
    await tab.fire(TemplateEditorState.load)
    editor = await tab.state(TemplateEditorState)
    assert (editor.name, editor.bucket_names, editor.missing) == ("Web app", ["Tools"], False)

    tab = await open_tab(f"/containers/new?template={template_id}")
    await tab.fire(WizardState.load)
    await tab.fire(WizardState.choose_template, template_id=template_id)
    wizard = await tab.state(WizardState)
    assert [t.name for t in wizard.template_choices] == ["Web app"]
    assert wizard.bucket_names == ["Tools"] and wizard.loaded


async def test_node_pages_load_and_act_off_the_loop(
    open_tab: Callable[[str], Awaitable[Tab]],
) -> None:
    tab = await open_tab("/settings/nodes")
    await tab.fire(NodesState.load)
    await tab.fire(NodesState.open_edit, node_id=MISSING)
    await tab.fire(NodesState.make_default, node_id=MISSING)
    await tab.fire(NodesState.delete, node_id=MISSING)
    nodes = await tab.state(NodesState)
    assert nodes.loaded and nodes.nodes == [] and nodes.delete_error == "Node not found"

    tab = await open_tab("/")
    await tab.fire(DashboardState.load)
    await tab.fire(DashboardState.refresh, _now="t")
    dashboard = await tab.state(DashboardState)
    assert dashboard.loaded and dashboard.summary_loaded and dashboard.node_count == 0

    tab = await open_tab(f"/containers/{MISSING}/100")
    await tab.fire(ContainerDetailState.load)
    detail = await tab.state(ContainerDetailState)
    assert (detail.loaded, detail.problem) == (True, "Container not found")
    assert tab.redirects() == []
