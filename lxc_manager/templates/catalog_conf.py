"""Layout B of the template catalog: template.conf and its `container-configs/` directory.

The shell layout of existing LXC template collections: `TEMPLATE_*` keys (parsed by
`catalog_shell`), scripts, package lists and files with `.path` / `.policy` / `.mode`
sidecars, read into a `TemplateSpec`; `os_template_from_shell` maps TEMPLATE_OS.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Final, cast

from .catalog_reader import (
    CONF_FILE,
    SHELL_CONFIG_DIR,
    TemplateDir,
    load_package_lists,
    load_scripts,
)
from .catalog_shell import parse_conf
from .spec import (
    FILE_POLICIES,
    Features,
    FilePolicy,
    FileSpec,
    Resources,
    TemplateSpec,
    normalize_tags,
)

_OS_SUFFIX: Final = {
    "debian": "standard",
    "ubuntu": "standard",
    "devuan": "standard",
    "alpine": "default",
    "fedora": "default",
    "rockylinux": "default",
    "almalinux": "default",
    "opensuse": "default",
    "centos": "stream-default",
}
_OS_ALIASES: Final = {"rocky": "rockylinux", "alma": "almalinux", "suse": "opensuse"}
_CODENAMES: Final = {
    "buster": "debian-10",
    "bullseye": "debian-11",
    "bookworm": "debian-12",
    "trixie": "debian-13",
    "focal": "ubuntu-20.04",
    "jammy": "ubuntu-22.04",
    "noble": "ubuntu-24.04",
    "oracular": "ubuntu-24.10",
    "plucky": "ubuntu-25.04",
}
_OS_RELEASE = re.compile(r"^([a-z]+)-?(\d+(?:\.\d+)*)$")


def os_template_from_shell(value: str) -> str:
    """TEMPLATE_OS of the shell layout -> an os_template pattern.

    `debian-12` -> `debian-12-standard`, `ubuntu-24.04` -> `ubuntu-24.04-standard`,
    `alpine-3.20` -> `alpine-3.20-default`, `bookworm` -> `debian-12-standard`,
    `archlinux` -> `archlinux-base`; a pattern (`debian-12-standard`) or a full template
    file name (`local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst`) gives its pattern.
    Raises ValueError for anything else.
    """
    text = value.strip().lower()
    text = text.rpartition("/")[2].partition("_")[0] if "_" in text or "/" in text else text
    text = re.sub(r"[\s:]+", "-", text)
    text = _CODENAMES.get(text, text)
    if text.endswith(("-standard", "-default", "-base")) or text == "archlinux-base":
        return text
    if text in ("archlinux", "arch"):
        return "archlinux-base"
    match = _OS_RELEASE.match(text)
    if match:
        distro = _OS_ALIASES.get(match.group(1), match.group(1))
        suffix = _OS_SUFFIX.get(distro)
        if suffix:
            return f"{distro}-{match.group(2)}-{suffix}"
    raise ValueError(
        f"cannot tell which Proxmox OS template {value!r} means; write it as "
        "debian-12, ubuntu-24.04, alpine-3.20 (or a template name such as debian-12-standard)"
    )


_TRUE: Final = ("1", "yes", "true", "on", "y")
_FALSE: Final = ("0", "no", "false", "off", "n")
_SIZE = re.compile(r"^(\d+)\s*([a-z]*)$")


def load_conf(tpl: TemplateDir, slug: str, path: Path) -> TemplateSpec | None:
    text = tpl.read_text(path)
    if text is None:
        return None
    values = parse_conf(tpl, path, text)
    rel = tpl.rel(path)
    conf_keys = {
        "name": "TEMPLATE_APP",
        "slug": "TEMPLATE_APP",
        "description": "TEMPLATE_DESCRIPTION",
        "tags": "TEMPLATE_TAGS",
        "os_template": "TEMPLATE_OS",
        "version": "TEMPLATE_VERSION",
        "resources.cores": "TEMPLATE_CPU",
        "resources.memory_mb": "TEMPLATE_RAM",
        "resources.swap_mb": "TEMPLATE_SWAP",
        "resources.disk_gb": "TEMPLATE_DISK",
        "storage": "TEMPLATE_STORAGE",
        "bridge": "TEMPLATE_BRIDGE",
        "features.unprivileged": "TEMPLATE_UNPRIVILEGED",
        "features.nesting": "TEMPLATE_NESTING",
        "features.keyctl": "TEMPLATE_KEYCTL",
        "features.fuse": "TEMPLATE_FUSE",
    }
    for field_key, conf_key in conf_keys.items():
        if conf_key in values:
            tpl.origins[field_key] = (rel, values[conf_key].line)

    def text_of(key: str) -> str:
        found = values.get(key)
        return found.value.strip() if found else ""

    def line_of(key: str) -> int | None:
        found = values.get(key)
        return found.line if found else None

    def empty_because(key: str) -> str:
        found = values.get(key)
        if found and found.unset:
            names = ", ".join(f"${{{name}}}" for name in found.unset)
            return f" (it refers to {names}, which is not set earlier in {CONF_FILE})"
        return ""

    name = text_of("TEMPLATE_APP")
    if not name:
        where = (
            "is empty" + empty_because("TEMPLATE_APP") if "TEMPLATE_APP" in values else "is missing"
        )
        tpl.error(path, line_of("TEMPLATE_APP"), f"TEMPLATE_APP (the template's name) {where}")

    def number(key: str, default: int, units: Mapping[str, int]) -> int:
        raw = text_of(key).lower()
        if not raw:
            return default
        match = _SIZE.match(raw)
        if match and match.group(2) in units:
            return int(match.group(1)) * units[match.group(2)]
        accepted = ", ".join(repr(unit) for unit in units if unit) or "no unit"
        tpl.error(
            path, line_of(key), f"{key} must be a whole number (units: {accepted}), not {raw!r}"
        )
        return default

    def flag(key: str, default: bool) -> bool:
        raw = text_of(key).lower()
        if not raw:
            return default
        if raw in _TRUE:
            return True
        if raw in _FALSE:
            return False
        tpl.error(path, line_of(key), f"{key} must be yes/no, true/false or 1/0, not {raw!r}")
        return default

    base = Resources()
    megabytes = {"": 1, "m": 1, "mb": 1, "mib": 1, "g": 1024, "gb": 1024, "gib": 1024}
    resources = Resources(
        cores=number("TEMPLATE_CPU", base.cores, {"": 1}),
        memory_mb=number("TEMPLATE_RAM", base.memory_mb, megabytes),
        swap_mb=number("TEMPLATE_SWAP", base.swap_mb, megabytes),
        disk_gb=number("TEMPLATE_DISK", base.disk_gb, {"": 1, "g": 1, "gb": 1, "gib": 1}),
    )
    defaults = Features()
    features = Features(
        unprivileged=flag("TEMPLATE_UNPRIVILEGED", defaults.unprivileged),
        nesting=flag("TEMPLATE_NESTING", defaults.nesting),
        keyctl=flag("TEMPLATE_KEYCTL", defaults.keyctl),
        fuse=flag("TEMPLATE_FUSE", defaults.fuse),
    )
    os_template = ""
    if raw_os := text_of("TEMPLATE_OS"):
        try:
            os_template = os_template_from_shell(raw_os)
        except ValueError as exc:
            tpl.error(path, line_of("TEMPLATE_OS"), f"TEMPLATE_OS: {exc}")

    configs = tpl.directory / SHELL_CONFIG_DIR
    if (configs.exists() or configs.is_symlink()) and not tpl.inside(configs):
        return None
    scripts = load_scripts(tpl, configs / "scripts")
    packages = load_package_lists(tpl, configs / "packages")
    files = _conf_files(tpl, configs / "files")
    if tpl.errors:
        return None
    return TemplateSpec(
        name=name,
        slug=slug,
        description=text_of("TEMPLATE_DESCRIPTION"),
        tags=normalize_tags(text_of("TEMPLATE_TAGS")),
        os_template=os_template,
        version=text_of("TEMPLATE_VERSION"),
        resources=resources,
        storage=text_of("TEMPLATE_STORAGE"),
        bridge=text_of("TEMPLATE_BRIDGE") or TemplateSpec.bridge,
        features=features,
        scripts=tuple(scripts),
        files=tuple(files),
        packages=tuple(packages),
        source="filesystem",
        source_path=str(tpl.directory),
    )


SIDECARS: Final = (".path", ".policy", ".mode")


def _conf_files(tpl: TemplateDir, directory: Path) -> list[FileSpec]:
    entries = tpl.listing(directory, label="files") or []
    names = {entry.name for entry in entries}
    files: list[FileSpec] = []
    for entry in entries:
        sidecar = next((suffix for suffix in SIDECARS if entry.name.endswith(suffix)), None)
        if sidecar is not None:
            if entry.name[: -len(sidecar)] not in names:
                tpl.error(
                    entry,
                    None,
                    f"is a {sidecar} sidecar of {entry.name[: -len(sidecar)]!r}, which does not exist",
                )
            continue
        if entry.is_dir() and not entry.is_symlink():
            tpl.error(entry, None, "sub-directories are not read: put each file directly in files/")
            continue
        target_path = directory / f"{entry.name}.path"
        if f"{entry.name}.path" not in names:
            tpl.error(
                entry,
                None,
                f"has no {entry.name}.path beside it: write the absolute target path "
                f"(e.g. /etc/app/{entry.name}) into {entry.name}.path",
            )
            continue
        target = _sidecar_value(tpl, target_path, "the target path")
        policy = "replace"
        if f"{entry.name}.policy" in names:
            policy_path = directory / f"{entry.name}.policy"
            policy = _sidecar_value(tpl, policy_path, "the policy") or ""
            if policy not in FILE_POLICIES:
                tpl.error(
                    policy_path,
                    1,
                    f"the policy must be one of {', '.join(FILE_POLICIES)}, not {policy!r}",
                )
                continue
        mode = "0644"
        if f"{entry.name}.mode" in names:
            mode = _sidecar_value(tpl, directory / f"{entry.name}.mode", "the mode") or ""
        content = tpl.read_text(entry)
        if content is None or target is None:
            continue
        index = len(files)
        tpl.origins[f"files.{index}"] = (tpl.rel(entry), None)
        tpl.origins[f"files.{index}.target_path"] = (tpl.rel(target_path), 1)
        tpl.origins[f"files.{index}.policy"] = (tpl.rel(directory / f"{entry.name}.policy"), 1)
        tpl.origins[f"files.{index}.mode"] = (tpl.rel(directory / f"{entry.name}.mode"), 1)
        files.append(
            FileSpec(
                name=entry.name,
                target_path=target,
                content=content,
                policy=cast(FilePolicy, policy),
                mode=mode,
            )
        )
    return files


def _sidecar_value(tpl: TemplateDir, path: Path, what: str) -> str | None:
    """The one non-blank line of a sidecar file."""
    text = tpl.read_text(path)
    if text is None:
        return None
    lines = [
        (number, line.strip()) for number, line in enumerate(text.splitlines(), 1) if line.strip()
    ]
    if not lines:
        tpl.error(path, None, f"is empty: it should hold {what}")
        return None
    if len(lines) > 1:
        tpl.error(path, lines[1][0], f"holds more than one line: it should hold only {what}")
        return None
    return lines[0][1]
