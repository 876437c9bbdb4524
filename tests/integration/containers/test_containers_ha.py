"""Containers that are HA resources: start / shutdown answer `hastart` / `hastop` tasks that
only queue the request, so the service follows the container's status until HA has done it;
delete purges them (Proxmox refuses it otherwise); listing and detail say "managed by HA"."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator

import pytest
from ct_support import USER_A, sim_container

from lxc_manager.containers import delete_container, get_overview, list_containers, run_action
from lxc_manager.containers.lifecycle import ha_timeout_message
from lxc_manager.nodes import NodeView
from lxc_manager.security import audit
from tests.support.simulator import SimulatorInfo


@pytest.fixture
def make_ha(simulator: SimulatorInfo) -> Iterator[Callable[[int, str], None]]:
    """`make_ha(vmid, state)`: the container becomes an HA resource (removed afterwards)."""
    added: list[int] = []

    # HA resources need Sys.Console on /, which the tests' realistic token lacks
    root = (simulator.root_token_id, simulator.root_token_secret)

    def make(vmid: int, state: str) -> None:
        with simulator.client(*root) as api:
            answer = api.post("/cluster/ha/resources", data={"sid": f"ct:{vmid}", "state": state})
        assert answer.status_code == 200, answer.text
        added.append(vmid)

    yield make
    with simulator.client(*root) as api:
        for vmid in added:
            api.delete(f"/cluster/ha/resources/ct:{vmid}")


def _status(simulator: SimulatorInfo, vmid: int) -> str | None:
    found = sim_container(simulator, vmid)
    return None if found is None else str(found["status"])


async def test_start_and_shutdown_wait_until_ha_has_done_it(
    simulator: SimulatorInfo,
    lab: NodeView,
    own_ct: Callable[..., int],
    make_ha: Callable[[int, str], None],
) -> None:
    vmid = await asyncio.to_thread(own_ct)
    make_ha(vmid, "stopped")
    started = await run_action(USER_A, lab.id, "pve1", vmid, "start")
    assert (started.ok, started.message) == (True, "Started (through HA)"), started
    assert started.upid and started.upid.split(":")[5] == "hastart"
    assert started.task_log[0] == f"Requesting HA start for CT {vmid}"
    assert _status(simulator, vmid) == "running"  # HA's own start task has run by now

    row = next(r for r in (await list_containers(USER_A)).containers if r.vmid == vmid)
    assert row.ha and row.status == "running"
    assert (await get_overview(USER_A, lab.id, "pve1", vmid)).ha_managed

    stopped = await run_action(USER_A, lab.id, "pve1", vmid, "shutdown", shutdown_timeout=5)
    assert (stopped.ok, stopped.message) == (True, "Shut down (through HA)"), stopped
    assert _status(simulator, vmid) == "stopped"
    latest = audit.recent(1, user_id=USER_A)[0]
    assert (latest.action, latest.outcome) == ("container.shutdown", "ok")


async def test_ha_that_does_not_act_in_time_is_reported(
    simulator: SimulatorInfo,
    lab: NodeView,
    own_ct: Callable[..., int],
    make_ha: Callable[[int, str], None],
) -> None:
    vmid = await asyncio.to_thread(own_ct)
    make_ha(vmid, "stopped")
    result = await run_action(USER_A, lab.id, "pve1", vmid, "start", ha_timeout=0.3)
    assert not result.ok
    assert result.message == ha_timeout_message("running", 0.3)
    assert "after 0.3 s" in result.message and result.upid
    deadline = time.monotonic() + 15  # HA still does it later
    while _status(simulator, vmid) != "running":
        assert time.monotonic() < deadline
        time.sleep(0.2)


async def test_delete_of_an_ha_resource_purges_it(
    simulator: SimulatorInfo,
    lab: NodeView,
    own_ct: Callable[..., int],
    make_ha: Callable[[int, str], None],
) -> None:
    vmid = await asyncio.to_thread(own_ct, start=True)
    make_ha(vmid, "started")
    result = await delete_container(USER_A, lab.id, "pve1", vmid, stop_first=True)
    assert (result.ok, result.message) == (True, "Deleted (and removed from the HA resources)")
    assert f"NOTE: removed CT {vmid} from HA resource configuration." in result.task_log
    assert _status(simulator, vmid) is None
    with simulator.client() as api:
        sids = [r["sid"] for r in api.get("/cluster/ha/resources").json()["data"]]
    assert f"ct:{vmid}" not in sids
    latest = audit.recent(1, user_id=USER_A)[0]
    assert (latest.action, latest.outcome) == ("container.delete", "ok")
    assert latest.detail.startswith("purged; stopped first; ")
