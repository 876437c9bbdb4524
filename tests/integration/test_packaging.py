"""The product is the app alone: its wheel (what `pip install .` and the Docker image get)
holds no simulator code and does not pull the simulator's own packages; the simulator is
its own distribution (simulator/); and without it, the commands that need it say in one
line how to install it.

The wheels are built by pip from a copy of the working tree (build artefacts left out, so a
stale `build/` cannot hide or add files)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SIMULATOR_PACKAGE = REPO / "simulator" / "lxc_manager_simulator"
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", ".web", ".web-*", "build", "dist", "*.egg-info", "__pycache__",
    "node_modules", "test-output", "data", ".*_cache",
)  # fmt: skip
SIMULATOR_ONLY_PACKAGES = {"bashlex", "pyotp"}
# Makes the simulator unimportable in a child interpreter, as in an install without it.
WITHOUT_SIMULATOR = "import sys; sys.modules['lxc_manager_simulator'] = None; "


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("source") / "lxc-manager"
    shutil.copytree(REPO, copy, ignore=NOT_SOURCE)
    return copy


def build_wheel(project: Path, out: Path) -> zipfile.ZipFile:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(out),
         str(project)],
        capture_output=True, text=True, timeout=600,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    (wheel,) = out.glob("*.whl")
    return zipfile.ZipFile(wheel)


def requirements(wheel: zipfile.ZipFile) -> set[str]:
    """The names of the packages a wheel always requires (extras left out)."""
    (metadata,) = (n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
    names = set()
    for line in wheel.read(metadata).decode().splitlines():
        if line.startswith("Requires-Dist:") and "extra ==" not in line:
            names.add(re.split(r"[\s\[<>=!~;]", line.removeprefix("Requires-Dist:").strip())[0])
    return {name.lower() for name in names}


@pytest.fixture(scope="module")
def product_wheel(source: Path, tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    return build_wheel(source, tmp_path_factory.mktemp("product"))


@pytest.fixture(scope="module")
def simulator_wheel(source: Path, tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    return build_wheel(source / "simulator", tmp_path_factory.mktemp("simulator"))


def test_the_product_wheel_holds_the_app_and_no_simulator(product_wheel: zipfile.ZipFile) -> None:
    names = product_wheel.namelist()
    assert "lxc_manager/cli.py" in names
    assert "lxc_manager/demo.py" in names
    assert [name for name in names if "simulator" in name] == []


def test_the_product_installs_both_commands(product_wheel: zipfile.ZipFile) -> None:
    (entry_points,) = (n for n in product_wheel.namelist() if n.endswith("entry_points.txt"))
    text = product_wheel.read(entry_points).decode()
    assert "lxc-manager = lxc_manager.cli:main" in text
    assert "lxcm = lxc_manager.cli_api:main" in text  # the API's command-line client


def test_the_product_does_not_require_the_simulators_packages(
    product_wheel: zipfile.ZipFile,
) -> None:
    required = requirements(product_wheel)
    assert {"reflex", "asyncssh", "httpx"} <= required
    assert required & SIMULATOR_ONLY_PACKAGES == set()


def test_the_simulator_wheel_holds_every_simulator_module(
    simulator_wheel: zipfile.ZipFile,
) -> None:
    expected = {
        path.relative_to(SIMULATOR_PACKAGE.parent).as_posix()
        for pattern in ("*.py", "README.md")
        for path in SIMULATOR_PACKAGE.rglob(pattern)
        if "__pycache__" not in path.parts
    }
    assert "lxc_manager_simulator/__main__.py" in expected
    assert expected <= set(simulator_wheel.namelist())
    assert not any(name.startswith("lxc_manager/") for name in simulator_wheel.namelist())
    assert requirements(simulator_wheel) >= SIMULATOR_ONLY_PACKAGES


@pytest.mark.parametrize("command", [["simulator", "--help"], ["demo"]])
def test_without_the_simulator_the_cli_says_how_to_install_it(
    command: list[str], tmp_path: Path
) -> None:
    done = subprocess.run(
        [sys.executable, "-c",
         f"{WITHOUT_SIMULATOR}from lxc_manager.cli import main; sys.exit(main({command!r}))"],
        cwd=REPO, capture_output=True, text=True, timeout=60,
        env={**os.environ, "LXCM_DATA_DIR": str(tmp_path)},
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "lxc-manager: the simulator is not installed: "
        "pip install ./simulator (from the repository; make demo and make test do)"
    ]
    assert list(tmp_path.iterdir()) == []  # nothing was started or written
