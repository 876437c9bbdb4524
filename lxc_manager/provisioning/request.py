"""What the wizard submits (`CreateRequest`), its rules and the Proxmox parameters it becomes.

Pure functions, no I/O. `validate_request` answers `{field: message}` (empty when valid),
keyed like the request's fields (`hostname`, `ipv4`, `scripts.2.name`, ...) so the wizard
shows each message next to its field; the server runs the same rules again on submit.
`proxmox_params` is exactly the body of `POST /nodes/{node}/lxc`: no password ever (a user
decision: access goes through `pct exec` and SSH keys), `start=0` (the pipeline starts the
container itself) and only `nesting` of an unprivileged container in `features` (Proxmox
lets only the user root@pam set keyctl and fuse, and any flag of a privileged container; a
node's credential is an API token, so the pipeline applies those with `pct set` over SSH,
and `root_only_warning` says so before submit).

    errors = validate_request(req, has_ssh=node.has_ssh)
    if not errors:
        upid = await client.lxc_create(req.pve_node, proxmox_params(req))

The checks of single fields (`vmid_error`, `hostname_error`, `ssh_keys_error`, ...) are in
`request_fields`; the public ones are re-exported here.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, Final

from lxc_manager.templates.spec import (
    BRIDGE_PATTERN,
    NAME_MAX,
    STORAGE_PATTERN,
    TAG_PATTERN,
    TAGS_MAX,
    Features,
    FilePolicy,
    FileSpec,
    PackageManager,
    PackageSpec,
    ScriptSpec,
    TemplateSpec,
    validate_template,
)

from .request_fields import (
    MSG_VMID,
    VMID_MAX,
    VMID_MIN,
    _gateway_error,
    _ipv4_error,
    _nameserver_error,
    _nameservers,
    _range_error,
    _searchdomain_error,
    hostname_error,
    ssh_keys_error,
    static_address,
    vmid_error,
)

__all__ = [
    "CPU_RANGE",
    "DISK_RANGE",
    "MEMORY_RANGE",
    "MSG_NEEDS_SSH",
    "MSG_VMID",
    "SWAP_RANGE",
    "VMID_MAX",
    "VMID_MIN",
    "CreateRequest",
    "container_os",
    "content_digest",
    "enabled_scripts",
    "hostname_error",
    "needs_ssh",
    "proxmox_params",
    "request_digest",
    "request_from_json",
    "request_to_json",
    "root_features_value",
    "root_only_warning",
    "ssh_keys_error",
    "static_address",
    "validate_request",
    "vmid_error",
]

CPU_RANGE: Final = (1, 8192)
MEMORY_RANGE: Final = (16, 4 * 1024 * 1024)
SWAP_RANGE: Final = (0, 4 * 1024 * 1024)
DISK_RANGE: Final = (1, 128 * 1024)

MSG_NEEDS_SSH = (
    "{what} need SSH credentials on this node (commands run with pct exec): "
    "add them in the node's settings"
)

_PVE_NODE = re.compile(r"^[a-zA-Z0-9](?:[a-zA-Z0-9\-]{0,61}[a-zA-Z0-9])?$")
# `STORAGE:vztmpl/NAME` as Proxmox lists them in a storage's vztmpl content.
_OS_TEMPLATE = re.compile(
    r"^[A-Za-z][A-Za-z0-9._-]{0,63}:vztmpl/[A-Za-z0-9][A-Za-z0-9._+-]{0,200}$"
)
_OS_NAME = re.compile(r"^([a-z][a-z0-9]*)-(\d+(?:\.\d+)?)")


@dataclass(frozen=True)
class CreateRequest:
    """One container to create, as the wizard submits it (after template prefill)."""

    node_id: int
    pve_node: str
    vmid: int
    hostname: str
    os_template: str  # a volid, e.g. "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"
    storage: str
    disk_gb: int
    cores: int
    memory_mb: int
    swap_mb: int
    bridge: str
    ipv4: str  # "dhcp" or CIDR "10.0.0.5/24"
    gateway: str
    nameserver: str
    searchdomain: str
    ssh_public_keys: str
    features: Features
    tags: tuple[str, ...]
    onboot: bool
    template_id: int | None
    template_name: str
    scripts: tuple[ScriptSpec, ...]
    files: tuple[FileSpec, ...]
    packages: tuple[PackageSpec, ...]


# -- the whole request ----------------------------------------------------------------------------


def enabled_scripts(req: CreateRequest) -> tuple[ScriptSpec, ...]:
    return tuple(script for script in req.scripts if script.enabled)


def needs_ssh(req: CreateRequest) -> bool:
    """Files, packages, enabled scripts or root-only features: `pct` over SSH is needed."""
    return bool(req.files or req.packages or enabled_scripts(req) or req.features.needs_root())


def _recipe_errors(req: CreateRequest) -> dict[str, str]:
    """The template rules for scripts, files, packages and features (spec.validate_template)."""
    spec = TemplateSpec(
        name="request",
        features=req.features,
        scripts=req.scripts,
        files=req.files,
        packages=req.packages,
    )
    prefixes = ("scripts", "files", "packages", "features", "template")
    return {
        key: message
        for key, message in validate_template(spec).items()
        if key.split(".", 1)[0] in prefixes
    }


def _ssh_errors(req: CreateRequest) -> dict[str, str]:
    errors: dict[str, str] = {}
    if req.files:
        errors["files"] = MSG_NEEDS_SSH.format(what="Files")
    if req.packages:
        errors["packages"] = MSG_NEEDS_SSH.format(what="Packages")
    if enabled_scripts(req):
        errors["scripts"] = MSG_NEEDS_SSH.format(what="Scripts")
    if req.features.needs_root():
        errors["features"] = MSG_NEEDS_SSH.format(
            what=f"{_root_only_text(req.features)} (only the user root@pam may set "
            "them, which LXC Manager does with pct set; the node's API token may not)"
        )
    return errors


def _root_only_text(features: Features) -> str:
    """`The keyctl and fuse features` / `The nesting feature of a privileged container`."""
    names = features.root_only()
    listed = " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
    noun = "features" if len(names) > 1 else "feature"
    privileged = " of a privileged container" if not features.unprivileged else ""
    return f"The {listed} {noun}{privileged}"


def root_only_warning(features: Features) -> str:
    """What the wizard says before submit when options need root@pam ("" when none do):
    the node's credential is an API token, which Proxmox never treats as root@pam."""
    if not features.needs_root():
        return ""
    it = "them" if len(features.root_only()) > 1 else "it"
    return (
        f"{_root_only_text(features)}: Proxmox lets only the user root@pam itself set "
        f"{it}, and the node's credential is an API token (even a token of root@pam is not "
        f"root@pam). LXC Manager creates the container without {it} and sets {it} with "
        "`pct set` over SSH right after."
    )


def validate_request(req: CreateRequest, *, has_ssh: bool) -> dict[str, str]:
    """Every rule of a request, as {field: message}; empty when it may be submitted."""
    errors: dict[str, str] = {}

    def check(name: str, problem: str | None) -> None:
        if problem is not None:
            errors.setdefault(name, problem)

    if isinstance(req.node_id, bool) or not isinstance(req.node_id, int) or req.node_id < 1:
        errors["node_id"] = "Choose a node"
    if not isinstance(req.pve_node, str) or not _PVE_NODE.match(req.pve_node):
        errors["pve_node"] = "Choose a Proxmox node"
    check("vmid", vmid_error(req.vmid))
    check("hostname", hostname_error(req.hostname))
    if not req.os_template:
        errors["os_template"] = "Choose an OS template"
    elif not _OS_TEMPLATE.match(req.os_template):
        errors["os_template"] = (
            "An OS template is a volume such as local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"
        )
    if not req.storage:
        errors["storage"] = "Choose a storage for the root disk"
    elif not STORAGE_PATTERN.match(req.storage):
        errors["storage"] = "A storage id looks like local-lvm"
    check("disk_gb", _range_error(req.disk_gb, DISK_RANGE, "Disk size (GB)"))
    check("cores", _range_error(req.cores, CPU_RANGE, "Cores"))
    check("memory_mb", _range_error(req.memory_mb, MEMORY_RANGE, "Memory (MB)"))
    check("swap_mb", _range_error(req.swap_mb, SWAP_RANGE, "Swap (MB)"))
    if not req.bridge:
        errors["bridge"] = "Choose a network bridge"
    elif not BRIDGE_PATTERN.match(req.bridge):
        errors["bridge"] = "A bridge name looks like vmbr0 (at most 16 characters)"
    check("ipv4", _ipv4_error(req.ipv4))
    if "ipv4" not in errors:
        check("gateway", _gateway_error(req.gateway, req.ipv4))
    check("nameserver", _nameserver_error(req.nameserver))
    check("searchdomain", _searchdomain_error(req.searchdomain))
    check("ssh_public_keys", ssh_keys_error(req.ssh_public_keys))
    if len(req.tags) > TAGS_MAX:
        errors["tags"] = f"At most {TAGS_MAX} tags"
    elif bad := [tag for tag in req.tags if not TAG_PATTERN.match(tag)]:
        errors["tags"] = f"Tags are lower case letters, digits, _ . + - (not {bad[0]!r})"
    if req.template_id is not None and (
        isinstance(req.template_id, bool)
        or not isinstance(req.template_id, int)
        or req.template_id < 1
    ):
        errors["template_id"] = "Unknown template"
    if len(req.template_name) > NAME_MAX:
        errors["template_name"] = f"A template name is at most {NAME_MAX} characters"
    for key, message in _recipe_errors(req).items():
        errors.setdefault(key, message)
    if not has_ssh:
        for key, message in _ssh_errors(req).items():
            errors.setdefault(key, message)
    return errors


# -- Proxmox --------------------------------------------------------------------------------------


def _net0(req: CreateRequest) -> str:
    parts = ["name=eth0", f"bridge={req.bridge}"]
    interface = static_address(req.ipv4)
    if interface is None:
        parts.append("ip=dhcp")
    else:
        parts.append(f"ip={interface.with_prefixlen}")
        if req.gateway.strip():
            parts.append(f"gw={req.gateway.strip()}")
    return ",".join(parts)


def _ssh_keys(text: str) -> str:
    lines = [line.strip() for line in text.splitlines()]
    return "\n".join(line for line in lines if line and not line.startswith("#"))


def proxmox_params(req: CreateRequest) -> dict[str, str | int]:
    """The body of POST /nodes/{node}/lxc for a valid request (booleans as 0/1)."""
    params: dict[str, str | int] = {
        "vmid": req.vmid,
        "hostname": req.hostname,
        "ostemplate": req.os_template,
        "rootfs": f"{req.storage}:{req.disk_gb}",
        "cores": req.cores,
        "memory": req.memory_mb,
        "swap": req.swap_mb,
        "net0": _net0(req),
        "unprivileged": int(req.features.unprivileged),
        "onboot": int(req.onboot),
        "start": 0,
    }
    if req.features.nesting and req.features.unprivileged:  # privileged: root-only
        params["features"] = "nesting=1"
    if req.tags:
        params["tags"] = ";".join(req.tags)
    keys = _ssh_keys(req.ssh_public_keys)
    if keys:
        params["ssh-public-keys"] = keys
    nameservers = _nameservers(req.nameserver)
    if nameservers:
        params["nameserver"] = " ".join(nameservers)
    if req.searchdomain.strip():
        params["searchdomain"] = " ".join(req.searchdomain.split())
    return params


def root_features_value(features: Features) -> str | None:
    """`pct set VMID --features VALUE` for the root-only features (None when none is set).
    The value is the whole property, so nesting is repeated when it is on (the create left
    it out when the container is privileged)."""
    if not features.needs_root():
        return None
    return features.proxmox_value()


def container_os(os_template: str) -> str:
    """`local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst` -> `debian-12` (what the
    script preamble exports as CONTAINER_OS); the template's base name when unusual."""
    name = os_template.rsplit("/", 1)[-1]
    match = _OS_NAME.match(name)
    if match is not None:
        return f"{match.group(1)}-{match.group(2)}"
    base = re.sub(r"[^A-Za-z0-9._+-]", "-", name.split("_", 1)[0]).lstrip("._+-")
    return base[:128] or "unknown"


# -- what a job runs, frozen at submit ------------------------------------------------------------


def content_digest(
    scripts: tuple[ScriptSpec, ...], files: tuple[FileSpec, ...], packages: tuple[PackageSpec, ...]
) -> str:
    """SHA-256 (hex) of a canonical JSON of the scripts (in order, with their enabled
    flag), files and packages a job runs: the review step shows it, the job row keeps it,
    and the worker runs only a request that still has it."""
    canonical = json.dumps(
        {
            "scripts": [dataclasses.asdict(s) for s in scripts],
            "files": [dataclasses.asdict(f) for f in files],
            "packages": [dataclasses.asdict(p) for p in packages],
        },
        separators=(",", ":"),
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def request_digest(req: CreateRequest) -> str:
    return content_digest(req.scripts, req.files, req.packages)


# -- JSON (the job row keeps the request as it was submitted) ------------------------------------


def request_to_json(req: CreateRequest) -> str:
    """The request as JSON (no secrets: a request never carries any)."""
    return json.dumps(dataclasses.asdict(req), separators=(",", ":"), sort_keys=True)


def _str(data: dict[str, Any], key: str) -> str:
    value = data.get(key, "")
    if not isinstance(value, str):
        raise ValueError(f"{key} must be a string")
    return value


def _int(data: dict[str, Any], key: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{key} must be an integer")
    return value


def _bool(data: dict[str, Any], key: str, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise ValueError(f"{key} must be true or false")
    return value


def _items(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ValueError(f"{key} must be a list of objects")
    return value


def request_from_json(text: str) -> CreateRequest:
    """The inverse of `request_to_json`; ValueError for anything malformed."""
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("a request is a JSON object")
    features = data.get("features", {})
    if not isinstance(features, dict):
        raise ValueError("features must be an object")
    tags = data.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise ValueError("tags must be a list of strings")
    template_id = data.get("template_id")
    if template_id is not None and (
        isinstance(template_id, bool) or not isinstance(template_id, int)
    ):
        raise ValueError("template_id must be an integer or null")
    policies: tuple[FilePolicy, ...] = ("replace", "default", "backup")
    managers: tuple[PackageManager, ...] = ("apt", "npm", "pip", "custom")
    files = []
    for item in _items(data, "files"):
        policy = _str(item, "policy")
        if policy not in policies:
            raise ValueError(f"unknown file policy {policy!r}")
        files.append(
            FileSpec(
                name=_str(item, "name"),
                target_path=_str(item, "target_path"),
                content=_str(item, "content"),
                policy=policies[policies.index(policy)],
                mode=_str(item, "mode"),
            )
        )
    packages = []
    for item in _items(data, "packages"):
        manager = _str(item, "manager")
        if manager not in managers:
            raise ValueError(f"unknown package manager {manager!r}")
        packages.append(
            PackageSpec(
                manager=managers[managers.index(manager)],
                name=_str(item, "name"),
                version=_str(item, "version"),
                command=_str(item, "command"),
            )
        )
    return CreateRequest(
        node_id=_int(data, "node_id"),
        pve_node=_str(data, "pve_node"),
        vmid=_int(data, "vmid"),
        hostname=_str(data, "hostname"),
        os_template=_str(data, "os_template"),
        storage=_str(data, "storage"),
        disk_gb=_int(data, "disk_gb"),
        cores=_int(data, "cores"),
        memory_mb=_int(data, "memory_mb"),
        swap_mb=_int(data, "swap_mb"),
        bridge=_str(data, "bridge"),
        ipv4=_str(data, "ipv4"),
        gateway=_str(data, "gateway"),
        nameserver=_str(data, "nameserver"),
        searchdomain=_str(data, "searchdomain"),
        ssh_public_keys=_str(data, "ssh_public_keys"),
        features=Features(
            unprivileged=_bool(features, "unprivileged", True),
            nesting=_bool(features, "nesting", False),
            keyctl=_bool(features, "keyctl", False),
            fuse=_bool(features, "fuse", False),
        ),
        tags=tuple(tags),
        onboot=_bool(data, "onboot", False),
        template_id=template_id,
        template_name=_str(data, "template_name"),
        scripts=tuple(
            ScriptSpec(
                name=_str(item, "name"),
                content=_str(item, "content"),
                enabled=_bool(item, "enabled", True),
            )
            for item in _items(data, "scripts")
        ),
        files=tuple(files),
        packages=tuple(packages),
    )
