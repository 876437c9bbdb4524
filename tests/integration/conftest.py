"""Fixtures for integration tests: the Proxmox VE simulator (see tests/support/simulator.py).

`simulator` (session scope) starts `python -m lxc_manager.simulator` on free ports with
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

from tests.support.simulator import (
    AUDITOR,
    FIXED_RECOVERY_KEY,
    ROOT_PASSWORD,
    SCHEMA_PATH,
    TFA_USER,
    TOTP_SECRET,
    SimProcess,
    SimulatorInfo,
    simulator_args,
    split_host_port,
    start_simulator,
)

__all__ = ["FIXED_RECOVERY_KEY"]


@pytest.fixture(scope="session")
def simulator(request: pytest.FixtureRequest) -> Iterator[SimulatorInfo]:
    """The shared simulator; a folder that runs on several Proxmox VE releases
    parametrises it with `--pve-version` values (`parametrize_pve_versions`)."""
    args, secrets = simulator_args()
    version = getattr(request, "param", None)
    if version is not None:
        args += ["--pve-version", version]
    sim = start_simulator(args)
    ready = sim.ready
    ssh_host, ssh_port = split_host_port(ready.get("ssh"))
    info = SimulatorInfo(
        api=ready["api"],
        ssh_host=ssh_host,
        ssh_port=ssh_port,
        tls_sha256=ready["tls_sha256"],
        ssh_host_key=ready.get("ssh_host_key"),
        nodes=ready["nodes"],
        endpoints=ready["endpoints"],
        admin=ready["admin"],
        cluster=ready["cluster"],
        root_password=ROOT_PASSWORD,
        token_id="root@pam!ci",
        token_secret=secrets["ci"],
        privsep_token_id="root@pam!ro",
        privsep_token_secret=secrets["ro"],
        vmadmin_token_id="root@pam!vmadmin",
        vmadmin_token_secret=secrets["vmadmin"],
        auditor_token_id=f"{AUDITOR[0]}!vm",
        auditor_token_secret=secrets["auditor"],
        auditor_user=AUDITOR[0],
        auditor_password=AUDITOR[1],
        tfa_user=TFA_USER[0],
        tfa_password=TFA_USER[1],
        totp_secret=TOTP_SECRET,
        recovery_keys=ready["tfa"][TFA_USER[0]]["recovery_keys"],
        ready=ready,
        process=sim,
    )
    try:
        yield info
    finally:
        code = sim.stop()
        stderr = "".join(sim.stderr_lines)
        assert code == 0, f"simulator exit code {code}\n{stderr}"


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
    """An httpx client authenticated with the full-privilege API token."""
    with simulator.client() as client:
        yield client
