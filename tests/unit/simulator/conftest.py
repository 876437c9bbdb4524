"""Fixtures of the shell interpreter and world unit tests."""

from __future__ import annotations

import pytest
from shell_helpers import ALPINE, UBUNTU, container

from lxc_manager_simulator.shell.world import ContainerWorld, HostWorld


@pytest.fixture
def debian() -> ContainerWorld:
    return container()


@pytest.fixture
def ubuntu() -> ContainerWorld:
    return container(UBUNTU, hostname="app-01")


@pytest.fixture
def alpine() -> ContainerWorld:
    return container(ALPINE, hostname="tiny-01")


@pytest.fixture
def host() -> HostWorld:
    return HostWorld("pve1")
