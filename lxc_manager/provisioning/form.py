"""The creation wizard's form, Reflex-free: the request its fields describe, and which step
shows an error.

The wizard keeps what the user typed as strings (a number field may hold anything while
they type); `request_from_fields` turns them into a `CreateRequest`, which
`request.validate_request` judges. A number that is not a whole number becomes -1, which the
validation refuses with its own message. Script and file contents are never part of the
form: the recipe is resolved on the server (`recipe.resolve_recipe`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Final

from lxc_manager.templates.spec import (
    Features,
    PackageSpec,
    ScriptSpec,
    TemplateSpec,
    normalize_tags,
)

from .request import CreateRequest

STEPS: Final[tuple[str, ...]] = ("Template", "Configure", "Packages", "Scripts", "Review")
CONFIGURE, PACKAGES, SCRIPTS = 1, 2, 3

# The fields of the Configure step (as the validation names their errors).
CONFIG_FIELDS: Final[tuple[str, ...]] = (
    "node_id",
    "pve_node",
    "vmid",
    "hostname",
    "os_template",
    "storage",
    "disk_gb",
    "cores",
    "memory_mb",
    "swap_mb",
    "bridge",
    "ipv4",
    "gateway",
    "nameserver",
    "searchdomain",
    "ssh_public_keys",
    "tags",
    "features",
)
# The fields typed as text, and the most characters each one takes.
TEXT_LIMITS: Final[dict[str, int]] = {
    "hostname": 253,
    "disk_gb": 7,
    "cores": 5,
    "memory_mb": 8,
    "swap_mb": 8,
    "ipv4": 43,
    "gateway": 39,
    "nameserver": 200,
    "searchdomain": 255,
    "ssh_public_keys": 64 * 1024,
    "tags": 600,
}
# The fields chosen in a list (their values are checked against the list offered).
CHOICE_FIELDS: Final[tuple[str, ...]] = ("os_template", "storage", "bridge", "ip_mode")
IP_MODES: Final[tuple[str, ...]] = ("dhcp", "static")
FLAG_FIELDS: Final[tuple[str, ...]] = ("onboot", "unprivileged", "nesting", "keyctl", "fuse")
# Every string of the form, as `request_from_fields` reads it.
FORM_FIELDS: Final[tuple[str, ...]] = (
    "pve_node",
    "vmid",
    "os_template",
    "storage",
    "bridge",
    "ip_mode",
    *TEXT_LIMITS,
)
MSG_FIX_FIELDS = "Nothing was created: fix the fields marked in red."


def whole_number(text: str) -> int:
    """A typed whole number, or -1 (refused by the validation) when it is not one."""
    text = text.strip()
    return int(text) if text.isdigit() else -1


def request_from_fields(
    fields: Mapping[str, str],
    *,
    node_id: int,
    features: Features,
    onboot: bool,
    template_id: int,
    template_name: str,
    scripts: Iterable[ScriptSpec] = (),
    packages: Iterable[PackageSpec] = (),
) -> CreateRequest:
    """The request the wizard's strings (`FORM_FIELDS`) and choices describe; scripts by
    name and switch only, no files (their contents are the server's to resolve)."""
    text = {name: fields.get(name, "") for name in FORM_FIELDS}
    static = text["ip_mode"] != "dhcp"
    return CreateRequest(
        node_id=node_id,
        pve_node=text["pve_node"],
        vmid=whole_number(text["vmid"]),
        hostname=text["hostname"].strip(),
        os_template=text["os_template"],
        storage=text["storage"],
        disk_gb=whole_number(text["disk_gb"]),
        cores=whole_number(text["cores"]),
        memory_mb=whole_number(text["memory_mb"]),
        swap_mb=whole_number(text["swap_mb"]),
        bridge=text["bridge"],
        ipv4=text["ipv4"].strip() if static else "dhcp",
        gateway=text["gateway"].strip() if static else "",
        nameserver=text["nameserver"].strip(),
        searchdomain=text["searchdomain"].strip(),
        ssh_public_keys=text["ssh_public_keys"],
        features=features,
        tags=normalize_tags(text["tags"]),
        onboot=onboot,
        template_id=template_id or None,
        template_name=template_name,
        scripts=tuple(scripts),
        files=(),
        packages=tuple(packages),
    )


def template_fields(spec: TemplateSpec) -> dict[str, str]:
    """The form's strings a template prefills: its size and tags, and its storage and
    bridge when it names them (`offered_or_first` keeps them only where offered)."""
    res = spec.resources
    fields = {
        "cores": str(res.cores),
        "memory_mb": str(res.memory_mb),
        "swap_mb": str(res.swap_mb),
        "disk_gb": str(res.disk_gb),
        "tags": ", ".join(spec.tags),
    }
    if spec.storage:
        fields["storage"] = spec.storage
    if spec.bridge:
        fields["bridge"] = spec.bridge
    return fields


def offered_or_first(current: str, offered: Sequence[str], pattern: str = "") -> str:
    """`current` when it is offered; else the first offered value containing `pattern` (a
    template's OS template pattern), else the first offered one ("" when none is)."""
    if current in offered:
        return current
    match = next((value for value in offered if pattern and pattern in value), None)
    return match or (offered[0] if offered else "")


def only_fields(errors: Mapping[str, str], fields: Iterable[str]) -> dict[str, str]:
    """The errors of `fields` (an error "packages.2.name" is the field "packages")."""
    wanted = set(fields)
    return {k: v for k, v in errors.items() if k.split(".")[0] in wanted}


def blocks_configure(errors: Mapping[str, str]) -> bool:
    """Whether an error keeps the user on the Configure step."""
    return any(k.split(".")[0] in CONFIG_FIELDS for k in errors)


def step_of_errors(errors: Mapping[str, str]) -> tuple[int | None, str]:
    """The step that shows the first error (None: none of them, the error is the form's)
    and the message above the wizard."""
    first = next(iter(errors), "")
    head = first.split(".")[0]
    if head in CONFIG_FIELDS:
        return CONFIGURE, MSG_FIX_FIELDS
    if head == "packages":
        return PACKAGES, MSG_FIX_FIELDS
    if head in ("scripts", "files"):
        return SCRIPTS, MSG_FIX_FIELDS
    return None, errors.get(first, "")
