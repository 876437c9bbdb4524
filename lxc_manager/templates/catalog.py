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

This module finds the templates and checks each one; the reading lives beside it:
`catalog_reader` (safe file access, errors, scripts/ and packages/), `catalog_toml`
(layout A), `catalog_conf` (layout B) and `catalog_shell` (the shell syntax of layout B).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .catalog_conf import load_conf, os_template_from_shell
from .catalog_reader import (
    CONF_FILE,
    SHELL_CONFIG_DIR,
    TOML_FILE,
    CatalogError,
    Origin,
    TemplateDir,
    os_message,
)
from .catalog_toml import load_toml
from .spec import SLUG_PATTERN, TemplateSpec, validate_template

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
            (), (CatalogError(str(root), None, os_message("cannot be listed", exc)),)
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


@dataclass
class _Loaded:
    spec: TemplateSpec | None
    errors: list[CatalogError]
    name_origin: Origin = ("", None)


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
        return _Loaded(None, [CatalogError(rel, None, os_message("cannot be resolved", exc))])
    tpl = TemplateDir(root=root, directory=directory, real_directory=real)
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
    spec = load_toml(tpl, slug, toml_path) if has_toml else load_conf(tpl, slug, conf_path)
    if spec is None or tpl.errors:
        return _Loaded(None, tpl.errors)
    main_origin: Origin = (tpl.rel(main), None)
    for key, message in validate_template(spec).items():
        path, line = tpl.origin_of(key, main_origin)
        tpl.error(path, line, f"{key}: {message}")
    if tpl.errors:
        return _Loaded(None, tpl.errors)
    return _Loaded(spec, [], tpl.origin_of("name", main_origin))
