"""Every setting has a row in the README's configuration table; the quick start has the two commands."""

from __future__ import annotations

from pathlib import Path

from lxc_manager.settings import VARIABLES

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_every_variable_is_in_the_configuration_table() -> None:
    missing = [v.name for v in VARIABLES if f"| `{v.name}` |" not in README]
    assert missing == []


def test_quick_start_has_exactly_the_two_commands() -> None:
    quick_start = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = quick_start.split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("#", 1)[0].strip() for line in block.strip().splitlines()]
    assert commands == ["make run", "make test"]
