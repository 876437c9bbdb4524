"""Layout A of the template catalog: a template.toml manifest read into a `TemplateSpec`.

The manifest's keys are checked (unknown keys get a suggestion), each value's type is
checked, and the line of every key is remembered so that errors name the right line.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, cast

from .catalog_reader import (
    PACKAGE_SUFFIXES,
    TOML_FILE,
    TemplateDir,
    file_content,
    load_package_lists,
    load_scripts,
)
from .spec import (
    FEATURE_PRESETS,
    FILE_NAME_PATTERN,
    FILE_POLICIES,
    Features,
    FilePolicy,
    FileSpec,
    PackageManager,
    PackageSpec,
    Resources,
    ScriptSpec,
    TemplateSpec,
    normalize_tags,
)

TOP_KEYS: Final = (
    "name",
    "description",
    "tags",
    "os_template",
    "version",
    "storage",
    "buckets",
    "resources",
    "network",
    "features",
    "files",
    "scripts",
    "packages",
)
RESOURCE_KEYS: Final = ("cores", "memory_mb", "swap_mb", "disk_gb")
NETWORK_KEYS: Final = ("bridge",)
FEATURE_KEYS: Final = ("preset", "unprivileged", "nesting", "keyctl", "fuse")
FILE_KEYS: Final = ("name", "target", "policy", "mode")
SCRIPT_KEYS: Final = ("name", "enabled")
PACKAGE_KEYS: Final = ("manager", "name", "version", "command")
_TOML_LINE: Final = re.compile(r"\(at line (\d+), column (\d+)\)$")


class _Toml:
    """A parsed template.toml with the line where each key was set."""

    def __init__(self, tpl: TemplateDir, path: Path, data: dict[str, Any], lines: dict[str, int]):
        self.tpl = tpl
        self.path = path
        self.data = data
        self.lines = lines

    def line(self, key: str) -> int | None:
        parts = key.split(".")
        for end in range(len(parts), 0, -1):
            found = self.lines.get(".".join(parts[:end]))
            if found is not None:
                return found
        return None

    def error(self, key: str, message: str) -> None:
        self.tpl.error(self.path, self.line(key), message)

    def note_origin(self, field_key: str, toml_key: str) -> None:
        self.tpl.origins[field_key] = (self.tpl.rel(self.path), self.line(toml_key))

    def check_keys(self, table: Mapping[str, Any], known: tuple[str, ...], prefix: str) -> None:
        for key in table:
            if key not in known:
                full = f"{prefix}{key}"
                hint = difflib.get_close_matches(key, known, n=1)
                suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
                self.error(
                    full,
                    f"unknown key {full!r}{suggestion}; known keys here: {', '.join(known)}",
                )

    def string(self, table: Mapping[str, Any], key: str, full: str, default: str = "") -> str:
        value = table.get(key, default)
        if isinstance(value, str):
            return value
        self.error(full, f"{full} must be a string (in quotes), not {_toml_type(value)}")
        return default

    def integer(self, table: Mapping[str, Any], key: str, full: str, default: int) -> int:
        value = table.get(key, default)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        self.error(full, f"{full} must be a whole number, not {_toml_type(value)}")
        return default

    def boolean(self, table: Mapping[str, Any], key: str, full: str, default: bool) -> bool:
        value = table.get(key, default)
        if isinstance(value, bool):
            return value
        self.error(full, f"{full} must be true or false, not {_toml_type(value)}")
        return default

    def table(self, key: str) -> dict[str, Any]:
        value = self.data.get(key, {})
        if isinstance(value, dict):
            return cast(dict[str, Any], value)
        self.error(key, f"{key} must be a table ([{key}]), not {_toml_type(value)}")
        return {}

    def array_of_tables(self, key: str) -> list[dict[str, Any]]:
        value = self.data.get(key, [])
        if isinstance(value, list) and all(isinstance(item, dict) for item in value):
            return cast(list[dict[str, Any]], value)
        self.error(key, f"{key} must be written as [[{key}]] tables")
        return []

    def string_list(self, key: str) -> list[str]:
        value = self.data.get(key, [])
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return cast(list[str], value)
        self.error(key, f'{key} must be a list of strings, e.g. {key} = ["a", "b"]')
        return []


def _toml_type(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def load_toml(tpl: TemplateDir, slug: str, path: Path) -> TemplateSpec | None:
    text = tpl.read_text(path)
    if text is None:
        return None
    text = text.removeprefix("\ufeff")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = _TOML_LINE.search(message)
        line = int(found.group(1)) if found else None
        if found:
            message = f"{message[: found.start()].rstrip()} (column {found.group(2)})"
        tpl.error(path, line, f"is not valid TOML: {message}")
        return None
    doc = _Toml(tpl, path, data, _toml_key_lines(text))
    doc.check_keys(data, TOP_KEYS, "")
    for key in ("name", "description", "tags", "os_template", "version", "storage", "buckets"):
        doc.note_origin(key, key)
    name = doc.string(data, "name", "name")
    description = doc.string(data, "description", "description")
    tags = normalize_tags(doc.string_list("tags"))
    os_template = doc.string(data, "os_template", "os_template")
    version = doc.string(data, "version", "version")
    storage = doc.string(data, "storage", "storage")
    buckets = doc.string_list("buckets")
    if any(not bucket.strip() for bucket in buckets):
        doc.error("buckets", "a bucket name cannot be empty")

    resources_table = doc.table("resources")
    doc.check_keys(resources_table, RESOURCE_KEYS, "resources.")
    base = Resources()
    values = {
        key: doc.integer(resources_table, key, f"resources.{key}", getattr(base, key))
        for key in RESOURCE_KEYS
    }
    for key in RESOURCE_KEYS:
        doc.note_origin(f"resources.{key}", f"resources.{key}")
    resources = Resources(**values)

    network = doc.table("network")
    doc.check_keys(network, NETWORK_KEYS, "network.")
    bridge = doc.string(network, "bridge", "network.bridge", TemplateSpec.bridge)
    doc.note_origin("bridge", "network.bridge")
    doc.note_origin("storage", "storage")

    features = _toml_features(doc)
    scripts = _toml_scripts(doc, tpl.directory / "scripts")
    files = _toml_files(doc, tpl.directory / "files")
    packages = load_package_lists(tpl, tpl.directory / "packages")
    packages.extend(_toml_packages(doc, first_index=len(packages)))
    if tpl.errors:
        return None
    return TemplateSpec(
        name=name,
        slug=slug,
        description=description,
        tags=tags,
        os_template=os_template,
        version=version,
        resources=resources,
        storage=storage,
        bridge=bridge,
        features=features,
        scripts=tuple(scripts),
        files=tuple(files),
        packages=tuple(packages),
        buckets=tuple(buckets),
        source="filesystem",
        source_path=str(tpl.directory),
    )


def _toml_features(doc: _Toml) -> Features:
    table = doc.table("features")
    doc.check_keys(table, FEATURE_KEYS, "features.")
    values: dict[str, bool] = {}
    if "preset" in table:
        preset = doc.string(table, "preset", "features.preset")
        if preset in FEATURE_PRESETS:
            values.update(FEATURE_PRESETS[preset][1])
        elif preset:
            doc.error(
                "features.preset",
                f"unknown feature preset {preset!r}; choose one of {', '.join(FEATURE_PRESETS)}",
            )
    base = Features(**values)
    for key in ("unprivileged", "nesting", "keyctl", "fuse"):
        values[key] = doc.boolean(table, key, f"features.{key}", getattr(base, key))
        doc.note_origin(f"features.{key}", f"features.{key}")
    return Features(**values)


def _toml_scripts(doc: _Toml, directory: Path) -> list[ScriptSpec]:
    scripts = load_scripts(doc.tpl, directory)
    by_name = {script.name: index for index, script in enumerate(scripts)}
    seen: set[str] = set()
    for index, entry in enumerate(doc.array_of_tables("scripts")):
        key = f"scripts.{index}"
        doc.check_keys(entry, SCRIPT_KEYS, f"{key}.")
        name = doc.string(entry, "name", f"{key}.name")
        enabled = doc.boolean(entry, "enabled", f"{key}.enabled", True)
        if not name:
            doc.error(key, "a [[scripts]] entry needs the name of a file in scripts/")
        elif name in seen:
            doc.error(f"{key}.name", f"the script {name!r} has two [[scripts]] entries")
        elif name not in by_name:
            known = ", ".join(by_name) or "none"
            doc.error(f"{key}.name", f"there is no scripts/{name} (scripts found: {known})")
        else:
            position = by_name[name]
            scripts[position] = ScriptSpec(
                name=name, content=scripts[position].content, enabled=enabled
            )
        seen.add(name)
    return scripts


def _toml_files(doc: _Toml, directory: Path) -> list[FileSpec]:
    tpl = doc.tpl
    files: list[FileSpec] = []
    declared: set[str] = set()
    for index, entry in enumerate(doc.array_of_tables("files")):
        key = f"files.{index}"
        doc.check_keys(entry, FILE_KEYS, f"{key}.")
        name = doc.string(entry, "name", f"{key}.name")
        target = doc.string(entry, "target", f"{key}.target")
        policy = doc.string(entry, "policy", f"{key}.policy", "replace")
        mode = _toml_mode(doc, entry, f"{key}.mode")
        if not name:
            doc.error(key, "a [[files]] entry needs a name (its content is files/<name>)")
            continue
        if not FILE_NAME_PATTERN.match(name):
            doc.error(f"{key}.name", f"{name!r} is not a file name: use letters, digits, . _ -")
            continue
        declared.add(name)
        if not target:
            doc.error(key, f"the file {name!r} needs a target (the absolute path it is written to)")
        if policy not in FILE_POLICIES:
            doc.error(
                f"{key}.policy", f"policy must be one of {', '.join(FILE_POLICIES)}, not {policy!r}"
            )
            continue
        content = file_content(tpl, directory / name)
        if content is None:
            continue
        for field_name, toml_key in (
            ("name", "name"),
            ("target_path", "target"),
            ("policy", "policy"),
            ("mode", "mode"),
        ):
            doc.note_origin(f"files.{len(files)}.{field_name}", f"{key}.{toml_key}")
        doc.note_origin(f"files.{len(files)}", key)
        tpl.origins[f"files.{len(files)}.content"] = (tpl.rel(directory / name), None)
        files.append(
            FileSpec(
                name=name,
                target_path=target,
                content=content,
                policy=cast(FilePolicy, policy),
                mode=mode,
            )
        )
    for present in tpl.listing(directory, label="files") or []:
        if present.name not in declared:
            tpl.error(
                present,
                None,
                f"is not declared in {TOML_FILE}: add a [[files]] entry with name = "
                f'"{present.name}" and its target path',
            )
    return files


def _toml_mode(doc: _Toml, entry: Mapping[str, Any], full: str) -> str:
    value = entry.get("mode", "0644")
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 0o7777:
        return format(value, "04o")  # mode = 0o644
    if isinstance(value, str):
        return value
    doc.error(full, f'{full} must be an octal string such as "0644"')
    return "0644"


def _toml_packages(doc: _Toml, first_index: int) -> list[PackageSpec]:
    packages: list[PackageSpec] = []
    for index, entry in enumerate(doc.array_of_tables("packages")):
        key = f"packages.{index}"
        doc.check_keys(entry, PACKAGE_KEYS, f"{key}.")
        manager = doc.string(entry, "manager", f"{key}.manager")
        if manager not in PACKAGE_SUFFIXES.values() and manager != "custom":
            doc.error(f"{key}.manager", f"manager must be apt, npm, pip or custom, not {manager!r}")
            continue
        package = PackageSpec(
            manager=cast(PackageManager, manager),
            name=doc.string(entry, "name", f"{key}.name"),
            version=doc.string(entry, "version", f"{key}.version"),
            command=doc.string(entry, "command", f"{key}.command"),
        )
        number = first_index + len(packages)
        doc.note_origin(f"packages.{number}", key)
        for field_name in PACKAGE_KEYS:
            doc.note_origin(f"packages.{number}.{field_name}", f"{key}.{field_name}")
        packages.append(package)
    return packages


_TOML_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\s\"']+?)\s*\]\]?\s*(#.*)?$")
_TOML_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+(?:\s*\.\s*[A-Za-z0-9_\-]+)*)\s*=")


def _toml_key_lines(text: str) -> dict[str, int]:
    """Line numbers of the keys and tables of a (valid) TOML document.

    `name`, `resources`, `resources.cores`, `files.0`, `files.0.target`, ... Lines inside
    multi-line strings are skipped; keys of inline tables take their parent's line.
    """
    lines: dict[str, int] = {}
    counters: dict[str, int] = {}
    table = ""
    in_string: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if in_string is not None:
            if line.count(in_string) % 2 == 1:
                in_string = None
            continue
        header = _TOML_HEADER.match(line)
        if header:
            name = (
                re.sub(r"\s*\.\s*", ".", header.group(2).strip()).replace('"', "").replace("'", "")
            )
            if header.group(1) == "[[":
                index = counters.get(name, 0)
                counters[name] = index + 1
                table = f"{name}.{index}"
                lines.setdefault(name, number)
            else:
                table = name
            lines[table] = number
            continue
        key = _TOML_KEY.match(line)
        if key:
            dotted = re.sub(r"\s*\.\s*", ".", key.group(1))
            lines.setdefault(f"{table}.{dotted}" if table else dotted, number)
        for quote in ('"""', "'''"):
            if line.count(quote) % 2 == 1:
                in_string = quote
                break
    return lines
