"""The filesystem template catalog: one directory per template, parsed into `TemplateSpec`s.

Two layouts are understood (docs/templates.md describes both with examples):

- **template.toml** (ours): the manifest, `scripts/*.sh`, `files/<name>` and
  `packages/*.apt|*.npm|*.pip`.
- **template.conf** (the shell layout of existing LXC template collections): shell
  `KEY=VALUE` lines, `container-configs/scripts/*.sh`, `container-configs/packages/*` and
  `container-configs/files/<name>` with `<name>.path` / `<name>.policy` sidecars.

Loading is pure (no database, no network) and never stops at a broken template: each
problem becomes a `CatalogError` naming the file (relative to the catalog root) and, where
it has one, the line; the template is then left out and the others still load.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, cast

from .packages import PackageLineError, parse_package
from .spec import (
    FEATURE_PRESETS,
    FILE_NAME_PATTERN,
    FILE_POLICIES,
    SLUG_PATTERN,
    TEMPLATE_MAX_BYTES,
    Features,
    FilePolicy,
    FileSpec,
    PackageManager,
    PackageSpec,
    Resources,
    ScriptSpec,
    TemplateSpec,
    normalize_tags,
    validate_package,
    validate_template,
)

__all__ = [
    "CONF_FILE",
    "SHELL_CONFIG_DIR",
    "TOML_FILE",
    "CatalogError",
    "CatalogResult",
    "default_catalog_dir",
    "load_catalog",
    "os_template_from_shell",
]

TOML_FILE: Final = "template.toml"
CONF_FILE: Final = "template.conf"
SHELL_CONFIG_DIR: Final = "container-configs"
PACKAGE_SUFFIXES: Final[dict[str, PackageManager]] = {".apt": "apt", ".npm": "npm", ".pip": "pip"}
# A template's files are read whole; nothing a valid template holds is larger than this.
READ_LIMIT: Final = TEMPLATE_MAX_BYTES


@dataclass(frozen=True)
class CatalogError:
    """One problem of one template: `path` is relative to the catalog root where possible."""

    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class CatalogResult:
    templates: tuple[TemplateSpec, ...]
    errors: tuple[CatalogError, ...]


def default_catalog_dir() -> Path:
    """The templates shipped with LXC Manager."""
    return Path(__file__).resolve().parent / "catalog"


def load_catalog(root: Path) -> CatalogResult:
    """Every immediate, non-hidden sub-directory of `root` is one template."""
    if not root.is_dir():
        what = "is not a directory" if root.exists() else "does not exist"
        return CatalogResult((), (CatalogError(str(root), None, f"the template catalog {what}"),))
    try:
        entries = sorted(root.iterdir(), key=lambda entry: entry.name)
    except OSError as exc:
        return CatalogResult(
            (), (CatalogError(str(root), None, _os_message("cannot be listed", exc)),)
        )
    templates: list[TemplateSpec] = []
    errors: list[CatalogError] = []
    names: dict[str, tuple[str, str]] = {}  # casefolded name -> (directory, name)
    for entry in entries:
        if entry.name.startswith(".") or not entry.is_dir():
            continue
        loaded = _load_template(root, entry)
        errors.extend(loaded.errors)
        if loaded.spec is None:
            continue
        first = names.get(loaded.spec.name.casefold())
        if first is not None:
            rel, line = loaded.name_origin
            errors.append(
                CatalogError(
                    rel,
                    line,
                    f"name: {loaded.spec.name!r} is already the name of the template in "
                    f"{first[0]}/ ({first[1]!r}); template names must be unique",
                )
            )
            continue
        names[loaded.spec.name.casefold()] = (entry.name, loaded.spec.name)
        templates.append(loaded.spec)
    return CatalogResult(tuple(templates), tuple(errors))


# --- one template --------------------------------------------------------------------------


Origin = tuple[str, int | None]  # (path relative to the catalog root, line)


@dataclass
class _Loaded:
    spec: TemplateSpec | None
    errors: list[CatalogError]
    name_origin: Origin = ("", None)


@dataclass
class _Template:
    """What is being gathered about one template directory while it is read."""

    root: Path
    directory: Path
    real_directory: Path
    errors: list[CatalogError] = field(default_factory=list)
    # Where each field of the spec came from (`name`, `files.0`, `packages.3`, ...), so a
    # rule broken in validate_template is reported at the right file and line.
    origins: dict[str, Origin] = field(default_factory=dict)

    def rel(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def error(self, path: Path | str, line: int | None, message: str) -> None:
        rel = path if isinstance(path, str) else self.rel(path)
        self.errors.append(CatalogError(rel, line, message))

    def origin_of(self, key: str, default: Origin) -> Origin:
        parts = key.split(".")
        for end in range(len(parts), 0, -1):
            found = self.origins.get(".".join(parts[:end]))
            if found is not None:
                return found
        return default

    # -- safe file access --

    def inside(self, path: Path) -> bool:
        """False (and an error) when `path` resolves outside the template directory."""
        try:
            real = path.resolve()
        except (OSError, RuntimeError) as exc:
            self.error(path, None, _os_message("cannot be resolved", exc))
            return False
        if not real.is_relative_to(self.real_directory):
            self.error(
                path,
                None,
                "is a symbolic link that leads outside the template directory; "
                "copy the file into the template instead",
            )
            return False
        return True

    def listing(self, directory: Path, *, label: str) -> list[Path] | None:
        """The non-hidden entries of a template sub-directory; None when it is absent."""
        if not directory.exists() and not directory.is_symlink():
            return None
        if not self.inside(directory):
            return []
        if not directory.is_dir():
            self.error(directory, None, f"should be the {label} directory, but is not a directory")
            return []
        try:
            entries = sorted(directory.iterdir(), key=lambda entry: entry.name)
        except OSError as exc:
            self.error(directory, None, _os_message("cannot be listed", exc))
            return []
        return [entry for entry in entries if not entry.name.startswith(".")]

    def read_text(self, path: Path) -> str | None:
        """The UTF-8 text of a regular file inside the template; None (and an error) if not."""
        if path.is_symlink() and not path.exists():
            self.error(path, None, "is a broken symbolic link")
            return None
        if not self.inside(path):
            return None
        if not path.is_file():
            self.error(path, None, "is not a regular file")
            return None
        try:
            with path.open("rb") as handle:
                data = handle.read(READ_LIMIT + 1)
        except OSError as exc:
            self.error(path, None, _os_message("cannot be read", exc))
            return None
        if len(data) > READ_LIMIT:
            self.error(path, None, f"is larger than {READ_LIMIT // 2**20} MiB")
            return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            self.error(
                path,
                line,
                f"is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                "template files must be UTF-8",
            )
            return None


def _load_template(root: Path, directory: Path) -> _Loaded:
    rel = directory.name
    slug = directory.name.lower()
    if not SLUG_PATTERN.match(slug):
        message = (
            f"the directory name {directory.name!r} is not a valid template slug: use 1-64 "
            "lower case letters, digits, . _ -, starting with a letter or digit"
        )
        return _Loaded(None, [CatalogError(rel, None, message)])
    try:
        real = directory.resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        return _Loaded(None, [CatalogError(rel, None, _os_message("cannot be resolved", exc))])
    tpl = _Template(root=root, directory=directory, real_directory=real)
    toml_path, conf_path = directory / TOML_FILE, directory / CONF_FILE
    has_toml = toml_path.exists() or toml_path.is_symlink()
    has_conf = conf_path.exists() or conf_path.is_symlink()
    if has_toml and has_conf:
        tpl.error(rel, None, f"holds both {TOML_FILE} and {CONF_FILE}; keep one of them")
        return _Loaded(None, tpl.errors)
    if not has_toml and not has_conf:
        tpl.error(rel, None, f"holds neither {TOML_FILE} nor {CONF_FILE}")
        return _Loaded(None, tpl.errors)
    main = toml_path if has_toml else conf_path
    spec = _load_toml(tpl, slug, toml_path) if has_toml else _load_conf(tpl, slug, conf_path)
    if spec is None or tpl.errors:
        return _Loaded(None, tpl.errors)
    main_origin: Origin = (tpl.rel(main), None)
    for key, message in validate_template(spec).items():
        path, line = tpl.origin_of(key, main_origin)
        tpl.error(path, line, f"{key}: {message}")
    if tpl.errors:
        return _Loaded(None, tpl.errors)
    return _Loaded(spec, [], tpl.origin_of("name", main_origin))


# --- shared parts of both layouts ------------------------------------------------------------


def _load_scripts(tpl: _Template, directory: Path) -> list[ScriptSpec]:
    scripts: list[ScriptSpec] = []
    for entry in tpl.listing(directory, label="scripts") or []:
        if entry.is_dir() and not entry.is_symlink():
            tpl.error(
                entry, None, "sub-directories are not read: scripts are scripts/NN-name.sh files"
            )
            continue
        if not entry.name.endswith(".sh"):
            tpl.error(entry, None, "is not a script: scripts end in .sh (e.g. 10-install-nginx.sh)")
            continue
        content = tpl.read_text(entry)
        if content is None:
            continue
        if "\r\n" in content:
            line = content.count("\n", 0, content.index("\r\n")) + 1
            tpl.error(entry, line, "has Windows line endings (CRLF); bash needs LF line endings")
            continue
        tpl.origins[f"scripts.{len(scripts)}"] = (tpl.rel(entry), None)
        scripts.append(ScriptSpec(name=entry.name, content=content))
    return scripts


def _load_package_lists(tpl: _Template, directory: Path) -> list[PackageSpec]:
    packages: list[PackageSpec] = []
    for entry in tpl.listing(directory, label="packages") or []:
        manager = PACKAGE_SUFFIXES.get(entry.suffix)
        if manager is None or entry.is_dir():
            tpl.error(
                entry,
                None,
                "is not a package list: name it NAME.apt, NAME.npm or NAME.pip "
                "(one package per line)",
            )
            continue
        text = tpl.read_text(entry)
        if text is None:
            continue
        for number, raw in enumerate(text.splitlines(), start=1):
            package = _catalog_package(tpl, entry, number, raw, manager)
            if package is not None:
                tpl.origins[f"packages.{len(packages)}"] = (tpl.rel(entry), number)
                packages.append(package)
    return packages


def _catalog_package(
    tpl: _Template, path: Path, number: int, raw: str, manager: PackageManager
) -> PackageSpec | None:
    try:
        package = parse_package(manager, raw)
    except PackageLineError as exc:
        tpl.error(path, number, str(exc))
        return None
    if package is None:
        return None
    problems = validate_package(package)
    if problems:
        line = package.install_spec()  # the line without its comment
        tpl.error(path, number, f"{line!r}: {'; '.join(problems.values())}")
        return None
    return package


def _file_content(tpl: _Template, path: Path) -> str | None:
    if not path.exists() and not path.is_symlink():
        tpl.error(path, None, "is missing")
        return None
    return tpl.read_text(path)


def _os_message(what: str, exc: BaseException) -> str:
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return f"{what}: {reason}"


# --- layout A: template.toml ---------------------------------------------------------------

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

    def __init__(self, tpl: _Template, path: Path, data: dict[str, Any], lines: dict[str, int]):
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


def _load_toml(tpl: _Template, slug: str, path: Path) -> TemplateSpec | None:
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
    packages = _load_package_lists(tpl, tpl.directory / "packages")
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
    scripts = _load_scripts(doc.tpl, directory)
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
        content = _file_content(tpl, directory / name)
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


# --- layout B: template.conf ---------------------------------------------------------------


class _ConfError(Exception):
    pass


class _Unterminated(_ConfError):
    pass


@dataclass(frozen=True)
class _ConfValue:
    value: str
    line: int
    unset: tuple[str, ...]  # variables it referred to that were not set earlier


_ASSIGNMENT = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.DOTALL)
_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BRACED = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-=+])(.*))?$", re.DOTALL)
_SHELL_SPECIAL = set(";&|<>()`")


def _parse_conf(tpl: _Template, path: Path, text: str) -> dict[str, _ConfValue]:
    """`KEY=VALUE` lines with shell quoting and `${VAR:-default}` expansion (no commands run).

    Values may refer to keys set earlier in the same file; nothing is read from the
    environment of LXC Manager itself.
    """
    values: dict[str, _ConfValue] = {}
    known: dict[str, str] = {}
    lines = text.removeprefix("\ufeff").splitlines()
    index = 0
    while index < len(lines):
        number = index + 1
        line = lines[index].strip()
        index += 1
        if not line or line.startswith("#"):
            continue
        match = _ASSIGNMENT.match(line)
        if match is None:
            tpl.error(path, number, f"is not a KEY=VALUE line: {_clip(line)!r}")
            continue
        key, raw = match.group(1), match.group(2)
        while True:
            try:
                value, unset = _expand(raw, known)
                break
            except _Unterminated:
                if index >= len(lines):
                    tpl.error(path, number, f"{key}: the quote opened here is never closed")
                    value = None
                    break
                raw += "\n" + lines[index]
                index += 1
            except _ConfError as exc:
                tpl.error(path, number, f"{key}: {exc}")
                value = None
                break
        if value is None:
            continue
        known[key] = value
        values[key] = _ConfValue(value, number, unset)
    return values


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _expand(
    raw: str, known: dict[str, str], *, in_word: bool = False
) -> tuple[str, tuple[str, ...]]:
    """The value of a shell word: quotes removed, variables expanded.

    `in_word` is the default part of `${VAR:-word}`, where blanks are literal.
    """
    out: list[str] = []
    unset: list[str] = []
    i = 0
    while i < len(raw):
        char = raw[i]
        if char == "'":
            end = raw.find("'", i + 1)
            if end < 0:
                raise _Unterminated("unterminated '")
            out.append(raw[i + 1 : end])
            i = end + 1
        elif char == '"':
            i = _double_quoted(raw, i + 1, known, out, unset)
        elif char == "\\":
            if i + 1 < len(raw):
                if raw[i + 1] != "\n":
                    out.append(raw[i + 1])
                i += 2
            else:
                i += 1
        elif char == "$":
            i = _dollar(raw, i, known, out, unset)
        elif char.isspace() and not in_word:
            rest = raw[i:].strip()
            if rest and not rest.startswith("#"):
                raise _ConfError("put the value in quotes: it holds a blank")
            break
        elif char in _SHELL_SPECIAL and not in_word:
            raise _ConfError(f"put the value in quotes: {char!r} is shell syntax here")
        else:
            out.append(char)
            i += 1
    return "".join(out), tuple(unset)


def _double_quoted(
    raw: str, i: int, known: dict[str, str], out: list[str], unset: list[str]
) -> int:
    while i < len(raw):
        char = raw[i]
        if char == '"':
            return i + 1
        if char == "\\" and i + 1 < len(raw) and raw[i + 1] in '$`"\\\n':
            if raw[i + 1] != "\n":
                out.append(raw[i + 1])
            i += 2
        elif char == "$":
            i = _dollar(raw, i, known, out, unset)
        elif char == "`":
            raise _ConfError("command substitution (`...`) is not supported in template.conf")
        else:
            out.append(char)
            i += 1
    raise _Unterminated('unterminated "')


def _dollar(raw: str, i: int, known: dict[str, str], out: list[str], unset: list[str]) -> int:
    """Expands the `$...` at raw[i]; returns the index after it."""
    following = raw[i + 1 : i + 2]
    if following == "(":
        raise _ConfError("command substitution $(...) is not supported in template.conf")
    if following == "{":
        end = _closing_brace(raw, i + 2)
        inner = raw[i + 2 : end]
        match = _BRACED.match(inner)
        if match is None:
            raise _ConfError(f"${{{inner}}} is not supported: use ${{VAR}} or ${{VAR:-default}}")
        name, operator, word = match.group(1), match.group(2), match.group(3) or ""
        current = known.get(name)
        is_set = current is not None
        has_value = bool(current)
        if operator is None:
            if current is None:
                unset.append(name)
            out.append(current or "")
        elif operator in (":-", "-", ":=", "="):
            use_default = not has_value if operator.startswith(":") else not is_set
            if use_default:
                default, default_unset = _expand(word, known, in_word=True)
                unset.extend(default_unset)
                if operator.endswith("="):
                    known[name] = default
                out.append(default)
            else:
                out.append(current or "")
        else:  # :+ and +
            use_word = has_value if operator == ":+" else is_set
            if use_word:
                word_value, word_unset = _expand(word, known, in_word=True)
                unset.extend(word_unset)
                out.append(word_value)
        return end + 1
    match = _VAR_NAME.match(raw, i + 1)
    if match is None:
        out.append("$")
        return i + 1
    name = match.group(0)
    if name not in known:
        unset.append(name)
    out.append(known.get(name, ""))
    return match.end()


def _closing_brace(raw: str, start: int) -> int:
    depth = 1
    i = start
    quote: str | None = None
    while i < len(raw):
        char = raw[i]
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "\\":
            i += 1
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise _Unterminated("unterminated ${")


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


def _load_conf(tpl: _Template, slug: str, path: Path) -> TemplateSpec | None:
    text = tpl.read_text(path)
    if text is None:
        return None
    values = _parse_conf(tpl, path, text)
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
    scripts = _load_scripts(tpl, configs / "scripts")
    packages = _load_package_lists(tpl, configs / "packages")
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


def _conf_files(tpl: _Template, directory: Path) -> list[FileSpec]:
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


def _sidecar_value(tpl: _Template, path: Path, what: str) -> str | None:
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
