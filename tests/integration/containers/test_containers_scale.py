"""Listing is complete and correct with many endpoints and containers (20 endpoints x 250)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from ct_support import SIM_TOKEN_ID, USER_A, add_node, ready_input

from lxc_manager.containers import list_containers
from lxc_manager.settings import get_settings
from tests.support.simulator import SimProcess

ENDPOINTS, CONTAINERS = 20, 250


async def test_twenty_endpoints_of_250_containers(
    ct_db: Path, start_sim: Callable[[list[str]], SimProcess], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LXCM_NODE_CHECKS_PER_MINUTE", str(ENDPOINTS))  # one test per node
    get_settings.cache_clear()
    secret = str(uuid.uuid4())
    sim = await asyncio.to_thread(start_sim, [
            "--port", "0", "--ssh-port", "0", "--endpoints", str(ENDPOINTS), "--nodes", "2",
            "--containers", str(CONTAINERS), "--vms", "2", "--seed", "11",
            "--log-level", "WARNING", "--token", f"{SIM_TOKEN_ID}:{secret}",
        ])  # fmt: skip
    for index, endpoint in enumerate(sim.ready["endpoints"]):
        await add_node(USER_A, ready_input(endpoint, secret, f"ep-{index:02d}"))

    listing = await list_containers(USER_A)  # timing: benchmarks/bench_dashboard_listing.py
    assert listing.problems == ()
    assert len(listing.containers) == ENDPOINTS * CONTAINERS
    assert len({r.key for r in listing.containers}) == ENDPOINTS * CONTAINERS
    assert [r.node_name for r in listing.containers[::CONTAINERS]] == [
        f"ep-{i:02d}" for i in range(ENDPOINTS)
    ]
