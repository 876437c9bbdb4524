"""Fixtures of the node service's integration tests: a fresh migrated SQLite database and
the session's Redis (`nodes_db`) and small extra simulators (`small_sim`) for tests that
restart or break a peer. Helpers are in node_support.py."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from node_support import SIM_TOKEN_ID, SmallSim

from lxc_manager.db.migrate import upgrade_head
from tests.support.node_checks import forget_node_checks
from tests.support.simulator import SimProcess


@pytest.fixture
def nodes_db(app_settings: Path) -> Path:
    """A fresh SQLite database at the newest revision (keys from the data dir's key file)."""
    upgrade_head()
    forget_node_checks()
    return app_settings


@pytest.fixture
def small_sim(start_sim: Callable[[list[str]], SimProcess]) -> Callable[..., SmallSim]:
    """`small_sim(port=0, ssh_port=0, endpoints=1)`: start a standalone simulator."""
    token_secret = str(uuid.uuid4())
    root_password = "pw-" + uuid.uuid4().hex[:8]

    def start(port: int = 0, ssh_port: int = 0, endpoints: int = 1) -> SmallSim:
        args = [
            "--port", str(port), "--ssh-port", str(ssh_port), "--endpoints", str(endpoints),
            "--nodes", "1", "--containers", "1", "--vms", "0", "--seed", "7",
            "--auth-failure-delay", "0", "--log-level", "WARNING",
            "--user", f"root@pam:{root_password}",
            "--token", f"{SIM_TOKEN_ID}:{token_secret}",
        ]  # fmt: skip
        return SmallSim(start_sim(args), token_secret, root_password)

    return start
