"""Reading one catalog template directory safely, and what both layouts share.

`CatalogError` (a problem at a file and line), `TemplateDir` (what is gathered about one
template directory while it is read: errors, field origins, and file access that never
leaves the directory), and the readers of `scripts/` and `packages/` that the
template.toml and template.conf layouts both use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from .packages import PackageLineError, parse_package
from .spec import TEMPLATE_MAX_BYTES, PackageManager, PackageSpec, ScriptSpec, validate_package

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


Origin = tuple[str, int | None]  # (path relative to the catalog root, line)


@dataclass
class TemplateDir:
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
            self.error(path, None, os_message("cannot be resolved", exc))
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
            self.error(directory, None, os_message("cannot be listed", exc))
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
            self.error(path, None, os_message("cannot be read", exc))
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


def load_scripts(tpl: TemplateDir, directory: Path) -> list[ScriptSpec]:
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


def load_package_lists(tpl: TemplateDir, directory: Path) -> list[PackageSpec]:
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
    tpl: TemplateDir, path: Path, number: int, raw: str, manager: PackageManager
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


def file_content(tpl: TemplateDir, path: Path) -> str | None:
    if not path.exists() and not path.is_symlink():
        tpl.error(path, None, "is missing")
        return None
    return tpl.read_text(path)


def os_message(what: str, exc: BaseException) -> str:
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return f"{what}: {reason}"
