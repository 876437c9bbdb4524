"""What a template is, independent of where it is stored, and the rules it must follow.

A `TemplateSpec` is the recipe the wizard prefills from and the provisioning pipeline
follows. The filesystem catalog parses directories into specs, the database service stores
and loads them, and `validate_template` is the one place their rules live (pure: no I/O).
Errors are keyed by field (`name`, `scripts.2.name`, `files.0.target_path`, ...) so the
UI can show each message next to its field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final, Literal, get_args

PackageManager = Literal["apt", "npm", "pip", "custom"]
FilePolicy = Literal["replace", "default", "backup"]
Source = Literal["filesystem", "custom"]
# private: only the owner sees and uses it; shared: everyone uses it, only the owner or an
# administrator changes it (catalog templates are shared and read-only).
Visibility = Literal["private", "shared"]

PACKAGE_MANAGERS: Final[tuple[str, ...]] = get_args(PackageManager)
FILE_POLICIES: Final[tuple[str, ...]] = get_args(FilePolicy)
VISIBILITIES: Final[tuple[str, ...]] = get_args(Visibility)
VISIBILITY_LABELS: Final[dict[str, str]] = {
    "private": "Private: only you see and use it",
    "shared": "Shared: everyone uses it, only you (or an administrator) change it",
}
POLICY_LABELS: Final[dict[str, str]] = {
    "replace": "Replace: always write the file",
    "default": "Default: write only if the file does not exist",
    "backup": "Backup: keep the existing file as FILE.bak, then write",
}

NAME_MAX = 64
DESCRIPTION_MAX = 2000
TAGS_MAX = 16
SCRIPT_MAX_BYTES = 256 * 1024
FILE_MAX_BYTES = 1024 * 1024
TEMPLATE_MAX_BYTES = 8 * 1024 * 1024
SCRIPTS_MAX = 50
FILES_MAX = 100
PACKAGES_MAX = 500
PATH_MAX = 4096
COMMAND_MAX = 4096

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._()+-]*$")
SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
TAG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.+-]{0,31}$")  # at most 32 characters
SCRIPT_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
FILE_NAME_PATTERN = SCRIPT_NAME_PATTERN
OS_TEMPLATE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")
STORAGE_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9._-]{0,63}$")
BRIDGE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,15}$")
MODE_PATTERN = re.compile(r"^0?[0-7]{3}$")
PACKAGE_NAME_PATTERNS: Final[dict[str, re.Pattern[str]]] = {
    # Debian policy §5.6.1 (lower case, at least two characters), optional :arch.
    "apt": re.compile(r"^[a-z0-9][a-z0-9+.-]+(:[a-z0-9-]+)?$"),
    # npm: optional @scope/, lower case, at most 214 characters (checked separately).
    "npm": re.compile(r"^(@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*$"),
    # PEP 508 names, optional extras.
    "pip": re.compile(
        r"^([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])"
        r"(\[[A-Za-z0-9._-]+(,[A-Za-z0-9._-]+)*\])?$"
    ),
    "custom": re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"),
}
PACKAGE_VERSION_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+~:_*!^-]{0,63}$")

# Proxmox VE lets only the user root@pam itself (a password ticket, never an API token, not
# even one of root@pam) set feature flags other than `nesting`, and any flag of a privileged
# container (pve-container src/PVE/LXC.pm, check_ct_modify_config_perm). The app's node
# credential is always a token, so the pipeline applies those with `pct set` over SSH.
ROOT_ONLY_FEATURES: Final[tuple[str, ...]] = ("keyctl", "fuse")
FEATURE_NOTE = (
    "Proxmox lets only the user root@pam itself set keyctl and fuse, and any feature of a "
    "privileged container (an API token is never root@pam, not even root's); LXC Manager "
    "applies them with `pct set` over SSH after the container is created, so the node "
    "needs SSH credentials."
)
FEATURE_PRESETS: Final[dict[str, tuple[str, dict[str, bool]]]] = {
    "default": ("Unprivileged (default)", {"unprivileged": True}),
    "docker": (
        "Docker in LXC (nesting + keyctl)",
        {"unprivileged": True, "nesting": True, "keyctl": True},
    ),
    "systemd-nesting": (
        "Nested systemd services (nesting)",
        {"unprivileged": True, "nesting": True},
    ),
    "fuse": ("FUSE mounts (fuse)", {"unprivileged": True, "fuse": True}),
}


@dataclass(frozen=True)
class Resources:
    cores: int = 1
    memory_mb: int = 512
    swap_mb: int = 512
    disk_gb: int = 8


@dataclass(frozen=True)
class Features:
    unprivileged: bool = True
    nesting: bool = False
    keyctl: bool = False
    fuse: bool = False

    def root_only(self) -> tuple[str, ...]:
        """The flags only root@pam may set: keyctl and fuse, and nesting too when the
        container is privileged."""
        names = [name for name in ROOT_ONLY_FEATURES if getattr(self, name)]
        if self.nesting and not self.unprivileged:
            names.insert(0, "nesting")
        return tuple(names)

    def needs_root(self) -> bool:
        return bool(self.root_only())

    def proxmox_value(self) -> str:
        """The `features` parameter of POST /nodes/{node}/lxc ("" when none is set)."""
        return ",".join(
            f"{name}=1" for name in ("nesting", "keyctl", "fuse") if getattr(self, name)
        )


@dataclass(frozen=True)
class ScriptSpec:
    name: str
    content: str
    enabled: bool = True


@dataclass(frozen=True)
class FileSpec:
    name: str
    target_path: str
    content: str
    policy: FilePolicy = "replace"
    mode: str = "0644"


@dataclass(frozen=True)
class PackageSpec:
    """One package. `custom` packages are installed by running `command` (bash, with the
    helper library) and have no version."""

    manager: PackageManager
    name: str
    version: str = ""
    command: str = ""

    def install_spec(self) -> str:
        """How the package manager is asked for it: `nginx=1.22*`, `pkg@1.2`, `pkg==1.2`."""
        if not self.version:
            return self.name
        separator = {"apt": "=", "npm": "@", "pip": "=="}.get(self.manager, "")
        return f"{self.name}{separator}{self.version}"


@dataclass(frozen=True)
class TemplateSpec:
    name: str
    slug: str = ""
    description: str = ""
    tags: tuple[str, ...] = ()
    os_template: str = ""
    version: str = ""
    resources: Resources = field(default_factory=Resources)
    storage: str = ""
    bridge: str = "vmbr0"
    features: Features = field(default_factory=Features)
    scripts: tuple[ScriptSpec, ...] = ()
    files: tuple[FileSpec, ...] = ()
    packages: tuple[PackageSpec, ...] = ()
    buckets: tuple[str, ...] = ()
    source: Source = "custom"
    source_path: str = ""


@dataclass(frozen=True)
class BucketSpec:
    name: str
    description: str = ""
    packages: tuple[PackageSpec, ...] = ()


def slugify(text: str) -> str:
    """`Python web app (nginx)` -> `python-web-app-nginx`."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:64] or "template"


def normalize_tags(tags: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Split on `;`, `,` or whitespace, lower-case, keep order, drop duplicates."""
    items = re.split(r"[;,\s]+", tags) if isinstance(tags, str) else list(tags)
    seen: dict[str, None] = {}
    for item in items:
        tag = item.strip().lower()
        if tag:
            seen.setdefault(tag, None)
    return tuple(seen)


def validate_target_path(path: str) -> str | None:
    """An absolute path without `..` components, NUL bytes or a trailing slash."""
    if not path:
        return "Enter the absolute path the file is written to, e.g. /etc/motd"
    if len(path) > PATH_MAX:
        return f"The path is at most {PATH_MAX} characters"
    if not path.startswith("/"):
        return "The target path must be absolute (start with /)"
    if "\x00" in path or "\n" in path or "\r" in path:
        return "The target path cannot contain control characters"
    if path.endswith("/"):
        return "The target path names a file, not a directory (no trailing /)"
    if any(part == ".." for part in path.split("/")):
        return "The target path cannot contain .."
    return None


def validate_package(pkg: PackageSpec) -> dict[str, str]:
    errors: dict[str, str] = {}
    if pkg.manager not in PACKAGE_MANAGERS:
        return {"manager": "Choose apt, npm, pip or custom"}
    pattern = PACKAGE_NAME_PATTERNS[pkg.manager]
    if not pkg.name or not pattern.match(pkg.name) or len(pkg.name) > 214:
        errors["name"] = {
            "apt": "An apt package name is lower case letters, digits, + - . (e.g. nginx)",
            "npm": "An npm package name is lower case, optionally @scope/name (e.g. pm2)",
            "pip": "A pip package name is letters, digits, . _ - (e.g. gunicorn)",
            "custom": "Name the custom package with letters, digits, . _ -",
        }[pkg.manager]
    if pkg.version:
        if pkg.manager == "custom":
            errors["version"] = "A custom package has no version: put it in its command"
        elif not PACKAGE_VERSION_PATTERN.match(pkg.version):
            errors["version"] = "A version is letters, digits and . + ~ : _ * ! ^ - (e.g. 1.2.3)"
    if pkg.manager == "custom":
        if not pkg.command.strip():
            errors["command"] = "A custom package needs the command that installs it"
        elif len(pkg.command) > COMMAND_MAX:
            errors["command"] = f"The command is at most {COMMAND_MAX} characters"
    elif pkg.command:
        errors["command"] = "Only custom packages have an install command"
    return errors


def validate_packages(
    packages: tuple[PackageSpec, ...], prefix: str = "packages"
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if len(packages) > PACKAGES_MAX:
        errors[prefix] = f"At most {PACKAGES_MAX} packages"
    seen: set[tuple[str, str]] = set()
    for index, pkg in enumerate(packages):
        for key, message in validate_package(pkg).items():
            errors[f"{prefix}.{index}.{key}"] = message
        identity = (pkg.manager, pkg.name.lower())
        if identity in seen:
            errors.setdefault(
                f"{prefix}.{index}.name", f"{pkg.name} ({pkg.manager}) is listed twice"
            )
        seen.add(identity)
    return errors


def _validate_int(value: int, low: int, high: int, label: str) -> str | None:
    if not low <= value <= high:
        return f"{label} must be between {low} and {high}"
    return None


def validate_template(spec: TemplateSpec) -> dict[str, str]:
    """Every rule a template must follow, as {field: message}; empty when valid."""
    errors: dict[str, str] = {}
    if not spec.name.strip():
        errors["name"] = "Give the template a name"
    elif len(spec.name) > NAME_MAX or not NAME_PATTERN.match(spec.name):
        errors["name"] = (
            f"Use 1-{NAME_MAX} letters, digits, spaces and . _ ( ) + -, starting with a letter or digit"
        )
    if spec.slug and not SLUG_PATTERN.match(spec.slug):
        errors["slug"] = "A slug is lower case letters, digits, . _ - (at most 64)"
    if len(spec.description) > DESCRIPTION_MAX:
        errors["description"] = f"The description is at most {DESCRIPTION_MAX} characters"
    if len(spec.tags) > TAGS_MAX:
        errors["tags"] = f"At most {TAGS_MAX} tags"
    elif bad := [tag for tag in spec.tags if not TAG_PATTERN.match(tag)]:
        errors["tags"] = f"Tags are lower case letters, digits, _ . + - (not {bad[0]!r})"
    if spec.os_template and not OS_TEMPLATE_PATTERN.match(spec.os_template):
        errors["os_template"] = "An OS template looks like debian-12-standard"
    res = spec.resources
    for key, value, low, high, label in (
        ("resources.cores", res.cores, 1, 8192, "Cores"),
        ("resources.memory_mb", res.memory_mb, 16, 4 * 1024 * 1024, "Memory (MB)"),
        ("resources.swap_mb", res.swap_mb, 0, 4 * 1024 * 1024, "Swap (MB)"),
        ("resources.disk_gb", res.disk_gb, 1, 128 * 1024, "Disk (GB)"),
    ):
        if message := _validate_int(value, low, high, label):
            errors[key] = message
    if spec.storage and not STORAGE_PATTERN.match(spec.storage):
        errors["storage"] = "A storage id looks like local-lvm"
    if spec.bridge and not BRIDGE_PATTERN.match(spec.bridge):
        errors["bridge"] = "A bridge name looks like vmbr0 (at most 16 characters)"
    if not spec.features.unprivileged and spec.features.keyctl:
        errors["features.keyctl"] = "keyctl is for unprivileged containers only"
    errors.update(_validate_scripts(spec.scripts))
    errors.update(_validate_files(spec.files))
    errors.update(validate_packages(spec.packages))
    if len(set(spec.buckets)) != len(spec.buckets):
        errors["buckets"] = "A package bucket is referenced twice"
    total = sum(len(s.content.encode()) for s in spec.scripts) + sum(
        len(f.content.encode()) for f in spec.files
    )
    if total > TEMPLATE_MAX_BYTES:
        errors["template"] = (
            f"Scripts and files together are at most {TEMPLATE_MAX_BYTES // 2**20} MiB"
        )
    return errors


def _validate_scripts(scripts: tuple[ScriptSpec, ...]) -> dict[str, str]:
    errors: dict[str, str] = {}
    if len(scripts) > SCRIPTS_MAX:
        errors["scripts"] = f"At most {SCRIPTS_MAX} scripts"
    names: set[str] = set()
    for index, script in enumerate(scripts):
        if not SCRIPT_NAME_PATTERN.match(script.name):
            errors[f"scripts.{index}.name"] = (
                "A script name is letters, digits, . _ - (at most 64), e.g. 10-install-nginx.sh"
            )
        elif script.name in names:
            errors[f"scripts.{index}.name"] = f"Another script is already named {script.name}"
        names.add(script.name)
        size = len(script.content.encode())
        if size > SCRIPT_MAX_BYTES:
            errors[f"scripts.{index}.content"] = (
                f"A script is at most {SCRIPT_MAX_BYTES // 1024} KiB"
            )
        elif "\x00" in script.content:
            errors[f"scripts.{index}.content"] = "A script cannot contain NUL bytes"
    return errors


def _validate_files(files: tuple[FileSpec, ...]) -> dict[str, str]:
    errors: dict[str, str] = {}
    if len(files) > FILES_MAX:
        errors["files"] = f"At most {FILES_MAX} files"
    names: set[str] = set()
    targets: set[str] = set()
    for index, item in enumerate(files):
        if not FILE_NAME_PATTERN.match(item.name):
            errors[f"files.{index}.name"] = "A file name is letters, digits, . _ - (at most 64)"
        elif item.name in names:
            errors[f"files.{index}.name"] = f"Another file is already named {item.name}"
        names.add(item.name)
        if message := validate_target_path(item.target_path):
            errors[f"files.{index}.target_path"] = message
        elif item.target_path in targets:
            errors[f"files.{index}.target_path"] = (
                f"Another file is already written to {item.target_path}"
            )
        targets.add(item.target_path)
        if item.policy not in FILE_POLICIES:
            errors[f"files.{index}.policy"] = "Choose replace, default or backup"
        if not MODE_PATTERN.match(item.mode):
            errors[f"files.{index}.mode"] = "A mode is three or four octal digits, e.g. 0644"
        if len(item.content.encode()) > FILE_MAX_BYTES:
            errors[f"files.{index}.content"] = f"A file is at most {FILE_MAX_BYTES // 1024} KiB"
    return errors


def validate_bucket(bucket: BucketSpec) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not bucket.name.strip():
        errors["name"] = "Give the bucket a name"
    elif len(bucket.name) > NAME_MAX or not NAME_PATTERN.match(bucket.name):
        errors["name"] = f"Use 1-{NAME_MAX} letters, digits, spaces and . _ ( ) + -"
    if len(bucket.description) > DESCRIPTION_MAX:
        errors["description"] = f"The description is at most {DESCRIPTION_MAX} characters"
    errors.update(validate_packages(bucket.packages))
    return errors
