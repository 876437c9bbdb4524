"""The shape of the Reflex layer (issue 15, DESIGN §2 and §6), read from the source.

- Every page is a package `pages/<feature>/` with `page.py` and `state.py`; no page
  imports another page, and the shared components import no page.
- No module of `lxc_manager/` is over 600 lines.
- Unit tests import no page State or page module (Reflex-free helpers only).
- URLs of pages are spelt in `lxc_manager/routes.py` only.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "lxc_manager"
PAGES = PACKAGE / "pages"
MAX_LINES = 600


def _imports(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def _features() -> list[Path]:
    return sorted(
        p for p in PAGES.iterdir() if p.is_dir() and p.name not in ("components", "__pycache__")
    )


def test_every_page_is_a_package_with_page_and_state() -> None:
    features = _features()
    assert len(features) >= 10, features
    loose = sorted(
        p.name for p in PAGES.glob("*.py") if p.name not in ("__init__.py", "not_found.py")
    )
    assert not loose, f"page modules outside a feature package: {loose}"
    for feature in features:
        assert (feature / "page.py").is_file(), feature
        assert (feature / "state.py").is_file(), feature


def test_no_page_imports_another_page() -> None:
    offenders = []
    for feature in _features():
        for path in feature.rglob("*.py"):
            for module in _imports(path):
                parts = module.split(".")
                if (
                    parts[:2] == ["lxc_manager", "pages"]
                    and len(parts) > 2
                    and (parts[2] not in (feature.name, "components"))
                ):
                    offenders.append(f"{path.relative_to(ROOT)} imports {module}")
    for path in (PAGES / "components").rglob("*.py"):
        for module in _imports(path):
            parts = module.split(".")
            if (
                parts[:2] == ["lxc_manager", "pages"]
                and len(parts) > 2
                and parts[2] != "components"
            ):
                offenders.append(f"{path.relative_to(ROOT)} imports {module}")
    assert not offenders, offenders


def test_no_module_is_over_600_lines() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, long


def test_unit_tests_import_no_page_state_or_page_module() -> None:
    offenders = []
    for path in (ROOT / "tests" / "unit").rglob("*.py"):
        for module in _imports(path):
            if re.fullmatch(r"lxc_manager\.pages\.\w+\.(page|state)(\..*)?", module):
                offenders.append(f"{path.relative_to(ROOT)} imports {module}")
    assert not offenders, offenders


def test_page_urls_are_spelt_in_routes_only() -> None:
    spelt = re.compile(r"""["'f](/containers/|/templates/|/settings/|/login\b|/auth/)""")
    offenders = []
    for path in [
        *PAGES.rglob("*.py"),
        PACKAGE / "state" / "guard.py",
        PACKAGE / "state" / "session.py",
    ]:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if spelt.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, offenders
