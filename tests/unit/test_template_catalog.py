"""The filesystem template catalog: both layouts, their errors (file and line), the shipped catalog."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lxc_manager.templates.catalog import (
    CatalogError,
    CatalogResult,
    default_catalog_dir,
    load_catalog,
    os_template_from_shell,
)
from lxc_manager.templates.spec import (
    FileSpec,
    PackageSpec,
    Resources,
    ScriptSpec,
    validate_template,
)

MINIMAL_TOML = 'name = "Minimal"\nos_template = "debian-12-standard"\n'


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def messages(result: CatalogResult) -> list[str]:
    return [str(error) for error in result.errors]


def only_error(result: CatalogResult) -> CatalogError:
    assert len(result.errors) == 1, messages(result)
    return result.errors[0]


def toml_template(root: Path, slug: str = "web", toml: str = MINIMAL_TOML) -> Path:
    directory = root / slug
    write(directory / "template.toml", toml)
    return directory


def conf_template(
    root: Path, slug: str = "shell", conf: str = 'TEMPLATE_APP="Shell app"\n'
) -> Path:
    directory = root / slug
    write(directory / "template.conf", conf)
    return directory


# --- layout A: template.toml ------------------------------------------------------------------

FULL_TOML = """\
name = "Web app"
description = "nginx in front of an app"
tags = ["Web", "nginx", "web"]
os_template = "ubuntu-24.04-standard"
version = "2.1"
storage = "local-lvm"
buckets = ["base-tools"]

[resources]
cores = 2
memory_mb = 2048
swap_mb = 256
disk_gb = 16

[network]
bridge = "vmbr1"

[features]
preset = "docker"
keyctl = false

[[files]]
name = "site.conf"
target = "/etc/nginx/sites-available/site"
policy = "backup"
mode = "0640"

[[files]]
name = "motd"
target = "/etc/motd"
mode = 0o600

[[scripts]]
name = "20-optional.sh"
enabled = false

[[packages]]
manager = "custom"
name = "rustup"
command = "curl -fsSL https://sh.rustup.rs | sh -s -- -y"
"""


def full_toml_template(root: Path) -> Path:
    directory = toml_template(root, "Web-App", FULL_TOML)
    write(directory / "scripts" / "20-optional.sh", "echo optional\n")
    write(directory / "scripts" / "10-install.sh", "#!/usr/bin/env bash\nlog_info hi\n")
    write(directory / "scripts" / ".gitkeep", "")
    write(directory / "files" / "site.conf", "server { listen 80; }\n")
    write(directory / "files" / "motd", "Welcome\n")
    write(
        directory / "packages" / "base.apt",
        "# system packages\nnginx\n\ncurl=7.88.1-10  # pinned\nlibc6:amd64\n",
    )
    write(directory / "packages" / "tools.npm", "pm2@5.3.0\n@angular/cli@17.0.0\n@scope/plain\n")
    write(directory / "packages" / "app.pip", "gunicorn==23.0.0\nuvicorn[standard]\n")
    write(directory / "README.md", "not read\n")
    return directory


def test_toml_template_is_read_completely(tmp_path: Path) -> None:
    directory = full_toml_template(tmp_path)
    result = load_catalog(tmp_path)
    assert result.errors == ()
    (spec,) = result.templates
    assert spec.name == "Web app"
    assert spec.slug == "web-app"
    assert spec.description == "nginx in front of an app"
    assert spec.tags == ("web", "nginx")
    assert spec.os_template == "ubuntu-24.04-standard"
    assert spec.version == "2.1"
    assert spec.storage == "local-lvm"
    assert spec.bridge == "vmbr1"
    assert spec.buckets == ("base-tools",)
    assert spec.resources == Resources(cores=2, memory_mb=2048, swap_mb=256, disk_gb=16)
    # The docker preset turns on nesting and keyctl; the explicit key overrides keyctl.
    assert (spec.features.unprivileged, spec.features.nesting, spec.features.keyctl) == (
        True,
        True,
        False,
    )
    assert spec.scripts == (
        ScriptSpec("10-install.sh", "#!/usr/bin/env bash\nlog_info hi\n", True),
        ScriptSpec("20-optional.sh", "echo optional\n", False),
    )
    assert spec.files == (
        FileSpec(
            "site.conf",
            "/etc/nginx/sites-available/site",
            "server { listen 80; }\n",
            "backup",
            "0640",
        ),
        FileSpec("motd", "/etc/motd", "Welcome\n", "replace", "0600"),
    )
    assert spec.packages == (
        PackageSpec("pip", "gunicorn", "23.0.0"),
        PackageSpec("pip", "uvicorn[standard]"),
        PackageSpec("apt", "nginx"),
        PackageSpec("apt", "curl", "7.88.1-10"),
        PackageSpec("apt", "libc6:amd64"),
        PackageSpec("npm", "pm2", "5.3.0"),
        PackageSpec("npm", "@angular/cli", "17.0.0"),
        PackageSpec("npm", "@scope/plain"),
        PackageSpec("custom", "rustup", command="curl -fsSL https://sh.rustup.rs | sh -s -- -y"),
    )
    assert spec.source == "filesystem"
    assert spec.source_path == str(directory)
    assert validate_template(spec) == {}


def test_minimal_toml_template_gets_the_defaults(tmp_path: Path) -> None:
    toml_template(tmp_path)
    (spec,) = load_catalog(tmp_path).templates
    assert spec.slug == "web"
    assert spec.resources == Resources()
    assert spec.bridge == "vmbr0"
    assert spec.features.unprivileged and not spec.features.nesting
    assert spec.scripts == spec.files == spec.packages == ()


def test_invalid_toml_reports_its_line(tmp_path: Path) -> None:
    toml_template(tmp_path, toml='name = "Broken"\ndescription = "x"\ntags = ["a",\ncores = \n')
    error = only_error(load_catalog(tmp_path))
    assert error.path == "web/template.toml"
    assert error.line == 4
    assert "is not valid TOML" in error.message
    assert str(error).startswith("web/template.toml:4: is not valid TOML")


def test_unknown_keys_are_reported_with_their_line_and_a_suggestion(tmp_path: Path) -> None:
    toml_template(
        tmp_path,
        toml='name = "Typo"\ndescripton = "x"\n\n[resources]\ncores = 2\nmemroy_mb = 1024\n',
    )
    result = load_catalog(tmp_path)
    assert result.templates == ()
    by_line = {error.line: error.message for error in result.errors}
    assert set(by_line) == {2, 6}
    assert "unknown key 'descripton'" in by_line[2]
    assert "did you mean 'description'?" in by_line[2]
    assert "unknown key 'resources.memroy_mb'" in by_line[6]
    assert "did you mean 'memory_mb'?" in by_line[6]


def test_unknown_key_in_an_array_table(tmp_path: Path) -> None:
    directory = toml_template(
        tmp_path,
        toml=MINIMAL_TOML
        + '\n[[files]]\nname = "a"\ntarget = "/etc/a"\npolicy = "default"\nowner = "root"\n',
    )
    write(directory / "files" / "a", "x")
    error = only_error(load_catalog(tmp_path))
    assert (error.path, error.line) == ("web/template.toml", 8)
    assert "unknown key 'files.0.owner'" in error.message


@pytest.mark.parametrize(
    ("toml", "line", "text"),
    [
        ('name = "X"\nversion = 1.0\n', 2, "version must be a string (in quotes), not a number"),
        ('name = "X"\ntags = "web"\n', 2, "tags must be a list of strings"),
        ('name = "X"\n[resources]\ncores = "2"\n', 3, "resources.cores must be a whole number"),
        ('name = "X"\n[resources]\ncores = true\n', 3, "resources.cores must be a whole number"),
        ('name = "X"\n[features]\nnesting = "yes"\n', 3, "features.nesting must be true or false"),
        ('name = "X"\n[features]\npreset = "turbo"\n', 3, "unknown feature preset 'turbo'"),
    ],
)
def test_values_of_the_wrong_type(tmp_path: Path, toml: str, line: int, text: str) -> None:
    toml_template(tmp_path, toml=toml)
    error = only_error(load_catalog(tmp_path))
    assert (error.path, error.line) == ("web/template.toml", line)
    assert text in error.message


def test_rule_broken_in_validate_template_is_reported_at_its_line(tmp_path: Path) -> None:
    toml_template(tmp_path, toml='name = "X"\n\n[resources]\ncores = 0\nmemory_mb = 1024\n')
    error = only_error(load_catalog(tmp_path))
    assert (error.path, error.line) == ("web/template.toml", 4)
    assert error.message == "resources.cores: Cores must be between 1 and 8192"


def test_missing_name_is_reported(tmp_path: Path) -> None:
    toml_template(tmp_path, toml='description = "no name"\n')
    error = only_error(load_catalog(tmp_path))
    assert error.path == "web/template.toml"
    assert error.message == "name: Give the template a name"


def test_invalid_tag_is_reported_at_the_tags_line(tmp_path: Path) -> None:
    toml_template(tmp_path, toml='name = "X"\n\ntags = ["web", "no spaces allowed"]\n')
    error = only_error(load_catalog(tmp_path))
    assert (error.path, error.line) == ("web/template.toml", 3)
    assert error.message.startswith("tags: Tags are lower case")
    assert "'no spaces allowed'" in error.message


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Nginx", "'Nginx': An apt package name is lower case"),
        ("nginx curl", "one package per line, not 'nginx curl'"),
        ("nginx=", "'nginx=': a version follows the ="),
        ("nginx=1 2", "one package per line"),
        ("nginx=1.2?", "'nginx=1.2?': A version is letters, digits"),
    ],
)
def test_bad_apt_line_reports_file_and_line(tmp_path: Path, line: str, expected: str) -> None:
    directory = toml_template(tmp_path)
    write(directory / "packages" / "base.apt", f"# comment\ncurl\n{line}\n")
    error = only_error(load_catalog(tmp_path))
    assert (error.path, error.line) == ("web/packages/base.apt", 3)
    assert expected in error.message


@pytest.mark.parametrize(
    ("manager", "line", "expected"),
    [
        ("pip", "django>=4", "only exact versions are supported"),
        ("pip", "django=4.2", "only exact versions are supported"),
        ("pip", "git+https://example.org/x.git", "A pip package name is letters"),
        ("npm", "pm2@", "a version follows the @"),
        ("npm", "PM2", "An npm package name is lower case"),
    ],
)
def test_bad_pip_and_npm_lines(tmp_path: Path, manager: str, line: str, expected: str) -> None:
    directory = toml_template(tmp_path)
    write(directory / "packages" / f"list.{manager}", f"{line}\n")
    error = only_error(load_catalog(tmp_path))
    assert (error.path, error.line) == (f"web/packages/list.{manager}", 1)
    assert expected in error.message


def test_package_listed_twice_is_reported_at_the_second_line(tmp_path: Path) -> None:
    directory = toml_template(tmp_path)
    write(directory / "packages" / "a.apt", "curl\nnginx\n")
    write(directory / "packages" / "b.apt", "\n\nnginx\n")
    error = only_error(load_catalog(tmp_path))
    assert (error.path, error.line) == ("web/packages/b.apt", 3)
    assert "nginx (apt) is listed twice" in error.message


def test_package_list_with_an_unknown_extension(tmp_path: Path) -> None:
    directory = toml_template(tmp_path)
    write(directory / "packages" / "base.txt", "curl\n")
    error = only_error(load_catalog(tmp_path))
    assert error.path == "web/packages/base.txt"
    assert "name it NAME.apt, NAME.npm or NAME.pip" in error.message


def test_custom_package_without_command(tmp_path: Path) -> None:
    toml_template(
        tmp_path, toml=MINIMAL_TOML + '\n[[packages]]\nmanager = "custom"\nname = "tool"\n'
    )
    error = only_error(load_catalog(tmp_path))
    assert (error.path, error.line) == ("web/template.toml", 4)
    assert error.message.startswith("packages.0.command: A custom package needs the command")


def test_declared_file_missing_and_undeclared_file(tmp_path: Path) -> None:
    directory = toml_template(
        tmp_path, toml=MINIMAL_TOML + '[[files]]\nname = "declared"\ntarget = "/etc/declared"\n'
    )
    write(directory / "files" / "stray", "x")
    result = load_catalog(tmp_path)
    assert result.templates == ()
    assert sorted(messages(result)) == [
        "web/files/declared: is missing",
        'web/files/stray: is not declared in template.toml: add a [[files]] entry with name = "stray" and its target path',
    ]


def test_file_with_a_relative_target_is_reported_at_the_target_line(tmp_path: Path) -> None:
    directory = toml_template(
        tmp_path, toml=MINIMAL_TOML + '[[files]]\nname = "a"\ntarget = "etc/a"\n'
    )
    write(directory / "files" / "a", "x")
    error = only_error(load_catalog(tmp_path))
    assert (error.path, error.line) == ("web/template.toml", 5)
    assert error.message == "files.0.target_path: The target path must be absolute (start with /)"


def test_file_name_cannot_leave_the_files_directory(tmp_path: Path) -> None:
    toml_template(
        tmp_path, toml=MINIMAL_TOML + '[[files]]\nname = "../template.toml"\ntarget = "/x"\n'
    )
    error = only_error(load_catalog(tmp_path))
    assert (error.path, error.line) == ("web/template.toml", 4)
    assert "is not a file name" in error.message


def test_bad_file_policy(tmp_path: Path) -> None:
    directory = toml_template(
        tmp_path, toml=MINIMAL_TOML + '[[files]]\nname = "a"\ntarget = "/a"\npolicy = "merge"\n'
    )
    write(directory / "files" / "a", "x")
    error = only_error(load_catalog(tmp_path))
    assert (error.path, error.line) == ("web/template.toml", 6)
    assert "policy must be one of replace, default, backup, not 'merge'" in error.message


def test_invalid_script_name_is_reported_on_the_script(tmp_path: Path) -> None:
    directory = toml_template(tmp_path)
    write(directory / "scripts" / "10 install nginx.sh", "true\n")
    error = only_error(load_catalog(tmp_path))
    assert error.path == "web/scripts/10 install nginx.sh"
    assert error.line is None
    assert error.message.startswith("scripts.0.name: A script name is letters, digits")


def test_scripts_directory_holds_only_sh_files(tmp_path: Path) -> None:
    directory = toml_template(tmp_path)
    write(directory / "scripts" / "10-install.bash", "true\n")
    error = only_error(load_catalog(tmp_path))
    assert error.path == "web/scripts/10-install.bash"
    assert "scripts end in .sh" in error.message


def test_script_with_crlf_line_endings(tmp_path: Path) -> None:
    directory = toml_template(tmp_path)
    write(directory / "scripts" / "10-a.sh", b"echo one\necho two\r\necho three\r\n")
    error = only_error(load_catalog(tmp_path))
    assert (error.path, error.line) == ("web/scripts/10-a.sh", 2)
    assert "CRLF" in error.message


def test_override_of_a_script_that_does_not_exist(tmp_path: Path) -> None:
    directory = toml_template(
        tmp_path, toml=MINIMAL_TOML + '\n[[scripts]]\nname = "99-missing.sh"\nenabled = false\n'
    )
    write(directory / "scripts" / "10-a.sh", "true\n")
    error = only_error(load_catalog(tmp_path))
    assert (error.path, error.line) == ("web/template.toml", 5)
    assert "there is no scripts/99-missing.sh (scripts found: 10-a.sh)" in error.message


def test_symlink_escaping_the_template_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "catalog"
    outside = write(tmp_path / "secret.sh", "cat /etc/shadow\n")
    directory = toml_template(root)
    (directory / "scripts").mkdir()
    (directory / "scripts" / "10-evil.sh").symlink_to(outside)
    error = only_error(load_catalog(root))
    assert error.path == "web/scripts/10-evil.sh"
    assert "leads outside the template directory" in error.message


def test_symlinked_directory_escaping_the_template_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "catalog"
    write(tmp_path / "elsewhere" / "10-a.sh", "true\n")
    directory = toml_template(root)
    (directory / "scripts").symlink_to(tmp_path / "elsewhere")
    error = only_error(load_catalog(root))
    assert error.path == "web/scripts"
    assert "leads outside the template directory" in error.message


def test_symlink_inside_the_template_is_followed(tmp_path: Path) -> None:
    directory = toml_template(
        tmp_path, toml=MINIMAL_TOML + '[[files]]\nname = "a"\ntarget = "/etc/a"\n'
    )
    write(directory / "shared" / "a.txt", "shared content\n")
    (directory / "files").mkdir()
    os.symlink("../shared/a.txt", directory / "files" / "a")
    (spec,) = load_catalog(tmp_path).templates
    assert spec.files[0].content == "shared content\n"


def test_broken_symlink_is_reported(tmp_path: Path) -> None:
    directory = toml_template(tmp_path)
    (directory / "scripts").mkdir()
    os.symlink("nowhere.sh", directory / "scripts" / "10-a.sh")
    error = only_error(load_catalog(tmp_path))
    assert error.path == "web/scripts/10-a.sh"
    assert "broken symbolic link" in error.message


def test_non_utf8_file_is_reported_with_its_line(tmp_path: Path) -> None:
    directory = toml_template(tmp_path)
    write(directory / "scripts" / "10-a.sh", b"echo ok\necho caf\xe9\n")
    error = only_error(load_catalog(tmp_path))
    assert (error.path, error.line) == ("web/scripts/10-a.sh", 2)
    assert "is not UTF-8 text (byte 0xe9" in error.message


def test_template_toml_with_a_bom_is_read(tmp_path: Path) -> None:
    toml_template(tmp_path, toml="\ufeff" + MINIMAL_TOML)
    (spec,) = load_catalog(tmp_path).templates
    assert spec.name == "Minimal"


# --- the catalog as a whole ---------------------------------------------------------------------


def test_missing_root_gives_one_error(tmp_path: Path) -> None:
    result = load_catalog(tmp_path / "nope")
    assert result.templates == ()
    error = only_error(result)
    assert error.path == str(tmp_path / "nope")
    assert error.message == "the template catalog does not exist"


def test_root_that_is_a_file(tmp_path: Path) -> None:
    error = only_error(load_catalog(write(tmp_path / "file", "x")))
    assert error.message == "the template catalog is not a directory"


def test_one_broken_template_does_not_stop_the_others(tmp_path: Path) -> None:
    toml_template(tmp_path, "alpha", 'name = "Alpha"\n')
    toml_template(tmp_path, "broken", 'name = "Broken\n')
    conf_template(tmp_path, "gamma", 'TEMPLATE_APP="Gamma"\n')
    result = load_catalog(tmp_path)
    assert [spec.slug for spec in result.templates] == ["alpha", "gamma"]
    assert [error.path for error in result.errors] == ["broken/template.toml"]


def test_hidden_entries_and_plain_files_are_ignored(tmp_path: Path) -> None:
    toml_template(tmp_path, ".hidden", 'name = "Hidden"\n')
    write(tmp_path / "README.md", "catalog notes\n")
    toml_template(tmp_path)
    result = load_catalog(tmp_path)
    assert [spec.slug for spec in result.templates] == ["web"]
    assert result.errors == ()


def test_directory_name_must_be_a_valid_slug(tmp_path: Path) -> None:
    toml_template(tmp_path, "bad slug!")
    error = only_error(load_catalog(tmp_path))
    assert error.path == "bad slug!"
    assert "is not a valid template slug" in error.message


def test_directory_with_both_or_neither_manifest(tmp_path: Path) -> None:
    both = toml_template(tmp_path, "both")
    write(both / "template.conf", 'TEMPLATE_APP="Both"\n')
    (tmp_path / "empty").mkdir()
    assert messages(load_catalog(tmp_path)) == [
        "both: holds both template.toml and template.conf; keep one of them",
        "empty: holds neither template.toml nor template.conf",
    ]


def test_duplicate_names_are_reported_on_the_second(tmp_path: Path) -> None:
    toml_template(tmp_path, "a-first", 'name = "Same name"\n')
    toml_template(tmp_path, "b-second", '# comment\nname = "same NAME"\n')
    result = load_catalog(tmp_path)
    assert [spec.slug for spec in result.templates] == ["a-first"]
    error = only_error(result)
    assert (error.path, error.line) == ("b-second/template.toml", 2)
    assert error.message == (
        "name: 'same NAME' is already the name of the template in a-first/ ('Same name'); "
        "template names must be unique"
    )


def test_catalog_error_str() -> None:
    assert str(CatalogError("web/template.toml", 3, "boom")) == "web/template.toml:3: boom"
    assert str(CatalogError("web", None, "boom")) == "web: boom"


# --- layout B: template.conf -----------------------------------------------------------------

FULL_CONF = """\
#!/bin/bash
# A template of the shell layout.
APP_NAME="Nextcloud"
export TEMPLATE_APP="$APP_NAME server"
TEMPLATE_DESCRIPTION='Files & calendars'   # trailing comment
TEMPLATE_TAGS="cloud;files; PHP"
TEMPLATE_OS=debian-12
TEMPLATE_VERSION="${NC_VERSION:-29.0}"
TEMPLATE_CPU=${CPU:-2}
TEMPLATE_RAM="2G"
TEMPLATE_DISK=${DISK-32}
TEMPLATE_UNPRIVILEGED=yes
TEMPLATE_NESTING=1
TEMPLATE_KEYCTL="false"
TEMPLATE_FUSE=off
TEMPLATE_SOMETHING_ELSE="ignored"
TEMPLATE_STORAGE=local-zfs
"""


def full_conf_template(root: Path) -> Path:
    directory = conf_template(root, "nextcloud", FULL_CONF)
    configs = directory / "container-configs"
    write(configs / "scripts" / "02-app.sh", "echo app\n")
    write(configs / "scripts" / "01-base.sh", "echo base\n")
    write(configs / "packages" / "base.apt", "apache2\nphp=2:8.2+93\n")
    write(configs / "packages" / "tools.npm", "@vue/cli@5.0.8\n")
    write(configs / "files" / "nextcloud.conf", "<VirtualHost *:80></VirtualHost>\n")
    write(
        configs / "files" / "nextcloud.conf.path", "/etc/apache2/sites-available/nextcloud.conf\n"
    )
    write(configs / "files" / "nextcloud.conf.policy", "backup\n")
    write(configs / "files" / "motd", "hello\n")
    write(configs / "files" / "motd.path", "\n/etc/motd\n\n")
    write(configs / "files" / "motd.mode", "0600\n")
    return directory


def test_conf_template_is_read_completely(tmp_path: Path) -> None:
    directory = full_conf_template(tmp_path)
    result = load_catalog(tmp_path)
    assert result.errors == ()
    (spec,) = result.templates
    assert spec.name == "Nextcloud server"
    assert spec.slug == "nextcloud"
    assert spec.description == "Files & calendars"
    assert spec.tags == ("cloud", "files", "php")
    assert spec.os_template == "debian-12-standard"
    assert spec.version == "29.0"
    assert spec.resources == Resources(cores=2, memory_mb=2048, swap_mb=512, disk_gb=32)
    assert spec.storage == "local-zfs"
    assert spec.bridge == "vmbr0"
    assert (
        spec.features.unprivileged,
        spec.features.nesting,
        spec.features.keyctl,
        spec.features.fuse,
    ) == (True, True, False, False)
    assert [(s.name, s.content, s.enabled) for s in spec.scripts] == [
        ("01-base.sh", "echo base\n", True),
        ("02-app.sh", "echo app\n", True),
    ]
    assert spec.packages == (
        PackageSpec("apt", "apache2"),
        PackageSpec("apt", "php", "2:8.2+93"),
        PackageSpec("npm", "@vue/cli", "5.0.8"),
    )
    assert spec.files == (
        FileSpec("motd", "/etc/motd", "hello\n", "replace", "0600"),
        FileSpec(
            "nextcloud.conf",
            "/etc/apache2/sites-available/nextcloud.conf",
            "<VirtualHost *:80></VirtualHost>\n",
            "backup",
            "0644",
        ),
    )
    assert spec.source == "filesystem"
    assert spec.source_path == str(directory)


def test_conf_without_container_configs(tmp_path: Path) -> None:
    conf_template(tmp_path, conf="TEMPLATE_APP=Bare\n")
    (spec,) = load_catalog(tmp_path).templates
    assert spec.name == "Bare"
    assert spec.scripts == spec.files == spec.packages == ()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain", "plain"),
        ('"double quoted"', "double quoted"),
        ("'single $NOT expanded'", "single $NOT expanded"),
        ('"esc \\"q\\" \\$x"', 'esc "q" $x'),
        ("mixed'a b'\"c d\"", "mixeda bc d"),
        ("${UNSET:-fallback value}", "fallback value"),
        ('"${UNSET:-"quoted default"}"', "quoted default"),
        ("${FIRST:-x}", "one"),
        ("${EMPTY:-was empty}", "was empty"),
        ("${EMPTY-kept empty}", ""),
        ("${UNSET-unset}", "unset"),
        ("${FIRST:+set}", "set"),
        ("${UNSET:+set}", ""),
        ("$FIRST-$FIRST", "one-one"),
        ('"${FIRST}two"', "onetwo"),
        ("${UNSET:-${FIRST}}", "one"),
        ("value # comment", "value"),
        ("a#b", "a#b"),
        ("", ""),
    ],
)
def test_conf_value_syntax(tmp_path: Path, value: str, expected: str) -> None:
    conf = f"FIRST=one\nEMPTY=\nTEMPLATE_APP=App\nTEMPLATE_DESCRIPTION={value}\n"
    conf_template(tmp_path, conf=conf)
    result = load_catalog(tmp_path)
    assert result.errors == ()
    assert result.templates[0].description == expected


def test_conf_default_assignment_sets_the_variable(tmp_path: Path) -> None:
    conf_template(
        tmp_path, conf='TEMPLATE_APP="${NAME:=Assigned}"\nTEMPLATE_DESCRIPTION="$NAME again"\n'
    )
    (spec,) = load_catalog(tmp_path).templates
    assert (spec.name, spec.description) == ("Assigned", "Assigned again")


def test_conf_quoted_value_spanning_lines(tmp_path: Path) -> None:
    conf_template(
        tmp_path, conf='TEMPLATE_APP=App\nTEMPLATE_DESCRIPTION="first\nsecond"\nTEMPLATE_CPU=3\n'
    )
    (spec,) = load_catalog(tmp_path).templates
    assert spec.description == "first\nsecond"
    assert spec.resources.cores == 3


def test_conf_never_reads_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_FROM_ENV", "Leaked")
    conf_template(tmp_path, conf='TEMPLATE_APP="${APP_FROM_ENV:-Default}"\n')
    (spec,) = load_catalog(tmp_path).templates
    assert spec.name == "Default"


def test_conf_garbage_line_is_reported_with_its_number(tmp_path: Path) -> None:
    conf_template(tmp_path, conf='TEMPLATE_APP="App"\n\nsource ./other.conf\nTEMPLATE_CPU=2\n')
    error = only_error(load_catalog(tmp_path))
    assert (error.path, error.line) == ("shell/template.conf", 3)
    assert error.message == "is not a KEY=VALUE line: 'source ./other.conf'"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "TEMPLATE_DESCRIPTION=two words",
            "TEMPLATE_DESCRIPTION: put the value in quotes: it holds a blank",
        ),
        ("TEMPLATE_TAGS=a;b", "TEMPLATE_TAGS: put the value in quotes: ';' is shell syntax here"),
        ("TEMPLATE_VERSION=$(date +%F)", "command substitution $(...) is not supported"),
        ('TEMPLATE_VERSION="`date`"', "command substitution (`...`) is not supported"),
        ("TEMPLATE_VERSION=${#APP}", "is not supported: use ${VAR} or ${VAR:-default}"),
        ("TEMPLATE_CPU = 2", "is not a KEY=VALUE line"),
        ("TEMPLATE_CPU=two", "TEMPLATE_CPU must be a whole number (units: no unit), not 'two'"),
        ("TEMPLATE_RAM=2T", "TEMPLATE_RAM must be a whole number"),
        (
            "TEMPLATE_NESTING=maybe",
            "TEMPLATE_NESTING must be yes/no, true/false or 1/0, not 'maybe'",
        ),
        (
            "TEMPLATE_OS=windows-11",
            "TEMPLATE_OS: cannot tell which Proxmox OS template 'windows-11' means",
        ),
    ],
)
def test_conf_bad_values_are_reported_on_their_line(
    tmp_path: Path, line: str, expected: str
) -> None:
    conf_template(tmp_path, conf=f"# header\nTEMPLATE_APP=App\n{line}\n")
    error = only_error(load_catalog(tmp_path))
    assert (error.path, error.line) == ("shell/template.conf", 3)
    assert expected in error.message


def test_conf_unterminated_quote(tmp_path: Path) -> None:
    conf_template(
        tmp_path, conf='TEMPLATE_APP=App\nTEMPLATE_DESCRIPTION="never closed\nTEMPLATE_CPU=2\n'
    )
    error = only_error(load_catalog(tmp_path))
    assert (error.path, error.line) == ("shell/template.conf", 2)
    assert "the quote opened here is never closed" in error.message


def test_conf_name_from_an_unset_variable_is_an_error(tmp_path: Path) -> None:
    conf_template(tmp_path, conf='# name\n\nTEMPLATE_APP="${APP_NAME}"\n')
    error = only_error(load_catalog(tmp_path))
    assert (error.path, error.line) == ("shell/template.conf", 3)
    assert "TEMPLATE_APP (the template's name) is empty" in error.message
    assert "${APP_NAME}" in error.message


def test_conf_without_a_name(tmp_path: Path) -> None:
    conf_template(tmp_path, conf="TEMPLATE_CPU=2\n")
    error = only_error(load_catalog(tmp_path))
    assert (error.path, error.line) == ("shell/template.conf", None)
    assert "TEMPLATE_APP (the template's name) is missing" in error.message


def test_conf_unset_optional_value_takes_the_default(tmp_path: Path) -> None:
    conf_template(tmp_path, conf='TEMPLATE_APP=App\nTEMPLATE_CPU="${CPUS}"\n')
    (spec,) = load_catalog(tmp_path).templates
    assert spec.resources.cores == Resources().cores


def test_conf_rule_broken_in_validate_template_is_reported_at_its_line(tmp_path: Path) -> None:
    conf_template(tmp_path, conf="TEMPLATE_APP=App\nTEMPLATE_TAGS='ok;Not Good!'\n")
    error = only_error(load_catalog(tmp_path))
    assert (error.path, error.line) == ("shell/template.conf", 2)
    assert error.message.startswith("tags: Tags are lower case")


def test_conf_file_without_path_sidecar(tmp_path: Path) -> None:
    directory = conf_template(tmp_path)
    write(directory / "container-configs" / "files" / "nginx.conf", "events {}\n")
    error = only_error(load_catalog(tmp_path))
    assert error.path == "shell/container-configs/files/nginx.conf"
    assert "has no nginx.conf.path beside it" in error.message


def test_conf_sidecar_without_its_file(tmp_path: Path) -> None:
    directory = conf_template(tmp_path)
    write(directory / "container-configs" / "files" / "gone.conf.path", "/etc/gone.conf\n")
    error = only_error(load_catalog(tmp_path))
    assert error.path == "shell/container-configs/files/gone.conf.path"
    assert "sidecar of 'gone.conf', which does not exist" in error.message


def test_conf_bad_policy_and_path_sidecars(tmp_path: Path) -> None:
    files = conf_template(tmp_path) / "container-configs" / "files"
    write(files / "a", "x")
    write(files / "a.path", "/etc/a\n")
    write(files / "a.policy", "merge\n")
    write(files / "b", "x")
    write(files / "b.path", "/etc/b\n/etc/c\n")
    assert sorted(messages(load_catalog(tmp_path))) == [
        "shell/container-configs/files/a.policy:1: the policy must be one of replace, default, backup, not 'merge'",
        "shell/container-configs/files/b.path:2: holds more than one line: it should hold only the target path",
    ]


def test_conf_relative_target_is_reported_on_the_path_sidecar(tmp_path: Path) -> None:
    files = conf_template(tmp_path) / "container-configs" / "files"
    write(files / "c", "x")
    write(files / "c.path", "relative/c\n")
    error = only_error(load_catalog(tmp_path))
    assert (error.path, error.line) == ("shell/container-configs/files/c.path", 1)
    assert error.message == "files.0.target_path: The target path must be absolute (start with /)"


def test_conf_bad_package_line(tmp_path: Path) -> None:
    directory = conf_template(tmp_path)
    write(directory / "container-configs" / "packages" / "web.pip", "flask\nDjango>=4\n")
    error = only_error(load_catalog(tmp_path))
    assert (error.path, error.line) == ("shell/container-configs/packages/web.pip", 2)


def test_conf_escaping_symlink_for_container_configs(tmp_path: Path) -> None:
    root = tmp_path / "catalog"
    write(tmp_path / "outside" / "scripts" / "01-a.sh", "true\n")
    directory = conf_template(root)
    (directory / "container-configs").symlink_to(tmp_path / "outside")
    error = only_error(load_catalog(root))
    assert error.path == "shell/container-configs"
    assert "leads outside the template directory" in error.message


def test_conf_non_utf8(tmp_path: Path) -> None:
    conf_template(tmp_path, conf="")
    write(tmp_path / "shell" / "template.conf", b"TEMPLATE_APP=App\n\nTEMPLATE_DESCRIPTION=\xff\n")
    error = only_error(load_catalog(tmp_path))
    assert (error.path, error.line) == ("shell/template.conf", 3)
    assert "is not UTF-8 text" in error.message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("debian-12", "debian-12-standard"),
        ("Debian 12", "debian-12-standard"),
        ("debian12", "debian-12-standard"),
        ("bookworm", "debian-12-standard"),
        ("trixie", "debian-13-standard"),
        ("ubuntu-24.04", "ubuntu-24.04-standard"),
        ("ubuntu:22.04", "ubuntu-22.04-standard"),
        ("noble", "ubuntu-24.04-standard"),
        ("alpine-3.20", "alpine-3.20-default"),
        ("rocky-9", "rockylinux-9-default"),
        ("centos-9", "centos-9-stream-default"),
        ("archlinux", "archlinux-base"),
        ("debian-12-standard", "debian-12-standard"),
        ("local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst", "ubuntu-24.04-standard"),
    ],
)
def test_os_template_from_shell(value: str, expected: str) -> None:
    assert os_template_from_shell(value) == expected


@pytest.mark.parametrize("value", ["debian", "windows-11", "", "ubuntu-latest"])
def test_os_template_from_shell_refuses_what_it_cannot_map(value: str) -> None:
    with pytest.raises(ValueError, match="cannot tell which Proxmox OS template"):
        os_template_from_shell(value)


# --- the shipped catalog ---------------------------------------------------------------------


def test_shipped_catalog_loads_without_errors() -> None:
    result = load_catalog(default_catalog_dir())
    assert messages(result) == []
    slugs = {spec.slug for spec in result.templates}
    assert {"debian-hardened", "docker-host", "python-web-app"} <= slugs
    assert len(result.templates) >= 3
    for spec in result.templates:
        assert validate_template(spec) == {}
        assert spec.scripts, spec.slug
        assert spec.os_template.endswith("-standard"), spec.slug
        assert all(script.content.startswith("#!/usr/bin/env bash\n") for script in spec.scripts)


def test_shipped_docker_host_has_what_docker_needs() -> None:
    specs = {spec.slug: spec for spec in load_catalog(default_catalog_dir()).templates}
    docker = specs["docker-host"]
    assert docker.features.nesting and docker.features.keyctl and docker.features.unprivileged
    (daemon,) = docker.files
    assert (daemon.target_path, daemon.policy) == ("/etc/docker/daemon.json", "default")
    web = specs["python-web-app"]
    assert any("save_credential webapp SECRET_KEY" in s.content for s in web.scripts)


def test_shipped_wsgi_application_answers() -> None:
    """The python-web-app template's application (files/wsgi.py.in) really serves requests."""
    specs = {spec.slug: spec for spec in load_catalog(default_catalog_dir()).templates}
    (app_file,) = [f for f in specs["python-web-app"].files if f.target_path.endswith("wsgi.py")]
    namespace: dict[str, object] = {}
    exec(compile(app_file.content, app_file.target_path, "exec"), namespace)
    application = namespace["application"]
    assert callable(application)

    def call(path: str) -> tuple[str, dict[str, str], bytes]:
        seen: dict[str, object] = {}

        def start_response(status: str, headers: list[tuple[str, str]]) -> None:
            seen["status"], seen["headers"] = status, dict(headers)

        body = b"".join(application({"PATH_INFO": path, "REQUEST_METHOD": "GET"}, start_response))
        headers = seen["headers"]
        assert isinstance(headers, dict)
        assert headers["Content-Length"] == str(len(body))
        return str(seen["status"]), headers, body

    status, headers, body = call("/healthz")
    assert (status, headers["Content-Type"]) == ("200 OK", "application/json")
    assert b'"status": "ok"' in body
    status, headers, body = call("/")
    assert status == "200 OK" and b"It works" in body
    assert call("/missing")[0] == "404 Not Found"


def test_file_too_large_is_reported_on_the_file(tmp_path: Path) -> None:
    directory = toml_template(
        tmp_path, toml=MINIMAL_TOML + '[[files]]\nname = "big"\ntarget = "/big"\n'
    )
    write(directory / "files" / "big", "x" * (1024 * 1024 + 1))
    error = only_error(load_catalog(tmp_path))
    assert (error.path, error.line) == ("web/files/big", None)
    assert error.message == "files.0.content: A file is at most 1024 KiB"
