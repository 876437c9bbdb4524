"""The frontend is rebuilt exactly when its code, port or public URL changes."""

from __future__ import annotations

import shutil
from pathlib import Path

from lxc_manager.frontend import build_key
from lxc_manager.settings import load_settings

REPO = Path(__file__).resolve().parents[2]


def make_project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(REPO / "lxc_manager" / "pages", root / "lxc_manager" / "pages")
    (root / "lxc_manager" / "simulator").mkdir()
    (root / "lxc_manager" / "simulator" / "x.py").write_text("a = 1\n")
    (root / "assets").mkdir()
    (root / "assets" / "favicon.svg").write_text("<svg/>")
    (root / "rxconfig.py").write_text("config = None\n")
    return root


def test_key_changes_with_code_port_and_public_url(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    settings = load_settings({}, cwd=tmp_path)
    key = build_key(settings, root)
    assert build_key(settings, root) == key
    assert build_key(load_settings({"LXCM_PORT": "3001"}, cwd=tmp_path), root) != key
    assert (
        build_key(load_settings({"LXCM_PUBLIC_URL": "https://lxc.lan"}, cwd=tmp_path), root) != key
    )
    # Replicas on two ports behind one public URL serve the same bundle: one build.
    behind_a_proxy = {"LXCM_PUBLIC_URL": "https://lxc.lan"}
    assert build_key(
        load_settings({**behind_a_proxy, "LXCM_PORT": "3001"}, cwd=tmp_path), root
    ) == (build_key(load_settings({**behind_a_proxy, "LXCM_PORT": "3002"}, cwd=tmp_path), root))
    (root / "assets" / "favicon.svg").write_text("<svg></svg>")
    changed_asset = build_key(settings, root)
    assert changed_asset != key
    (root / "lxc_manager" / "pages" / "dashboard.py").write_text("# changed\n")
    assert build_key(settings, root) != changed_asset


def test_simulator_changes_do_not_rebuild(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    settings = load_settings({}, cwd=tmp_path)
    key = build_key(settings, root)
    (root / "lxc_manager" / "simulator" / "x.py").write_text("a = 2\n")
    assert build_key(settings, root) == key
