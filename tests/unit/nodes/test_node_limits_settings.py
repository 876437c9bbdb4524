"""The node limits of issue 12 (paths 9 and 10): defaults, good values, one clear line for bad."""

from __future__ import annotations

from pathlib import Path

import pytest

from lxc_manager.settings import SettingsError, load_settings


def test_defaults(tmp_path: Path) -> None:
    settings = load_settings({}, cwd=tmp_path)
    assert (settings.node_checks_per_minute, settings.max_nodes_per_user) == (10, 50)


def test_good_values(tmp_path: Path) -> None:
    env = {"LXCM_NODE_CHECKS_PER_MINUTE": " 3 ", "LXCM_MAX_NODES_PER_USER": "500"}
    settings = load_settings(env, cwd=tmp_path)
    assert (settings.node_checks_per_minute, settings.max_nodes_per_user) == (3, 500)


@pytest.mark.parametrize("name", ["LXCM_NODE_CHECKS_PER_MINUTE", "LXCM_MAX_NODES_PER_USER"])
@pytest.mark.parametrize("value", ["0", "10001", "many"])
def test_bad_values(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings({name: value}, cwd=tmp_path)
    assert str(raised.value) == f"{name}: expected an integer between 1 and 10000, got {value!r}"
