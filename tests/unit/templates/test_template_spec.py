"""The template rules (pure): names, paths, packages per manager, sizes, features."""

from __future__ import annotations

from dataclasses import replace

import pytest

from lxc_manager.templates.packages import parse_package_lines
from lxc_manager.templates.spec import (
    Features,
    FileSpec,
    PackageSpec,
    ScriptSpec,
    TemplateSpec,
    normalize_tags,
    slugify,
    validate_package,
    validate_target_path,
    validate_template,
)


def test_a_minimal_template_is_valid() -> None:
    assert validate_template(TemplateSpec(name="Base")) == {}


@pytest.mark.parametrize(
    ("path", "ok"),
    [
        ("/etc/motd", True),
        ("/opt/app/config.d/a b.conf", True),
        ("etc/motd", False),
        ("/etc/../shadow", False),
        ("/etc/..", False),
        ("/etc/", False),
        ("", False),
        ("/etc/mo\x00td", False),
        ("/etc/a\nb", False),
        ("/etc/..hidden", True),
    ],
)
def test_target_paths(path: str, ok: bool) -> None:
    assert (validate_target_path(path) is None) is ok


@pytest.mark.parametrize(
    ("pkg", "field"),
    [
        (PackageSpec("apt", "nginx"), None),
        (PackageSpec("apt", "libssl3:amd64"), None),
        (PackageSpec("apt", "g++", "4:12.2.0-3"), None),
        (PackageSpec("apt", "Nginx"), "name"),
        (PackageSpec("apt", "x"), "name"),
        (PackageSpec("npm", "@vue/cli", "5.0.8"), None),
        (PackageSpec("npm", "Express"), "name"),
        (PackageSpec("pip", "Django", "5.0"), None),
        (PackageSpec("pip", "uvicorn[standard]"), None),
        (PackageSpec("pip", "-e ."), "name"),
        (PackageSpec("pip", "flask", "1.0; rm -rf /"), "version"),
        (PackageSpec("custom", "rustup", command="curl https://sh.rustup.rs | sh -s -- -y"), None),
        (PackageSpec("custom", "rustup"), "command"),
        (PackageSpec("custom", "rustup", "1", "x"), "version"),
        (PackageSpec("apt", "curl", command="echo"), "command"),
    ],
)
def test_packages_per_manager(pkg: PackageSpec, field: str | None) -> None:
    errors = validate_package(pkg)
    assert (field in errors) if field else errors == {}, errors


def test_install_specs() -> None:
    assert PackageSpec("apt", "nginx", "1.22*").install_spec() == "nginx=1.22*"
    assert PackageSpec("npm", "@vue/cli", "5").install_spec() == "@vue/cli@5"
    assert PackageSpec("pip", "flask", "3.0").install_spec() == "flask==3.0"
    assert PackageSpec("pip", "flask").install_spec() == "flask"


def test_errors_are_keyed_by_field_and_index() -> None:
    spec = TemplateSpec(
        name="T",
        tags=("ok", "Not OK"),
        scripts=(ScriptSpec("a.sh", "x"), ScriptSpec("a.sh", "y")),
        files=(FileSpec("f", "/etc/f", "x", mode="999"), FileSpec("g", "/etc/f", "x")),
        features=Features(unprivileged=False, keyctl=True),
    )
    errors = validate_template(spec)
    assert set(errors) == {
        "tags",
        "scripts.1.name",
        "files.0.mode",
        "files.1.target_path",
        "features.keyctl",
    }


def test_total_size_limit() -> None:
    big = "x" * (200 * 1024)
    spec = TemplateSpec(
        name="T", files=tuple(FileSpec(f"f{i}", f"/f{i}", big * 5) for i in range(9))
    )
    assert "template" in validate_template(spec)
    assert "template" not in validate_template(replace(spec, files=spec.files[:2]))


def test_features_and_helpers() -> None:
    assert Features(nesting=True, keyctl=True).proxmox_value() == "nesting=1,keyctl=1"
    assert Features().proxmox_value() == ""
    assert Features(keyctl=True).needs_root() and not Features(nesting=True).needs_root()
    assert slugify("Python web app (nginx)") == "python-web-app-nginx"
    assert slugify("!!!") == "template"
    assert normalize_tags("Web; python,,web  docker") == ("web", "python", "docker")


def test_bucket_package_lines() -> None:
    packages, errors = parse_package_lines(
        "# tools\napt: curl\napt: htop=3.2*\npip: httpie==3.2\nnpm: @vue/cli@5\n"
        "custom: rustup -> curl -fsS https://sh.rustup.rs | sh\n\nnonsense\n"
    )
    assert [p.install_spec() for p in packages] == [
        "curl",
        "htop=3.2*",
        "httpie==3.2",
        "@vue/cli@5",
        "rustup",
    ]
    assert packages[-1].command == "curl -fsS https://sh.rustup.rs | sh"
    assert list(errors) == ["line 8"]
