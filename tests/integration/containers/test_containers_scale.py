"""Listing stays quick with many endpoints and containers (the issue: 20 endpoints x 250)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path

from ct_support import SIM_TOKEN_ID, USER_A, add_node, ready_input

from lxc_manager.containers import list_containers
from tests.support.simulator import SimProcess

ENDPOINTS, CONTAINERS = 20, 250


async def test_twenty_endpoints_of_250_containers(
    ct_db: Path, start_sim: Callable[[list[str]], SimProcess]
) -> None:
    secret = str(uuid.uuid4())
    sim = start_sim(
        [
            "--port", "0", "--ssh-port", "0", "--endpoints", str(ENDPOINTS), "--nodes", "2",
            "--containers", str(CONTAINERS), "--vms", "2", "--seed", "11",
            "--log-level", "WARNING", "--token", f"{SIM_TOKEN_ID}:{secret}",
        ]
    )  # fmt: skip
    for index, endpoint in enumerate(sim.ready["endpoints"]):
        await add_node(USER_A, ready_input(endpoint, secret, f"ep-{index:02d}"))

    started = time.monotonic()
    listing = await list_containers(USER_A)
    elapsed = time.monotonic() - started
    assert listing.problems == ()
    assert len(listing.containers) == ENDPOINTS * CONTAINERS
    assert len({r.key for r in listing.containers}) == ENDPOINTS * CONTAINERS
    assert [r.node_name for r in listing.containers[::CONTAINERS]] == [
        f"ep-{i:02d}" for i in range(ENDPOINTS)
    ]
    assert elapsed < 3.0, elapsed
