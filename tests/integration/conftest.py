"""Fixtures for integration tests: the Proxmox VE simulator (see tests/support/simulator.py).

`simulator` (session scope) starts `python -m lxc_manager_simulator` on free ports with
known users, tokens and a TOTP user and returns a `SimulatorInfo`. Tests that change
faults or the clock use `reset_faults`; `start_sim` starts extra simulators.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from lxc_manager.embedded_redis import EmbeddedRedis
from lxc_manager.process import stop_children
from tests.support.simulator import (
    FIXED_RECOVERY_KEY,
    SCHEMA_PATH,
    SimProcess,
    SimulatorInfo,
    simulator_session,
    start_simulator,
)

__all__ = ["FIXED_RECOVERY_KEY"]


@pytest.fixture(scope="session")
def simulator(request: pytest.FixtureRequest) -> Iterator[SimulatorInfo]:
    """The shared simulator; a folder that runs on several Proxmox VE releases
    parametrises it with `--pve-version` values (`parametrize_pve_versions`)."""
    version = getattr(request, "param", None)
    yield from simulator_session(["--pve-version", version] if version else [])


@pytest.fixture
def start_sim() -> Iterator[Any]:
    """Start extra simulators (`start_sim([args...]) -> SimProcess`); all stopped afterwards."""
    started: list[SimProcess] = []

    def start(args: list[str]) -> SimProcess:
        sim = start_simulator(args)
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


@pytest.fixture
def official_schema_path() -> Path:
    """The official API schema beside the clone; skips (fails under CI=true) without it."""
    if SCHEMA_PATH.exists():
        return SCHEMA_PATH
    if os.environ.get("CI") == "true":
        pytest.fail(f"the official API schema is missing: {SCHEMA_PATH}")
    pytest.skip(f"the official API schema is not beside the clone ({SCHEMA_PATH})")


@pytest.fixture
def reset_faults(simulator: SimulatorInfo) -> Iterator[SimulatorInfo]:
    """For tests that flip faults or move the clock: restores everything afterwards."""
    simulator.reset()
    yield simulator
    simulator.reset()


@pytest.fixture
def api(simulator: SimulatorInfo) -> Iterator[httpx.Client]:
    """An httpx client authenticated with the tests' main API token (privilege-separated,
    the roles a home-lab admin grants: see tests/support/simulator.py HOMELAB_ROLES)."""
    with simulator.client() as client:
        yield client


@pytest.fixture
def root_api(simulator: SimulatorInfo) -> Iterator[httpx.Client]:
    """An httpx client with root@pam's token without privilege separation: every privilege,
    but still not the user root@pam itself (root-only options are refused to it too)."""
    with simulator.client(simulator.root_token_id, simulator.root_token_secret) as client:
        yield client


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """A Redis server of the test's own (not the shared one), stopped after it."""
    server = EmbeddedRedis(tmp_path / "redis")
    server.start()
    yield server
    stop_children([server.child], timeout=5)
