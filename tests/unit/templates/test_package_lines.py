"""One grammar for package lines: a catalog package list and a bucket's text agree."""

from __future__ import annotations

from pathlib import Path

import pytest

from lxc_manager.templates.catalog import load_catalog
from lxc_manager.templates.packages import (
    SYNTAX_HINT,
    PackageLineError,
    package_line,
    parse_package,
    parse_package_line,
    parse_package_lines,
)
from lxc_manager.templates.spec import PackageSpec

LINES = [
    ("apt", "nginx"),
    ("apt", "htop=3.2*"),
    ("apt", "curl=7.88.1-10  # pinned"),
    ("apt", "curl="),
    ("apt", "curl htop"),
    ("pip", "httpie==3.2"),
    ("pip", "django>=4"),
    ("pip", "django=4.2"),
    ("pip", "uvicorn[standard]"),
    ("npm", "pm2@5"),
    ("npm", "@vue/cli@5"),
    ("npm", "@scope/plain"),
    ("npm", "pm2@"),
]


def _catalog_reads(tmp_path: Path, manager: str, line: str) -> PackageSpec | str:
    """What the catalog makes of `line` in a package list: the package or the error."""
    directory = tmp_path / "web"
    (directory / "packages").mkdir(parents=True)
    (directory / "template.toml").write_text(
        'name = "Web"\nos_template = "debian-12-standard"\n', encoding="utf-8"
    )
    (directory / "packages" / f"list.{manager}").write_text(f"{line}\n", encoding="utf-8")
    result = load_catalog(tmp_path)
    if result.errors:
        return result.errors[0].message
    (package,) = result.templates[0].packages
    return package


def _bucket_reads(manager: str, line: str) -> PackageSpec | str:
    packages, errors = parse_package_lines(f"{manager}: {line}\n")
    return errors["line 1"] if errors else packages[0]


@pytest.mark.parametrize(("manager", "line"), LINES)
def test_catalog_and_bucket_read_a_line_alike(tmp_path: Path, manager: str, line: str) -> None:
    catalog = _catalog_reads(tmp_path, manager, line)
    bucket = _bucket_reads(manager, line)
    if isinstance(catalog, PackageSpec):
        assert bucket == catalog
    else:  # the catalog adds validation (a bucket's save validates in the service)
        assert isinstance(bucket, str) and bucket in catalog


def test_versions_per_manager() -> None:
    assert parse_package("apt", "htop=3.2*") == PackageSpec("apt", "htop", "3.2*")
    assert parse_package("pip", "httpie==3.2") == PackageSpec("pip", "httpie", "3.2")
    assert parse_package("npm", "@vue/cli@5") == PackageSpec("npm", "@vue/cli", "5")
    assert parse_package("npm", "@vue/cli") == PackageSpec("npm", "@vue/cli")
    assert parse_package("apt", "  # only a comment") is None
    with pytest.raises(PackageLineError, match="only exact versions"):
        parse_package("pip", "django~=4.2")


def test_bucket_lines_name_their_manager() -> None:
    assert parse_package_line("APT: curl") == PackageSpec("apt", "curl")
    assert parse_package_line("# tools") is None
    assert parse_package_line("   ") is None
    custom = parse_package_line("custom: rustup -> curl -fsS https://x.test/#a | sh # keep")
    assert custom == PackageSpec(
        "custom", "rustup", command="curl -fsS https://x.test/#a | sh # keep"
    )
    for bad in ("apt jq", "brew: jq", "apt:", "apt: # nothing"):
        with pytest.raises(PackageLineError) as caught:
            parse_package_line(bad)
        assert str(caught.value) == SYNTAX_HINT


def test_errors_are_keyed_by_line_number() -> None:
    packages, errors = parse_package_lines("apt: curl\napt jq\n\npip: a>=1\n")
    assert packages == (PackageSpec("apt", "curl"),)
    assert errors == {
        "line 2": SYNTAX_HINT,
        "line 4": "'a>=1': only exact versions are supported, as name==1.2.3",
    }


@pytest.mark.parametrize(
    "package",
    [
        PackageSpec("apt", "htop", "3.2*"),
        PackageSpec("pip", "httpie", "3.2"),
        PackageSpec("npm", "@vue/cli", "5"),
        PackageSpec("npm", "pm2"),
        PackageSpec("custom", "rustup", command="curl -fsS https://sh.rustup.rs | sh"),
    ],
)
def test_a_package_line_reads_back_as_the_package(package: PackageSpec) -> None:
    assert parse_package_line(package_line(package)) == package
