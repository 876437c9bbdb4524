"""The real-container suite: the simulator with `--containers-backend real`, so containers
created from the Debian 12 template are real LXC containers (see
simulator/lxc_manager_simulator/real/). It needs root, lxc and debootstrap; where the machine cannot
run LXC the suite is skipped with the reason (under CI=true it fails instead: CI can).

The rootfs cache is built once per machine (minutes, printed); the provisioning fixtures
are those of tests/integration/provisioning (imported below).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lxc_manager_simulator.real.backend import leftovers, lxc_unavailable_reason
from lxc_manager_simulator.real.rootfs import RECIPES, ensure, shifted
from tests.support.simulator import SimulatorInfo, simulator_session

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration" / "provisioning"))

from tests.integration.provisioning.conftest import new_vmid, prov_db, sshnode

__all__ = ["new_vmid", "prov_db", "sshnode"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = lxc_unavailable_reason()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        raise pytest.UsageError(f"the real-container suite cannot run under CI: {reason}")
    skip = pytest.mark.skip(reason=f"real containers cannot run on this machine: {reason}")
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def rootfs_cache() -> Path:
    started = time.monotonic()
    cached = ensure(RECIPES["debian"])
    shifted(cached, 100000)  # unprivileged containers' copy (made once, like the cache)
    took = "cached" if cached.built_seconds is None else f"built in {cached.built_seconds:.0f} s"
    print(f"\nrootfs cache {cached.recipe.key}: {took} ({time.monotonic() - started:.1f} s)")
    return cached.path


@pytest.fixture(scope="session")
def simulator(rootfs_cache: Path) -> Iterator[SimulatorInfo]:
    """The session's simulator with real containers; afterwards nothing of it is left."""
    before = set(leftovers())
    yield from simulator_session(["--containers-backend", "real"])
    left = [item for item in leftovers() if item not in before]
    assert not left, f"the real backend left behind: {left}"
