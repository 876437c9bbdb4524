"""A creation as the HTTP API submits it: the wizard's fields as JSON, judged by the wizard's
own rules, submitted through the wizard's own path.

The body names what the wizard's form holds (`FIELDS`); what it leaves out is chosen as the
wizard chooses it: the user's default node, the first Proxmox node offered, the template's
size, tags, features, scripts, packages and buckets (`form.template_fields`), the OS
template matching the template's pattern and the template's storage and bridge when the
node offers them, else the first ones offered (`form.offered_or_first`); a missing VMID is
the cluster's next free one. A value given must be one the node offers, as in the wizard's
lists. The strings then go through `form.request_from_fields` (a number that is no whole
number is refused by the validation's own message), the recipe is resolved on the server
(`recipe.resolve_recipe`) and `request.validate_request` judges the whole request; the
submit is `recipe.submit_reviewed`, which `jobs.submit` validates once more.

The wizard's review step shows a content digest that the submit must match. An API client
may do the same: `preview` answers the resolved request and its `content_digest`, and a
submit carrying `content_digest` is refused when the template changed since. Without it, the
job runs what the template holds at submit time (frozen in the job row from then on).

Errors are `{field: message}` keyed like the wizard's (`hostname`, `scripts.1.name`, ...);
"form" holds what no field explains.

    result = await submit(actor, body)       # CreationResult(job_id, errors)
    preview = await preview(actor, body)     # CreationPreview(request, params, digest) | result
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import redis.exceptions

from lxc_manager.nodes import NodeNotFound, NodeSecretError, NodeView, client_for, list_nodes
from lxc_manager.proxmox import ProxmoxError
from lxc_manager.security.actor import Actor
from lxc_manager.templates import service as templates
from lxc_manager.templates.packages import PackageLineError, package_spec
from lxc_manager.templates.spec import Features, PackageSpec, ScriptSpec, TemplateSpec

from . import jobs, options, vmids
from .form import FORM_FIELDS, offered_or_first, request_from_fields, template_fields
from .recipe import (
    MSG_TEMPLATE_GONE,
    Recipe,
    RecipeChoices,
    RecipeUnavailable,
    ScriptChoice,
    apply_recipe,
    resolve_recipe,
    submit_reviewed,
)
from .request import CreateRequest, proxmox_params, validate_request
from .request_fields import VMID_MAX, VMID_MIN

__all__ = [
    "FIELDS",
    "CreationPreview",
    "CreationResult",
    "preview",
    "submit",
]

log = logging.getLogger(__name__)

# The body's fields (the wizard's form and choices).
NUMBER_FIELDS: Final = ("vmid", "disk_gb", "cores", "memory_mb", "swap_mb")
TEXT_FIELDS: Final = (
    "pve_node",
    "hostname",
    "os_template",
    "storage",
    "bridge",
    "ipv4",
    "gateway",
    "nameserver",
    "searchdomain",
    "ssh_public_keys",
)
FEATURE_FIELDS: Final = ("unprivileged", "nesting", "keyctl", "fuse")
FIELDS: Final = frozenset(
    (
        "template_id",
        "node_id",
        *NUMBER_FIELDS,
        *TEXT_FIELDS,
        "tags",
        "onboot",
        "features",
        "scripts",
        "packages",
        "buckets",
        "content_digest",
    )
)
LIST_MAX: Final = 200  # scripts, packages, buckets, tags: more than any form holds
TEXT_MAX: Final = 64 * 1024

MSG_NO_NODE = "Add a node first (Settings → Nodes)"
MSG_NOT_OFFERED = "{value!r} is not offered on {pve_node}{offered}"
MSG_NO_FREE_VMID = "No free VMID was found: give one"
MSG_DIGEST = "The template changed since this digest was read: preview again"


@dataclass(frozen=True)
class CreationResult:
    """`job_id` when the job was queued; otherwise `errors` ({field: message}) say why."""

    job_id: str | None
    errors: dict[str, str] = dataclasses.field(default_factory=dict)
    unavailable: bool = False  # the node could not be asked (not the input's fault)


@dataclass(frozen=True)
class CreationPreview:
    """What a submit of the same body would run (the wizard's review step)."""

    request: CreateRequest
    params: dict[str, str | int]  # the body of POST /nodes/{node}/lxc
    content_digest: str


class _BadInput(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


class _Unavailable(_BadInput):
    """The node (or Proxmox node) could not tell what it offers."""


# -- the body's shape -----------------------------------------------------------------------------


def _text(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _BadInput(name, f"{name} must be a string")
    if len(value) > TEXT_MAX:
        raise _BadInput(name, f"{name} is too long")
    return value


def _number_text(body: Mapping[str, Any], name: str) -> str | None:
    """A number as the form holds it (a string); anything that is not a whole number
    becomes text the validation refuses with its own message."""
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and len(value) <= 12:
        return value
    return "not a number"


def _flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise _BadInput(name, f"{name} must be true or false")
    return value


def _list(body: Mapping[str, Any], name: str) -> list[Any] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, list):
        raise _BadInput(name, f"{name} must be a list")
    if len(value) > LIST_MAX:
        raise _BadInput(name, f"At most {LIST_MAX} {name}")
    return value


def _id(body: Mapping[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _BadInput(name, f"{name} must be a positive whole number")
    return value


def _features(body: Mapping[str, Any], default: Features) -> Features:
    value = body.get("features")
    if value is None:
        return default
    if not isinstance(value, dict):
        raise _BadInput("features", "features must be an object")
    for key in value:
        if key not in FEATURE_FIELDS:
            raise _BadInput(f"features.{key}", f"Unknown feature {str(key)[:40]!r}")
    flags = {key: _flag(value[key], f"features.{key}") for key in value}
    return dataclasses.replace(default, **flags)


def _tags(body: Mapping[str, Any]) -> str | None:
    value = body.get("tags")
    if value is None or isinstance(value, str):
        return value
    items = _list(body, "tags") or []
    if not all(isinstance(tag, str) for tag in items):
        raise _BadInput("tags", "tags must be a list of strings")
    return ", ".join(items)


def _script_choices(body: Mapping[str, Any], spec: TemplateSpec) -> tuple[ScriptChoice, ...]:
    items = _list(body, "scripts")
    if items is None:
        return tuple(ScriptChoice(s.name, s.enabled) for s in spec.scripts)
    known = {s.name for s in spec.scripts}
    choices = []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise _BadInput(f"scripts.{index}", 'A script is {"name": ..., "enabled": ...}')
        if item["name"] not in known:
            raise _BadInput(f"scripts.{index}.name", "The template has no script of this name")
        enabled = _flag(item.get("enabled", True), f"scripts.{index}.enabled")
        choices.append(ScriptChoice(item["name"], enabled))
    return tuple(choices)


def _packages(body: Mapping[str, Any], spec: TemplateSpec) -> tuple[PackageSpec, ...]:
    items = _list(body, "packages")
    if items is None:
        return spec.packages
    packages = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise _BadInput(f"packages.{index}", "A package is an object")
        text = {}
        for key in ("manager", "name", "version", "command"):
            value = item.get(key, "")
            if not isinstance(value, str):
                raise _BadInput(f"packages.{index}.{key}", f"{key} must be a string")
            text[key] = value
        try:
            packages.append(package_spec(**text))
        except PackageLineError as exc:
            raise _BadInput(f"packages.{index}.manager", str(exc)) from None
    return tuple(packages)


def _buckets(body: Mapping[str, Any], spec: TemplateSpec) -> tuple[str, ...]:
    items = _list(body, "buckets")
    if items is None:
        return spec.buckets
    if not all(isinstance(name, str) for name in items):
        raise _BadInput("buckets", "buckets must be a list of names")
    return tuple(items)


# -- choosing what the body leaves out, as the wizard does ------------------------------------------


async def _template(actor: Actor, template_id: int | None) -> tuple[TemplateSpec, int]:
    if template_id is None:
        return TemplateSpec(name=""), 0
    stored = await templates.get_template(actor, template_id)
    if stored is None:
        raise _BadInput("template_id", MSG_TEMPLATE_GONE)
    return stored.spec, stored.id


async def _node(user_id: str, node_id: int | None) -> NodeView:
    nodes = await list_nodes(user_id)
    if node_id is None:  # the default node is listed first
        if not nodes:
            raise _BadInput("node_id", MSG_NO_NODE)
        return nodes[0]
    found = next((node for node in nodes if node.id == node_id), None)
    if found is None:
        raise _BadInput("node_id", jobs.MSG_NODE_NOT_FOUND)
    return found


def _offered(
    name: str, given: str | None, offered: list[str], pve_node: str, default: str, pattern: str = ""
) -> str:
    """The given value when offered (else refused, as the wizard's lists allow only those),
    or the wizard's choice for the default."""
    if given is None:
        return offered_or_first(default, offered, pattern)
    if given not in offered:
        listed = f" (offered: {', '.join(offered[:10])})" if offered else " (none is offered)"
        raise _BadInput(
            name, MSG_NOT_OFFERED.format(value=given, pve_node=pve_node, offered=listed)
        )
    return given


async def _free_vmid(user_id: str, node: NodeView) -> int:
    """The cluster's next free VMID (Proxmox's /cluster/nextid), skipping the ones the
    user's own pending jobs hold; the submit checks it again."""
    try:
        client = await asyncio.to_thread(client_for, user_id, node.id)
        async with client:
            first = await client.next_id()
            taken = await vmids.fill_cache(user_id, vmids.cluster_key_of(node), client)
    except NodeSecretError as exc:
        raise _BadInput("node_id", exc.user_message) from None
    except ProxmoxError as exc:
        raise _Unavailable("vmid", f"{MSG_NO_FREE_VMID} ({exc.user_message})") from None
    cluster_key = vmids.cluster_key_of(node)
    for vmid in range(max(first, VMID_MIN), min(first + 100, VMID_MAX)):
        if vmid in taken:
            continue
        found = await vmids.lookup(user_id, cluster_key, vmid)
        if not found.taken and found.held_by is None:
            return vmid
    raise _BadInput("vmid", MSG_NO_FREE_VMID)


@dataclass(frozen=True)
class _Prepared:
    node: NodeView
    request: CreateRequest  # the form's request (script names and switches only)
    choices: RecipeChoices
    recipe: Recipe
    digest: str  # what the client says it reviewed ("" when it did not)


async def _prepare(actor: Actor, body: Mapping[str, Any]) -> _Prepared:
    """The request the body describes, with the wizard's defaults; `_BadInput` for the
    first field that is wrong in shape or not offered."""
    if unknown := sorted(str(key) for key in body if key not in FIELDS):
        raise _BadInput(unknown[0][:60], "Unknown field")
    spec, template_id = await _template(actor, _id(body, "template_id"))
    features = _features(body, spec.features)
    onboot = _flag(body.get("onboot", False), "onboot")
    choices = RecipeChoices(
        template_id=template_id or None,
        scripts=_script_choices(body, spec),
        packages=_packages(body, spec),
        buckets=_buckets(body, spec),
    )
    digest = _text(body, "content_digest") or ""
    given = {name: _text(body, name) for name in TEXT_FIELDS}
    numbers = {name: _number_text(body, name) for name in NUMBER_FIELDS}
    tags = _tags(body)
    node = await _node(actor.user_id, _id(body, "node_id"))
    offered = await options.node_options(actor.user_id, node.id)
    if offered.error:
        raise _Unavailable("node_id", offered.error)
    pve_node = _offered("pve_node", given["pve_node"], list(offered.pve_nodes), node.name, "")
    if pve_node in offered.errors:
        raise _Unavailable("pve_node", f"{pve_node}: {offered.errors[pve_node]}")
    fields = dict.fromkeys(FORM_FIELDS, "")
    fields.update({"disk_gb": "8", "cores": "1", "memory_mb": "512", "swap_mb": "512"})
    fields.update(template_fields(spec))
    fields["pve_node"] = pve_node
    fields["os_template"] = _offered(
        "os_template",
        given["os_template"],
        [t.volid for t in offered.os_templates.get(pve_node, ())],
        pve_node,
        "",
        spec.os_template,
    )
    fields["storage"] = _offered(
        "storage",
        given["storage"],
        [s.storage for s in offered.rootfs_storages.get(pve_node, ())],
        pve_node,
        fields.get("storage", ""),
    )
    fields["bridge"] = _offered(
        "bridge",
        given["bridge"],
        [b.iface for b in offered.bridges.get(pve_node, ())],
        pve_node,
        fields.get("bridge", "vmbr0"),
    )
    for name in ("hostname", "gateway", "nameserver", "searchdomain", "ssh_public_keys"):
        fields[name] = given[name] or ""
    # The address as given ("dhcp" or CIDR), never dropped as the form's DHCP switch drops
    # a gateway it hides: a gateway with DHCP is refused by the rules, not ignored.
    fields["ip_mode"], fields["ipv4"] = "static", (given["ipv4"] or "dhcp").strip()
    for name, text in numbers.items():
        if text is not None:
            fields[name] = text
    if tags is not None:
        fields["tags"] = tags
    if numbers["vmid"] is None:
        fields["vmid"] = str(await _free_vmid(actor.user_id, node))
    request = request_from_fields(
        fields,
        node_id=node.id,
        features=features,
        onboot=onboot,
        template_id=template_id,
        template_name=spec.name,
        scripts=(ScriptSpec(c.name, "", c.enabled) for c in choices.scripts),  # names only
        packages=choices.packages,
    )
    try:
        recipe = await asyncio.to_thread(resolve_recipe, actor, choices)
    except RecipeUnavailable as exc:
        field = "template_id" if exc.message == MSG_TEMPLATE_GONE else "buckets"
        raise _BadInput(field, exc.message) from None
    return _Prepared(node, request, choices, recipe, digest)


async def _checked(actor: Actor, body: Mapping[str, Any]) -> _Prepared | CreationResult:
    try:
        prepared = await _prepare(actor, body)
    except _BadInput as exc:
        return CreationResult(None, {exc.field: exc.message}, isinstance(exc, _Unavailable))
    except NodeNotFound:
        return CreationResult(None, {"node_id": jobs.MSG_NODE_NOT_FOUND})
    except redis.exceptions.RedisError:
        log.exception("creation: Redis failed")
        return CreationResult(None, {"form": jobs.MSG_QUEUE_FAILED}, True)
    full = apply_recipe(prepared.request, prepared.recipe)
    errors = validate_request(full, has_ssh=prepared.node.has_ssh)
    if prepared.digest and prepared.digest != prepared.recipe.digest:
        errors.setdefault("content_digest", MSG_DIGEST)
    return CreationResult(None, errors) if errors else prepared


async def preview(actor: Actor, body: Mapping[str, Any]) -> CreationPreview | CreationResult:
    """What a submit of `body` would run, or the errors a submit would answer."""
    prepared = await _checked(actor, body)
    if isinstance(prepared, CreationResult):
        return prepared
    full = apply_recipe(prepared.request, prepared.recipe)
    return CreationPreview(full, proxmox_params(full), prepared.recipe.digest)


async def submit(actor: Actor, body: Mapping[str, Any]) -> CreationResult:
    """Validate and submit `body` as the wizard submits its form; nothing is saved or
    held when `errors` is not empty."""
    prepared = await _checked(actor, body)
    if isinstance(prepared, CreationResult):
        return prepared
    reviewed = prepared.digest or prepared.recipe.digest
    result = await submit_reviewed(actor, prepared.request, prepared.choices, reviewed)
    unavailable = result.errors.get("form") == jobs.MSG_QUEUE_FAILED
    return CreationResult(result.job_id, result.errors, unavailable)
