"""`LXCM_DEMO_CONTAINERS`: real, simulated or auto (real where this machine can run LXC)."""

from __future__ import annotations

import pytest

from lxc_manager import demo
from lxc_manager.supervisor import StartupError
from lxc_manager_simulator.real import backend


@pytest.mark.parametrize(
    ("choice", "reason", "expected"),
    [
        ("auto", None, ("real", "auto: this machine can run LXC containers")),
        ("", None, ("real", "auto: this machine can run LXC containers")),
        ("auto", "lxc-start is not installed", ("simulated", "auto: lxc-start is not installed")),
        ("simulated", None, ("simulated", "LXCM_DEMO_CONTAINERS=simulated")),
        ("REAL", None, ("real", "LXCM_DEMO_CONTAINERS=real")),
    ],
)
def test_the_choice_and_why(
    monkeypatch: pytest.MonkeyPatch, choice: str, reason: str | None, expected: tuple[str, str]
) -> None:
    monkeypatch.setenv("LXCM_DEMO_CONTAINERS", choice)
    monkeypatch.setattr(backend, "lxc_unavailable_reason", lambda: reason)
    assert demo.demo_containers() == expected


def test_real_where_lxc_cannot_run_refuses_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LXCM_DEMO_CONTAINERS", "real")
    monkeypatch.setattr(backend, "lxc_unavailable_reason", lambda: "real containers need root")
    with pytest.raises(
        StartupError, match="LXCM_DEMO_CONTAINERS=real, but real containers need root"
    ):
        demo.demo_containers()


def test_an_unknown_choice_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LXCM_DEMO_CONTAINERS", "lxd")
    with pytest.raises(StartupError, match="must be one of auto, real, simulated"):
        demo.demo_containers()
