"""Event handlers re-check the session; background loops stop when it ends; automatic
refreshes never keep it alive (issue 12 path 5, DESIGN §3.1 and §3.3).

The events run through Reflex's own event processor (tests/support/reflex_events.py)
against the real session functions in a real Redis and a real (SQLite) database: a tab
is a client token with a Cookie header, as the websocket would carry it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from lxc_manager.db.migrate import upgrade_head
from lxc_manager.pages.container_detail.state import ContainerDetailState
from lxc_manager.pages.dashboard.state import DashboardState
from lxc_manager.pages.job_progress.state import JobState
from lxc_manager.pages.new_container.state import WizardState
from lxc_manager.pages.nodes.state import NodesState
from lxc_manager.provisioning import progress
from lxc_manager.redis_client import async_client
from lxc_manager.security import sessions
from lxc_manager.settings import get_settings
from lxc_manager.templates import service as templates
from lxc_manager.templates.spec import ScriptSpec, TemplateSpec
from tests.conftest import reset_app_caches
from tests.support.reflex_events import Tab, event_processor

IDLE = 60  # LXCM_SESSION_IDLE_TIMEOUT of these tests
SECRET_SCRIPT = "curl -fsS https://internal.example/bootstrap?token=do-not-leak | bash\n"


class Clock:
    """The sessions module's clock, moved by the test (Redis TTLs stay real and long)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = time.time()
        monkeypatch.setattr(sessions, "time", SimpleNamespace(time=lambda: self.now))


@pytest.fixture
async def redis(app_settings: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Any]:
    monkeypatch.setenv("LXCM_SESSION_IDLE_TIMEOUT", str(IDLE))
    monkeypatch.setenv("LXCM_SESSION_LIFETIME", "7200")
    reset_app_caches()
    await asyncio.to_thread(upgrade_head)
    client = async_client()
    await client.flushdb()
    yield client


@pytest.fixture
async def new_tab() -> AsyncIterator[Callable[[str, str | None], Awaitable[Tab]]]:
    async with event_processor() as make:

        async def open_tab(path: str, session_id: str | None) -> Tab:
            tab = make(path, session_id)
            await tab.open()
            return tab

        yield open_tab


async def sign_in(redis: Any, user: str = "alice@pve") -> str:
    return await sessions.create_session(
        redis,
        get_settings(),
        username=user,
        endpoint_id="3f9c0a1e2b4d5c6f",
        endpoint_label="pve:8006",
        is_admin=False,
    )


async def last_seen(redis: Any, session_id: str) -> float | None:
    session = await sessions.get_session(redis, get_settings(), session_id, touch=False)
    return None if session is None else session.last_seen


async def a_template_with_a_secret_script() -> int:
    from lxc_manager.security.actor import Actor

    saved = await templates.create_template(
        Actor("bob@pve@3f9c0a1e2b4d5c6f", is_admin=False),
        TemplateSpec(name="Bob bootstrap", scripts=(ScriptSpec("10-boot.sh", SECRET_SCRIPT),)),
        templates.SHARED,  # usable by Alice: only the session decides in these tests
    )
    assert saved.ok and saved.id is not None, saved
    return saved.id


# -- unguarded handlers ----------------------------------------------------------------------


async def test_choose_template_without_a_session_puts_no_script_into_the_tab(
    redis: Any, new_tab: Callable[..., Awaitable[Tab]]
) -> None:
    """The attack of path 5: a tab with no session fires the wizard's `choose_template`
    by name; before the fix the template's scripts landed in the tab's state (and so in
    the browser)."""
    template_id = await a_template_with_a_secret_script()
    tab = await new_tab("/containers/new", None)

    await tab.fire(WizardState.choose_template, template_id=template_id)

    wizard = await tab.state(WizardState)
    assert wizard.scripts == [] and wizard.template_id == 0 and wizard.step == 0
    assert SECRET_SCRIPT not in repr(wizard.dict())
    assert tab.redirects() == ["/login?next=%2Fcontainers%2Fnew"]


async def test_choose_template_of_an_ended_session_is_refused_too(
    redis: Any, new_tab: Callable[..., Awaitable[Tab]]
) -> None:
    template_id = await a_template_with_a_secret_script()
    session_id = await sign_in(redis)
    tab = await new_tab("/containers/new", session_id)
    await sessions.delete_session(redis, session_id)  # signed out in another tab

    await tab.fire(WizardState.choose_template, template_id=template_id)

    assert (await tab.state(WizardState)).scripts == []
    assert tab.redirects() == ["/login?next=%2Fcontainers%2Fnew&ended=1"]


async def test_with_a_session_the_same_events_run(
    redis: Any, new_tab: Callable[..., Awaitable[Tab]]
) -> None:
    """The guard refuses only the unsigned: the control of the two tests above."""
    template_id = await a_template_with_a_secret_script()
    tab = await new_tab("/containers/new", await sign_in(redis))

    await tab.fire(WizardState.choose_template, template_id=template_id)

    wizard = await tab.state(WizardState)
    # With a session the choice is made; the script's content stays on the server until
    # the review step reads it there (the tab lists names only).
    assert wizard.template_id == template_id and [s.name for s in wizard.scripts] == ["10-boot.sh"]
    assert SECRET_SCRIPT not in str(wizard.dict())
    assert wizard._user_id == "alice@pve@3f9c0a1e2b4d5c6f" and tab.redirects() == []


# `setvar` calls the guarded (async) setter without awaiting it: nothing runs, Python warns.
@pytest.mark.filterwarnings("ignore:coroutine 'DashboardState.set_search' was never awaited")
async def test_filters_and_background_actions_need_a_session(
    redis: Any, new_tab: Callable[..., Awaitable[Tab]]
) -> None:
    tab = await new_tab("/", None)
    await tab.fire(DashboardState.set_search, value="db")
    await tab.fire(DashboardState.bulk, action="stop")  # a background handler
    # Reflex's built-in `setvar` calls the setter by name: it meets the guard too.
    await tab.fire(DashboardState.setvar, var_name="search", value="db")

    dashboard = await tab.state(DashboardState)
    assert dashboard.search == "" and dashboard.bulk_results == []
    assert tab.redirects() == ["/login?next=%2F"] * 2


# -- automatic refreshes and the idle timeout ------------------------------------------------


async def fire_automatic_refreshes(tab: Tab) -> None:
    await tab.fire(DashboardState.refresh, _now="t")
    await tab.fire(ContainerDetailState.tick, _now="t")
    await tab.fire(ContainerDetailState.follow_heartbeat, _now="t")
    await tab.fire(JobState.heartbeat, _now="t")


async def test_a_session_with_only_automatic_refreshes_ends_at_the_idle_timeout(
    redis: Any, new_tab: Callable[..., Awaitable[Tab]], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(monkeypatch)
    session_id = await sign_in(redis)
    started = await last_seen(redis, session_id)
    tab = await new_tab("/", session_id)

    assert started is not None
    for offset in (20, 40, 55):  # the page refreshes itself, nobody acts
        clock.now = started + offset
        await fire_automatic_refreshes(tab)
        assert tab.redirects() == []
        assert await last_seen(redis, session_id) == started  # not extended

    clock.now = started + IDLE + 1
    await tab.fire(DashboardState.refresh, _now="t")

    assert tab.redirects() == ["/login?next=%2F&ended=1"]
    assert await redis.exists(sessions._key(session_id)) == 0


async def test_a_users_action_extends_it(
    redis: Any, new_tab: Callable[..., Awaitable[Tab]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control: the same timeline with one click at 40 s keeps the session."""
    clock = Clock(monkeypatch)
    session_id = await sign_in(redis)
    tab = await new_tab("/", session_id)
    clock.now += 40
    await tab.fire(DashboardState.set_sort, value="name")  # a user's action
    assert await last_seen(redis, session_id) == clock.now
    clock.now += IDLE - 5  # 95 s after sign-in, 55 s after the click

    await fire_automatic_refreshes(tab)

    assert tab.redirects() == []


# -- background loops ------------------------------------------------------------------------


async def following_job(tab: Tab, job_id: str) -> Any:
    """Start the progress page's follow loop as `load` would, and wait until it runs."""

    def on_the_job(state: JobState) -> None:
        state.job_id, state.found = job_id, True

    await tab.edit(JobState, on_the_job)
    loop = await tab.fire(JobState.follow, wait=False)
    await progress.append(job_id, "line", stream="stdout", text="hello from the job", step=5)
    deadline = time.monotonic() + 10
    while not any(line.text == "hello from the job" for line in (await tab.state(JobState)).log):
        assert time.monotonic() < deadline, "the follow loop did not start"
        await asyncio.sleep(0.1)
    assert (await tab.state(JobState)).following
    return loop


async def test_the_job_follow_loop_stops_after_logout(
    redis: Any, new_tab: Callable[..., Awaitable[Tab]]
) -> None:
    session_id = await sign_in(redis)
    tab = await new_tab("/containers/jobs/job-one", session_id)
    loop = await following_job(tab, "job-one")

    await sessions.delete_session(redis, session_id)  # the logout route

    # One tick (FOLLOW_BLOCK_MS = 2 s), well before the page-gone timeout (10 s).
    await asyncio.wait_for(loop.wait_all(), timeout=5)
    assert not (await tab.state(JobState)).following
    assert tab.redirects() == ["/login?next=%2Fcontainers%2Fjobs%2Fjob-one&ended=1"]


async def test_the_job_follow_loop_never_extends_the_session_and_ends_with_it(
    redis: Any, new_tab: Callable[..., Awaitable[Tab]], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(monkeypatch)
    session_id = await sign_in(redis)
    started = await last_seen(redis, session_id)
    tab = await new_tab("/containers/jobs/job-two", session_id)
    loop = await following_job(tab, "job-two")

    clock.now += IDLE - 10
    await progress.append("job-two", "line", stream="stdout", text="still going", step=5)
    await asyncio.sleep(2.5)  # at least one tick of the loop
    assert not loop.done()
    assert await last_seen(redis, session_id) == started

    clock.now += 20  # past the idle timeout: only the loop and heartbeats ran
    await asyncio.wait_for(loop.wait_all(), timeout=5)

    assert await redis.exists(sessions._key(session_id)) == 0
    assert tab.redirects() == ["/login?next=%2Fcontainers%2Fjobs%2Fjob-two&ended=1"]


async def test_saving_a_node_sends_none_of_its_secrets_back_to_the_browser(
    redis: Any, new_tab: Callable[..., Awaitable[Tab]]
) -> None:
    """The node dialog's token secret and SSH secret go from the browser to `save` only:
    no update the tab receives (state deltas, frontend events) carries them, and they
    are not in the tab's state (which Reflex stores in Redis)."""
    tab = await new_tab("/settings/nodes", await sign_in(redis))
    token_secret, ssh_secret = "tok-3c1f9e-do-not-echo", "ssh-77a0b2-do-not-echo"
    form = {
        "name": "unreachable",
        "host": "127.0.0.1",
        "port": "1",
        "token_id": "root@pam!ci",
        "token_secret": token_secret,
        "ssh_user": "root",
        "ssh_port": "22",
        "ssh_secret": ssh_secret,
    }
    await tab.fire(NodesState.save, form=form)
    for _ in range(100):  # the background save ends with the connection refused
        if not (await tab.state(NodesState)).saving:
            break
        await asyncio.sleep(0.1)
    nodes = await tab.state(NodesState)
    assert not nodes.saving and (nodes.form_error or nodes.field_errors), nodes.dict()
    sent = repr(tab.recorder.updates.get(tab.token, []))
    assert sent and token_secret not in sent and ssh_secret not in sent
    assert token_secret not in repr(nodes.dict()) and ssh_secret not in repr(nodes.dict())
