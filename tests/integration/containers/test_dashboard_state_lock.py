"""The dashboard fetches its nodes outside the tab's state lock (issue 15, item 4).

Reflex runs a tab's events one at a time under the tab's state lock; a handler that
awaits every node while holding it makes each click of that tab wait for the slowest
node. The dashboard's load and refresh are background events that take the lock only to
read who is signed in and to show what came back. Events run through Reflex's own event
processor (tests/support/reflex_events.py) against the simulator with a slow API.
"""

from __future__ import annotations

import asyncio
import time

from ct_support import USER_A

from lxc_manager.nodes import NodeView
from lxc_manager.pages.dashboard.state import DashboardState
from lxc_manager.redis_client import async_client
from lxc_manager.security import sessions
from lxc_manager.settings import get_settings
from tests.support.reflex_events import event_processor
from tests.support.simulator import SimulatorInfo

LATENCY_MS = 800


async def test_a_click_does_not_wait_for_a_slow_listing(
    reset_faults: SimulatorInfo, lab: NodeView
) -> None:
    username, _, endpoint_id = USER_A.rpartition("@")
    session_id = await sessions.create_session(
        async_client(),
        get_settings(),
        username=username,
        endpoint_id=endpoint_id,
        endpoint_label="lab",
        is_admin=False,
    )
    await asyncio.to_thread(
        reset_faults.admin_call, "POST", "/_sim/faults", {"latency_ms": LATENCY_MS}
    )
    async with event_processor() as make:
        tab = make("/", session_id)
        await tab.open()
        started = time.monotonic()
        loading = await tab.fire(DashboardState.load, wait=False)
        await asyncio.sleep(0.2)  # the load is waiting for the node now

        await tab.fire(DashboardState.set_sort, value="vmid")
        clicked = time.monotonic() - started

        await loading.wait_all()
        loaded = time.monotonic() - started
        dashboard = await tab.state(DashboardState)

    assert clicked < LATENCY_MS / 1000 < loaded, (clicked, loaded)
    assert dashboard.loaded and dashboard.sort == "vmid" and dashboard.rows
    assert dashboard.node_count == 1 and dashboard.problems == []
