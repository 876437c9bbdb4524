"""`lxc-manager simulator ...` exactly as the simulator README documents it: every option
after `simulator` reaches the simulator (it used to fail with "unrecognized arguments")."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx

from tests.support.simulator import start_simulator

REPO = Path(__file__).resolve().parents[3]
README = REPO / "simulator" / "lxc_manager_simulator" / "README.md"
# The `lxc-manager` console script is `lxc_manager.cli:main` (pyproject.toml); run that entry
# point of this checkout.
LXC_MANAGER = (sys.executable, "-m", "lxc_manager.cli")


def _documented_command() -> list[str]:
    """The first line of the README's command-line block, without its comment."""
    text = README.read_text()
    block = text.split("## Command line", 1)[1].split("```", 2)[1]
    first = block.strip().splitlines()[0].split("#", 1)[0].split()
    assert first == ["lxc-manager", "simulator"], first
    return first


def test_the_documented_command_line_starts_the_simulator() -> None:
    command = _documented_command()
    options = [
        "--port", "0", "--ssh-port", "0", "--admin-port", "0", "--nodes", "1",
        "--containers", "2", "--vms", "0", "--seed", "11", "--task-seconds", "0.1",
        "--log-level", "WARNING",
    ]  # fmt: skip
    for option in options[::2]:  # each one is documented in the README's usage
        assert re.search(rf"\[{option}\b", README.read_text()), option
    sim = start_simulator(options, entry=[*LXC_MANAGER, *command[1:]])
    try:
        ready = sim.ready
        assert ready["nodes"] == ["pve1"] and ready["seed"] == 11
        assert re.fullmatch(r"https://127\.0\.0\.1:\d+", ready["api"])
        assert not ready["api"].endswith(":8006")  # --port 0 reached the simulator
        token = ready["tokens"][0]
        with httpx.Client(
            base_url=ready["api"] + "/api2/json",
            verify=False,
            timeout=10,
            headers={"Authorization": f"PVEAPIToken={token['id']}={token['secret']}"},
        ) as client:
            guests = client.get("/cluster/resources", params={"type": "vm"}).json()["data"]
        assert len(guests) == 2
    finally:
        assert sim.stop() == 0, "".join(sim.stderr_lines)


def test_simulator_help_is_the_simulators() -> None:
    done = subprocess.run(
        [*LXC_MANAGER, "simulator", "--help"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: lxc-manager simulator")
    assert "--ssh-port" in done.stdout


def test_a_bad_simulator_option_is_reported_by_the_simulator() -> None:
    done = subprocess.run(
        [*LXC_MANAGER, "simulator", "--nodes", "0"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert "--nodes: 1..64" in done.stderr and "Traceback" not in done.stderr
