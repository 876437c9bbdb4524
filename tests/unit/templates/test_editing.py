"""The template editor's rules, without Reflex: a template from the fields as typed."""

from __future__ import annotations

import pytest

from lxc_manager.templates.editing import (
    TEXT_LIMITS,
    count_lines,
    fields_of,
    file_spec,
    item_problems,
    spec_from_fields,
    tab_of,
    whole_number,
)
from lxc_manager.templates.packages import (
    PackageLineError,
    new_package,
    package_spec,
)
from lxc_manager.templates.spec import Features, PackageSpec, ScriptSpec, TemplateSpec


def test_a_template_survives_the_editor_fields() -> None:
    spec = TemplateSpec(name="Web", tags=("web", "prod"), os_template="debian-12-standard")
    fields = fields_of(spec)
    assert set(fields) == set(TEXT_LIMITS)
    again = spec_from_fields(fields, spec.features)
    assert again == spec


def test_numbers_that_are_not_whole_numbers_are_refused_by_the_validation() -> None:
    assert whole_number(" 4 ") == 4
    assert whole_number("4.5") == whole_number("") == whole_number("-1") == -1
    fields = {**fields_of(TemplateSpec(name="x")), "cores": "two"}
    assert spec_from_fields(fields, Features()).resources.cores == -1


def test_lines_are_counted_like_an_editor() -> None:
    assert count_lines("") == 0
    assert count_lines("a") == count_lines("a\n") == 1
    assert count_lines("a\nb") == 2


def test_a_file_policy_is_one_of_the_known_ones() -> None:
    assert file_spec("a", "/etc/a", "", "backup", "0600").policy == "backup"
    with pytest.raises(ValueError):
        file_spec("a", "/etc/a", "", "overwrite", "0600")


def test_the_problems_of_one_script_are_keyed_by_its_field() -> None:
    spec = TemplateSpec(
        name="x", scripts=(ScriptSpec("ok.sh", "true\n"), ScriptSpec("bad name!", "true\n"))
    )
    assert set(item_problems(spec, "scripts", 2)) == {"name"}
    assert item_problems(spec, "scripts", 1) == {}


@pytest.mark.parametrize(
    ("field", "tab"),
    [
        ("scripts.0.name", "scripts"),
        ("files", "files"),
        ("packages.3.version", "packages"),
        ("buckets", "packages"),
        ("resources.cores", "configuration"),
        ("name", "configuration"),
    ],
)
def test_an_error_opens_the_tab_that_shows_it(field: str, tab: str) -> None:
    assert tab_of(field) == tab


def test_a_package_from_plain_strings_names_a_known_manager() -> None:
    assert package_spec("pip", "httpie", "3.2") == PackageSpec("pip", "httpie", "3.2")
    with pytest.raises(PackageLineError):
        package_spec("brew", "wget")


def test_a_new_package_is_checked_and_listed_once() -> None:
    pkg, problems = new_package("apt", " nginx ", "", "ignored", [])
    assert (pkg, problems) == (PackageSpec("apt", "nginx"), {})
    _, problems = new_package("apt", "nginx", "", "", [("apt", "NGINX")])
    assert problems == {"name": "nginx (apt) is already in the list"}
    assert new_package("apt", "nginx", "", "", [("pip", "nginx")])[1] == {}
    custom, problems = new_package("custom", "tool", "", "curl x | sh", [])
    assert problems == {} and custom is not None and custom.command == "curl x | sh"
    assert new_package("brew", "wget", "", "", []) == (
        None,
        {"manager": "Choose apt, npm, pip or custom"},
    )
    assert set(new_package("custom", "tool", "", " ", [])[1]) == {"command"}
