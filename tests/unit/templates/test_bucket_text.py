"""A bucket's dialog text: read with the one package grammar, errors keyed by field."""

from __future__ import annotations

from lxc_manager.templates.bucket_text import bucket_text, dialog_errors, read_bucket
from lxc_manager.templates.spec import PackageSpec

PACKAGES = (
    PackageSpec("apt", "curl"),
    PackageSpec("pip", "httpie", "3.2"),
    PackageSpec("custom", "tool", command="curl -fsSL https://example.org | sh"),
)


def test_the_dialog_text_reads_back_as_the_same_packages() -> None:
    spec, errors = read_bucket("  web  ", " tools ", bucket_text(PACKAGES))
    assert errors == {}
    assert (spec.name, spec.description, spec.packages) == ("web", "tools", PACKAGES)


def test_blank_and_comment_lines_are_no_packages() -> None:
    spec, errors = read_bucket("web", "", "\n# tools\napt: jq\n\n")
    assert errors == {} and spec.packages == (PackageSpec("apt", "jq"),)


def test_the_first_wrong_line_is_named_with_its_number() -> None:
    _, errors = read_bucket("web", "", "apt: jq\ncurl\npip: django>=4")
    assert list(errors) == ["packages"]
    assert errors["packages"].startswith("Line 2: write `apt: name`")


def test_a_package_error_of_the_service_names_the_package() -> None:
    errors = dialog_errors(
        {"packages.1.version": "not a version", "packages.0.name": "later", "name": "taken"},
        PACKAGES,
    )
    assert errors == {"packages": "pip: httpie — not a version", "name": "taken"}


def test_an_empty_name_and_an_index_out_of_range_still_read() -> None:
    errors = dialog_errors(
        {"packages.0.name": "a name is needed", "bucket.limit": "too many"},
        (PackageSpec("apt", ""),),
    )
    assert errors == {"packages": "apt: (empty) — a name is needed", "bucket": "too many"}
    assert dialog_errors({"packages.5.name": "x"}, ()) == {"packages": "package 6 — x"}
