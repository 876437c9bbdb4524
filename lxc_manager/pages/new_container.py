"""`/containers/new`: the creation wizard — Template → Configure → Packages → Scripts → Review.

Every field is checked as it changes (the same pure rules the server runs again on
submit); the VMID is checked against the cluster's cached taken ids in Redis, debounced.

Only templates the user may use are offered. Until the review step the state holds the
user's choices (template id, script names and switches, packages, buckets), never script
or file contents: the review step resolves them on the server (`recipe.resolve_recipe`)
and shows the exact scripts, files and packages with their content digest. Submitting
resolves them again and is refused when anything changed since the review
(`recipe.submit_reviewed`); otherwise it reserves the VMID, records a provisioning job
(which keeps that content, frozen) and sends the browser to its progress page.
"""

from __future__ import annotations

import asyncio
import logging

import reflex as rx
from pydantic import BaseModel
from redis.exceptions import RedisError

from lxc_manager.aio import all_of
from lxc_manager.nodes import service as nodes
from lxc_manager.nodes.service import NodeNotFound, NodeSecretError, NodeView
from lxc_manager.pages.components.layout import empty_state, page_shell
from lxc_manager.pages.components.no_nodes import no_nodes_banner
from lxc_manager.state.legacy_session import NodeSummaryState
from lxc_manager.pages.components.package_form import package_form, package_from_form
from lxc_manager.provisioning import options, vmids
from lxc_manager.provisioning.recipe import (
    MSG_REVIEW_AGAIN,
    Recipe,
    RecipeChoices,
    RecipeUnavailable,
    ScriptChoice,
    resolve_recipe,
    submit_reviewed,
)
from lxc_manager.provisioning.request import (
    MSG_NEEDS_SSH,
    CreateRequest,
    proxmox_params,
    root_only_warning,
    validate_request,
)
from lxc_manager.proxmox import ProxmoxError
from lxc_manager.security.actor import Actor
from lxc_manager.state.legacy_session import require_session
from lxc_manager.templates import service as templates
from lxc_manager.templates.packages import package_line
from lxc_manager.templates.spec import (
    PACKAGE_MANAGERS,
    Features,
    PackageSpec,
    ScriptSpec,
    TemplateSpec,
    normalize_tags,
)

log = logging.getLogger(__name__)

ROUTE = "/containers/new"
TITLE = "New container"
STEPS = ("Template", "Configure", "Packages", "Scripts", "Review")
CONFIG_FIELDS = (
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
TEXT_LIMITS = {
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


class TemplateChoice(BaseModel):
    id: int
    name: str
    description: str
    os_template: str
    tags: list[str]
    counts: str


class NodeChoice(BaseModel):
    id: int
    name: str
    is_default: bool
    has_ssh: bool


class Option(BaseModel):
    value: str
    label: str


class ScriptRow(BaseModel):
    """A template script as the wizard lists it: its name and switch, not its content
    (that is read on the server at the review step)."""

    name: str
    enabled: bool = True


class ReviewScript(BaseModel):
    name: str
    content: str
    enabled: bool


class ReviewFile(BaseModel):
    name: str
    target_path: str
    policy: str
    mode: str
    content: str


class PackageRow(BaseModel):
    manager: str
    name: str
    version: str = ""
    command: str = ""
    source: str = "template"  # template | extra


class ParamRow(BaseModel):
    key: str
    value: str


def _num(text: str) -> int:
    text = text.strip()
    return int(text) if text.isdigit() else -1


class WizardState(NodeSummaryState):
    step: int = 0
    loaded: bool = False
    submitting: bool = False
    # choices
    template_choices: list[TemplateChoice] = []
    template_id: int = 0  # 0 = blank
    template_name: str = ""
    node_choices: list[NodeChoice] = []
    node_id: int = 0
    changing_node: bool = False
    options_loading: bool = False
    options_error: str = ""
    pve_nodes: list[str] = []
    os_templates: list[Option] = []
    storages: list[Option] = []
    bridges: list[Option] = []
    bridge_note: str = ""  # why the bridge list is empty
    _os_pattern: str = ""
    # configure
    pve_node: str = ""
    vmid: str = ""
    vmid_status: str = ""  # "", checking, free, taken, invalid, unknown
    vmid_message: str = ""
    hostname: str = ""
    os_template: str = ""
    storage: str = ""
    disk_gb: str = "8"
    cores: str = "1"
    memory_mb: str = "512"
    swap_mb: str = "512"
    bridge: str = "vmbr0"
    ip_mode: str = "dhcp"
    ipv4: str = ""
    gateway: str = ""
    nameserver: str = ""
    searchdomain: str = ""
    ssh_public_keys: str = ""
    tags: str = ""
    onboot: bool = False
    unprivileged: bool = True
    nesting: bool = False
    keyctl: bool = False
    fuse: bool = False
    # recipe
    files_count: int = 0
    scripts: list[ScriptRow] = []
    packages: list[PackageRow] = []
    bucket_names: list[str] = []
    buckets: list[str] = []
    pkg_manager: str = "apt"
    pkg_errors: dict[str, str] = {}
    # feedback
    touched: list[str] = []
    errors: dict[str, str] = {}
    submit_error: str = ""
    # the review step: exactly what the job will run, and its digest
    review_scripts: list[ReviewScript] = []
    review_files: list[ReviewFile] = []
    review_packages: list[str] = []
    review_digest: str = ""
    review_error: str = ""
    _options_cache: options.NodeOptions | None = None

    # ---- derived ----------------------------------------------------------------------
    @rx.var
    def node_name(self) -> str:
        return next((n.name for n in self.node_choices if n.id == self.node_id), "")

    @rx.var
    def node_has_ssh(self) -> bool:
        return next((n.has_ssh for n in self.node_choices if n.id == self.node_id), False)

    @rx.var
    def recipe_needs_ssh(self) -> bool:
        return bool(
            self.files_count
            or self.packages
            or any(s.enabled for s in self.scripts)
            or self._features().needs_root()
        )

    @rx.var
    def root_warning(self) -> str:
        """Before submit: options only root@pam may set, applied with pct set over SSH."""
        return root_only_warning(self._features())

    @rx.var
    def enabled_scripts(self) -> int:
        return sum(1 for s in self.scripts if s.enabled)

    @rx.var
    def review_params(self) -> list[ParamRow]:
        try:
            params = proxmox_params(self._request())
        except (ValueError, TypeError):
            return []
        return [ParamRow(key=k, value=str(v)) for k, v in params.items()]

    # ---- building the request ---------------------------------------------------------
    def _features(self) -> Features:
        return Features(self.unprivileged, self.nesting, self.keyctl, self.fuse)

    def _actor(self) -> Actor:
        return Actor(self._user_id, self.is_admin)

    def _own_packages(self) -> tuple[PackageSpec, ...]:
        return tuple(
            PackageSpec(p.manager, p.name, p.version, p.command)  # type: ignore[arg-type]
            for p in self.packages
        )

    def _choices(self) -> RecipeChoices:
        return RecipeChoices(
            template_id=self.template_id or None,
            scripts=tuple(ScriptChoice(s.name, s.enabled) for s in self.scripts),
            packages=self._own_packages(),
            buckets=tuple(self.buckets),
        )

    def _request(self) -> CreateRequest:
        """The request as the form stands: the configuration, the script names and
        switches and the wizard's own packages. Contents come from the server at review
        and at submit (`recipe`), never from this state."""
        return CreateRequest(
            node_id=self.node_id,
            pve_node=self.pve_node,
            vmid=_num(self.vmid),
            hostname=self.hostname.strip(),
            os_template=self.os_template,
            storage=self.storage,
            disk_gb=_num(self.disk_gb),
            cores=_num(self.cores),
            memory_mb=_num(self.memory_mb),
            swap_mb=_num(self.swap_mb),
            bridge=self.bridge,
            ipv4="dhcp" if self.ip_mode == "dhcp" else self.ipv4.strip(),
            gateway="" if self.ip_mode == "dhcp" else self.gateway.strip(),
            nameserver=self.nameserver.strip(),
            searchdomain=self.searchdomain.strip(),
            ssh_public_keys=self.ssh_public_keys,
            features=self._features(),
            tags=normalize_tags(self.tags),
            onboot=self.onboot,
            template_id=self.template_id or None,
            template_name=self.template_name,
            scripts=tuple(ScriptSpec(s.name, "", s.enabled) for s in self.scripts),
            files=(),
            packages=self._own_packages(),
        )

    def _validate(self, fields: tuple[str, ...] | None = None) -> dict[str, str]:
        errors = validate_request(self._request(), has_ssh=self.node_has_ssh)
        if self.files_count and not self.node_has_ssh:  # the files themselves are not here
            errors.setdefault("files", MSG_NEEDS_SSH.format(what="Files"))
        if fields is not None:
            errors = {k: v for k, v in errors.items() if k.split(".")[0] in fields}
        return errors

    def _show_touched(self) -> None:
        """Errors of the fields the user has left (inline validation as they type)."""
        found = self._validate(tuple(self.touched))
        if self.vmid_status in ("taken", "invalid") and "vmid" in self.touched:
            found["vmid"] = self.vmid_message
        self.errors = found

    # ---- loading ----------------------------------------------------------------------
    @rx.event
    @require_session
    async def load(self):
        self.node_count = 0
        actor = self._actor()
        views, listed, buckets = await all_of(
            nodes.list_nodes(self._user_id),
            templates.list_templates(actor),
            templates.list_buckets(actor),
        )
        self.node_count, self.summary_loaded = len(views), True
        self.node_choices = [
            NodeChoice(id=v.id, name=v.name, is_default=v.is_default, has_ssh=v.has_ssh)
            for v in views
        ]
        self.template_choices = [
            TemplateChoice(
                id=t.id,
                name=t.name,
                description=t.description,
                os_template=t.os_template,
                tags=list(t.tags),
                counts=f"{t.scripts} scripts · {t.files} files · {t.packages} packages",
            )
            for t in listed
        ]
        self.bucket_names = [b.name for b in buckets]
        self._reset_form(views)
        self.loaded = True
        if not views:
            return None
        wanted = self.router.url.query_parameters.get("template", "")
        if isinstance(wanted, str) and wanted.isdigit():
            self._prefill(int(wanted), await templates.get_template(actor, int(wanted)))
        return WizardState.load_options

    def _reset_form(self, views: list[NodeView]) -> None:
        default = next((v for v in views if v.is_default), views[0] if views else None)
        self.step, self.submitting, self.changing_node = 0, False, False
        self.node_id = default.id if default else 0
        self.template_id, self.template_name, self._os_pattern = 0, "", ""
        self.pve_node, self.vmid, self.vmid_status, self.vmid_message = "", "", "", ""
        self.hostname, self.os_template, self.storage = "", "", ""
        self.disk_gb, self.cores, self.memory_mb, self.swap_mb = "8", "1", "512", "512"
        self.bridge, self.ip_mode, self.ipv4, self.gateway = "vmbr0", "dhcp", "", ""
        self.nameserver, self.searchdomain, self.ssh_public_keys, self.tags = "", "", "", ""
        self.onboot, self.unprivileged, self.nesting, self.keyctl, self.fuse = (
            False,
            True,
            False,
            False,
            False,
        )
        self.files_count, self.scripts, self.packages, self.buckets = 0, [], [], []
        self.touched, self.errors, self.submit_error, self.pkg_errors = [], {}, "", {}
        self._forget_review()
        self.options_error = ""

    @rx.event(background=True)
    @require_session
    async def load_options(self) -> None:
        """The chosen node's Proxmox nodes, OS templates, storages and bridges, and a fresh
        VMID cache for its cluster — fetched concurrently by the service."""
        async with self:
            session = await self.current_session()
            if session is None or not self.node_id:
                return
            user_id, node_id = session.user_id, self.node_id
            self.options_loading, self.options_error = True, ""
        result = await options.node_options(user_id, node_id)
        try:
            await vmids.refresh_cache(user_id, node_id)
        except (NodeNotFound, NodeSecretError, ProxmoxError, RedisError) as exc:
            # The debounced check answers "unknown" and says why; the form still works.
            log.info("VMID cache refresh for node %s failed: %r", node_id, exc)
        async with self:
            if self.node_id != node_id:
                return
            self.options_loading = False
            self._apply_options(result)
        if self.vmid:
            yield WizardState.check_vmid

    def _apply_options(self, result: options.NodeOptions) -> None:
        self.options_error = result.error
        self.pve_nodes = list(result.pve_nodes)
        if self.pve_node not in self.pve_nodes:
            self.pve_node = self.pve_nodes[0] if self.pve_nodes else ""
        self._options_cache = result
        self._fill_node_lists(result)

    def _fill_node_lists(self, result: options.NodeOptions) -> None:
        node = self.pve_node
        self.os_templates = [
            Option(value=t.volid, label=t.label) for t in result.os_templates.get(node, ())
        ]
        self.storages = [
            Option(value=s.storage, label=s.label) for s in result.rootfs_storages.get(node, ())
        ]
        if node in result.errors:
            self.options_error = f"{node}: {result.errors[node]}"
        self.bridges = [Option(value=b.iface, label=b.label) for b in result.bridges.get(node, ())]
        self.bridge_note = result.bridge_notes.get(node, "")
        volids = [o.value for o in self.os_templates]
        if self.os_template not in volids:
            pattern = self._os_pattern
            match = next((v for v in volids if pattern and pattern in v), None)
            self.os_template = match or (volids[0] if volids else "")
        storages = [o.value for o in self.storages]
        if self.storage not in storages:
            self.storage = storages[0] if storages else ""
        bridges = [o.value for o in self.bridges]
        if self.bridge not in bridges:
            self.bridge = bridges[0] if bridges else ""

    # ---- steps ------------------------------------------------------------------------
    @rx.event
    @require_session
    async def go(self, step: int) -> None:
        if step < 0 or step >= len(STEPS) or self.submitting:
            return
        if step > 1 and self.step <= 1:
            shown = self.touched
            self.touched = list(CONFIG_FIELDS)
            self._show_touched()
            blocked = any(k.split(".")[0] in CONFIG_FIELDS for k in self.errors)
            if self.step == 0:  # Configure not seen yet: its errors wait for typing or Next
                self.touched = shown
                self._show_touched()
            if blocked:
                self.step = 1
                return
        self.step = step
        if step == len(STEPS) - 1:
            await self._review()

    # ---- the review ---------------------------------------------------------------------
    def _forget_review(self) -> None:
        self.review_scripts, self.review_files, self.review_packages = [], [], []
        self.review_digest, self.review_error = "", ""

    async def _review(self) -> None:
        """Resolve the choices on the server and show exactly what the job would run."""
        try:
            recipe = await asyncio.to_thread(resolve_recipe, self._actor(), self._choices())
        except RecipeUnavailable as exc:
            self._forget_review()
            self.review_error = exc.message
            return
        self._show_review(recipe)

    def _show_review(self, recipe: Recipe) -> None:
        self.review_scripts = [
            ReviewScript(name=s.name, content=s.content, enabled=s.enabled) for s in recipe.scripts
        ]
        self.review_files = [
            ReviewFile(
                name=f.name,
                target_path=f.target_path,
                policy=f.policy,
                mode=f.mode,
                content=f.content,
            )
            for f in recipe.files
        ]
        self.review_packages = [package_line(p) for p in recipe.packages]
        self.review_digest, self.review_error = recipe.digest, ""
        # The lists of the earlier steps follow what the template holds now.
        self.scripts = [ScriptRow(name=s.name, enabled=s.enabled) for s in recipe.scripts]
        self.files_count = len(recipe.files)

    @rx.event
    @require_session
    async def choose_template(self, template_id: int):
        stored = await templates.get_template(self._actor(), template_id) if template_id else None
        if not self._prefill(template_id, stored):
            return rx.toast.error(templates.MSG_NOT_FOUND)
        self.step = 1
        return None

    def _prefill(self, template_id: int, stored: templates.StoredTemplate | None) -> bool:
        """Prefill from `stored`, a template the user may use (read for them), or as a
        blank container; False when `template_id` named none the user may use."""
        self._forget_review()
        if stored is None:
            spec = TemplateSpec(name="")
            self.template_id, self.template_name = 0, ""
        else:
            spec = stored.spec
            self.template_id, self.template_name = stored.id, spec.name
        res = spec.resources
        self.cores, self.memory_mb = str(res.cores), str(res.memory_mb)
        self.swap_mb, self.disk_gb = str(res.swap_mb), str(res.disk_gb)
        f = spec.features
        self.unprivileged, self.nesting, self.keyctl, self.fuse = (
            f.unprivileged,
            f.nesting,
            f.keyctl,
            f.fuse,
        )
        self.tags = ", ".join(spec.tags)
        self._os_pattern = spec.os_template
        if spec.storage:
            self.storage = spec.storage
        if spec.bridge:
            self.bridge = spec.bridge
        self.scripts = [ScriptRow(name=s.name, enabled=s.enabled) for s in spec.scripts]
        self.packages = [
            PackageRow(manager=p.manager, name=p.name, version=p.version, command=p.command)
            for p in spec.packages
        ]
        self.buckets = [b for b in spec.buckets if b in self.bucket_names]
        self.files_count = len(spec.files)
        if self._options_cache is not None:
            self.os_template = ""
            self._fill_node_lists(self._options_cache)
        if self.touched:
            self._show_touched()
        return stored is not None or not template_id

    # ---- configure --------------------------------------------------------------------
    @rx.event
    @require_session
    def set_field(self, name: str, value: str) -> None:
        if name not in TEXT_LIMITS:
            return
        setattr(self, name, value[: TEXT_LIMITS[name]])
        if name not in self.touched:
            self.touched = [*self.touched, name]
        self._show_touched()

    @rx.event
    @require_session
    def set_choice(self, name: str, value: str) -> None:
        allowed = {
            "os_template": [o.value for o in self.os_templates],
            "storage": [o.value for o in self.storages],
            "bridge": [o.value for o in self.bridges],
            "ip_mode": ["dhcp", "static"],
        }
        if name in allowed and value in allowed[name]:
            setattr(self, name, value)
            self._show_touched()

    @rx.event
    @require_session
    def set_flag(self, name: str, value: bool) -> None:
        if name in ("onboot", "unprivileged", "nesting", "keyctl", "fuse"):
            setattr(self, name, bool(value))
            if "features" not in self.touched:
                self.touched = [*self.touched, "features"]
            self._show_touched()

    @rx.event
    def set_changing_node(self, value: bool) -> None:
        self.changing_node = value

    @rx.event
    @require_session
    def choose_node(self, value: str):
        if not value.isdigit() or int(value) not in [n.id for n in self.node_choices]:
            return None
        self.node_id, self.changing_node = int(value), False
        self.pve_nodes, self.os_templates, self.storages, self.bridges = [], [], [], []
        self.bridge_note = ""
        self._options_cache = None
        self.vmid_status, self.vmid_message = "", ""
        self._show_touched()
        return WizardState.load_options

    @rx.event
    @require_session
    def choose_pve_node(self, value: str) -> None:
        if value in self.pve_nodes:
            self.pve_node = value
            if self._options_cache is not None:
                self._fill_node_lists(self._options_cache)

    @rx.event
    @require_session
    def set_vmid(self, value: str):
        self.vmid = value.strip()[:12]
        if "vmid" not in self.touched:
            self.touched = [*self.touched, "vmid"]
        self.vmid_status = "checking" if self.vmid else ""
        self.vmid_message = ""
        return WizardState.check_vmid

    @rx.event
    @require_session
    async def check_vmid(self) -> None:
        text, node_id = self.vmid, self.node_id
        if not text or not node_id:
            self.vmid_status, self.vmid_message = "", ""
            self._show_touched()
            return
        result = await vmids.check_vmid(self._user_id, node_id, text)
        if text != self.vmid or node_id != self.node_id:
            return  # the user typed on; a newer check follows
        self.vmid_status, self.vmid_message = result.status, result.message
        self._show_touched()

    # ---- packages and scripts ---------------------------------------------------------
    @rx.event
    @require_session
    def toggle_bucket(self, name: str, value: bool) -> None:
        if name in self.bucket_names:
            self._forget_review()
            others = [b for b in self.buckets if b != name]
            self.buckets = [*others, name] if value else others

    @rx.event
    @require_session
    def set_pkg_manager(self, value: str) -> None:
        self.pkg_manager = value if value in PACKAGE_MANAGERS else "apt"

    @rx.event
    @require_session
    def add_package(self, form: dict[str, str]):
        pkg, self.pkg_errors = package_from_form(
            self.pkg_manager, form, ((p.manager, p.name) for p in self.packages)
        )
        if self.pkg_errors:
            return None
        self.packages = [
            *self.packages,
            PackageRow(
                manager=pkg.manager,
                name=pkg.name,
                version=pkg.version,
                command=pkg.command,
                source="extra",
            ),
        ]
        self._forget_review()
        return rx.set_value("wizard-pkg-name", "")

    @rx.event
    @require_session
    def remove_package(self, index: int) -> None:
        if 0 <= index < len(self.packages):
            self._forget_review()
            self.packages = [p for i, p in enumerate(self.packages) if i != index]

    @rx.event
    @require_session
    def toggle_script(self, index: int, value: bool) -> None:
        if 0 <= index < len(self.scripts):
            self._forget_review()
            scripts = list(self.scripts)
            scripts[index] = scripts[index].model_copy(update={"enabled": bool(value)})
            self.scripts = scripts

    @rx.event
    @require_session
    def move_script(self, index: int, delta: int) -> None:
        target = index + delta
        if 0 <= index < len(self.scripts) and 0 <= target < len(self.scripts):
            self._forget_review()
            scripts = list(self.scripts)
            scripts[index], scripts[target] = scripts[target], scripts[index]
            self.scripts = scripts

    # ---- submit -----------------------------------------------------------------------
    @rx.event
    @require_session
    async def submit(self):
        if self.submitting:
            return
        errors = self._validate()
        if errors:
            self._show_errors(errors)
            return
        self.submitting, self.submit_error = True, ""
        yield
        result = await submit_reviewed(
            self._actor(), self._request(), self._choices(), self.review_digest
        )
        if result.job_id is None:
            self.submitting = False
            if result.errors.get("form") == MSG_REVIEW_AGAIN:
                await self._review()  # show what would run now; a second click submits it
            self._show_errors(result.errors)
            return
        yield rx.redirect(f"/containers/jobs/{result.job_id}")

    def _show_errors(self, errors: dict[str, str]) -> None:
        self.errors = errors
        first = next(iter(errors), "")
        head = first.split(".")[0]
        if head in CONFIG_FIELDS:
            self.step = 1
        elif head == "packages":
            self.step = 2
        elif head == "scripts" or head == "files":
            self.step = 3
        if head not in CONFIG_FIELDS and head not in ("packages", "scripts", "files"):
            self.submit_error = errors[first]
        else:
            self.submit_error = "Nothing was created: fix the fields marked in red."


# ---- components ----------------------------------------------------------------------------

W = WizardState


def _error(name: str) -> rx.Component:
    return rx.cond(
        W.errors.contains(name),
        rx.text(
            W.errors[name],
            size="1",
            color=rx.color("red", 11),
            role="alert",
            id=f"wizard-{name}-error",
        ),
    )


def _label(text: str, name: str) -> rx.Component:
    return rx.el.label(rx.text(text, size="2", weight="medium"), html_for=f"wizard-{name}")


def _field(text: str, name: str, control: rx.Component, hint: str = "") -> rx.Component:
    return rx.vstack(
        _label(text, name),
        control,
        *([rx.text(hint, size="1", color=rx.color("gray", 10))] if hint else []),
        _error(name),
        spacing="1",
        width="100%",
    )


def _text(name: str, value: rx.Var, **props: object) -> rx.Component:
    return rx.input(
        id=f"wizard-{name}",
        value=value,
        on_change=lambda v: W.set_field(name, v),
        width="100%",
        custom_attrs={"aria-invalid": rx.cond(W.errors.contains(name), "true", "false")},
        **props,
    )


def _select(name: str, value: rx.Var, items: rx.Var, placeholder: str) -> rx.Component:
    return rx.select.root(
        rx.select.trigger(placeholder=placeholder, id=f"wizard-{name}", width="100%"),
        rx.select.content(rx.foreach(items, lambda o: rx.select.item(o.label, value=o.value))),
        value=value,
        on_change=lambda v: W.set_choice(name, v),
    )


def _flag(name: str, label: str, value: rx.Var, hint: str = "") -> rx.Component:
    return rx.el.label(
        rx.hstack(
            rx.checkbox(
                checked=value, on_change=lambda v: W.set_flag(name, v), id=f"wizard-{name}"
            ),
            rx.vstack(
                rx.text(label, size="2", weight="medium"),
                *([rx.text(hint, size="1", color=rx.color("gray", 10))] if hint else []),
                spacing="0",
            ),
            spacing="2",
            align="start",
        )
    )


def _stepper() -> rx.Component:
    def item(index: int, label: str) -> rx.Component:
        active = W.step == index
        done = W.step > index
        return rx.button(
            rx.center(
                rx.cond(done, rx.icon("check", size=12), rx.text(index + 1, size="1")),
                width="20px",
                height="20px",
                border_radius="50%",
                background=rx.cond(active | done, rx.color("accent", 9), rx.color("gray", 5)),
                color="white",
            ),
            rx.text(label, size="2", weight=rx.cond(active, "bold", "regular")),
            variant=rx.cond(active, "soft", "ghost"),
            color_scheme=rx.cond(active, "indigo", "gray"),
            on_click=W.go(index),
            custom_attrs={"aria-current": rx.cond(active, "step", "false")},
            id=f"wizard-step-{index}",
        )

    return rx.el.nav(
        rx.hstack(*[item(i, label) for i, label in enumerate(STEPS)], spacing="2", wrap="wrap"),
        aria_label="Wizard steps",
    )


def _ssh_warning() -> rx.Component:
    return rx.cond(
        ~W.node_has_ssh & W.recipe_needs_ssh & (W.node_id != 0),
        rx.callout.root(
            rx.callout.icon(rx.icon("key-round")),
            rx.callout.text(
                rx.text.strong(W.node_name),
                " has no SSH credentials. LXC Manager writes files, installs packages and runs "
                "scripts with pct exec over SSH, so this node can only take a blank container "
                "or a template without files, packages and scripts. ",
                rx.link(
                    "Add SSH credentials in Settings → Nodes", href="/settings/nodes", weight="bold"
                ),
                ".",
            ),
            color_scheme="amber",
            width="100%",
            id="wizard-ssh-warning",
        ),
    )


def _template_card(choice: TemplateChoice) -> rx.Component:
    selected = W.template_id == choice.id
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.icon("layout-template", size=18, color=rx.color("accent", 10)),
                rx.text(choice.name, weight="bold"),
                rx.spacer(),
                rx.cond(selected, rx.badge("selected", color_scheme="indigo")),
                width="100%",
                align="center",
            ),
            rx.text(
                choice.description,
                size="1",
                color=rx.color("gray", 11),
                style={
                    "display": "-webkit-box",
                    "WebkitLineClamp": "3",
                    "WebkitBoxOrient": "vertical",
                    "overflow": "hidden",
                },
            ),
            rx.hstack(
                rx.code(choice.os_template, size="1", variant="ghost"),
                rx.text(choice.counts, size="1", color=rx.color("gray", 10)),
                spacing="2",
                wrap="wrap",
            ),
            spacing="2",
            align="start",
            width="100%",
        ),
        as_child=False,
        on_click=W.choose_template(choice.id),
        cursor="pointer",
        tab_index=0,
        role="button",
        aria_label=f"Use template {choice.name}",
        border=rx.cond(selected, f"2px solid {rx.color('accent', 9)}", "2px solid transparent"),
        custom_attrs={"data-template-choice": choice.name},
    )


def _template_step() -> rx.Component:
    blank = rx.card(
        rx.vstack(
            rx.hstack(
                rx.icon("box", size=18), rx.text("Blank container", weight="bold"), spacing="2"
            ),
            rx.text(
                "Just the OS template: no files, packages or scripts. Works on nodes without SSH.",
                size="1",
                color=rx.color("gray", 11),
            ),
            spacing="2",
            align="start",
        ),
        on_click=W.choose_template(0),
        cursor="pointer",
        tab_index=0,
        role="button",
        aria_label="Blank container",
        border=rx.cond(
            W.template_id == 0, f"2px solid {rx.color('accent', 9)}", "2px solid transparent"
        ),
        custom_attrs={"data-template-choice": "blank"},
    )
    return rx.vstack(
        rx.text(
            "Start from a template, or from a blank container.",
            size="2",
            color=rx.color("gray", 11),
        ),
        rx.grid(
            blank,
            rx.foreach(W.template_choices, _template_card),
            columns=rx.breakpoints(initial="1", sm="2", lg="3"),
            spacing="3",
            width="100%",
        ),
        rx.cond(
            W.template_choices.length() == 0,
            rx.text(
                "No templates yet: ",
                rx.link("open Templates and sync the catalog", href="/templates"),
                " to start from a recipe.",
                size="2",
                color=rx.color("gray", 10),
            ),
        ),
        spacing="3",
        width="100%",
    )


def _vmid_field() -> rx.Component:
    status = W.vmid_status
    return rx.vstack(
        _label("VMID", "vmid"),
        rx.input(
            rx.input.slot(
                rx.match(
                    status,
                    ("free", rx.icon("circle-check", size=16, color=rx.color("green", 10))),
                    ("taken", rx.icon("circle-x", size=16, color=rx.color("red", 10))),
                    ("invalid", rx.icon("circle-x", size=16, color=rx.color("red", 10))),
                    ("checking", rx.spinner(size="1")),
                    rx.fragment(),
                ),
                side="right",
            ),
            id="wizard-vmid",
            value=W.vmid,
            on_change=W.set_vmid.debounce(300),
            input_mode="numeric",
            width="100%",
            color_scheme=rx.match(
                status, ("free", "green"), ("taken", "red"), ("invalid", "red"), "gray"
            ),
            custom_attrs={"aria-describedby": "wizard-vmid-status", "data-status": status},
        ),
        rx.text(
            W.vmid_message,
            size="1",
            id="wizard-vmid-status",
            role="status",
            color=rx.match(
                status,
                ("free", rx.color("green", 11)),
                ("taken", rx.color("red", 11)),
                ("invalid", rx.color("red", 11)),
                rx.color("gray", 10),
            ),
        ),
        spacing="1",
        width="100%",
    )


def _node_picker() -> rx.Component:
    return rx.vstack(
        _label("Node", "node_id"),
        rx.hstack(
            rx.badge(
                rx.icon("server", size=12),
                W.node_name,
                size="2",
                variant="soft",
                id="wizard-node-name",
            ),
            rx.cond(W.options_loading, rx.spinner(size="1")),
            rx.cond(
                W.node_choices.length() > 1,
                rx.cond(
                    W.changing_node,
                    rx.select.root(
                        rx.select.trigger(placeholder="Choose a node", id="wizard-node-select"),
                        rx.select.content(
                            rx.foreach(
                                W.node_choices,
                                lambda n: rx.select.item(n.name, value=n.id.to_string()),
                            )
                        ),
                        value=W.node_id.to_string(),
                        on_change=W.choose_node,
                        default_open=True,
                    ),
                    rx.button(
                        "Change node",
                        size="1",
                        variant="ghost",
                        on_click=W.set_changing_node(True),
                        id="wizard-change-node",
                    ),
                ),
            ),
            align="center",
            spacing="2",
        ),
        rx.cond(
            W.options_error != "",
            rx.text(W.options_error, size="1", color=rx.color("red", 11), role="alert"),
        ),
        _error("node_id"),
        spacing="1",
        width="100%",
    )


def _configure_step() -> rx.Component:
    return rx.vstack(
        rx.grid(
            _node_picker(),
            rx.vstack(
                _label("Proxmox node", "pve_node"),
                rx.select.root(
                    rx.select.trigger(placeholder="Choose", id="wizard-pve_node", width="100%"),
                    rx.select.content(
                        rx.foreach(W.pve_nodes, lambda n: rx.select.item(n, value=n))
                    ),
                    value=W.pve_node,
                    on_change=W.choose_pve_node,
                ),
                _error("pve_node"),
                spacing="1",
                width="100%",
            ),
            columns="2",
            spacing="4",
            width="100%",
        ),
        rx.grid(
            _field(
                "Hostname",
                "hostname",
                _text("hostname", W.hostname, placeholder="web-1", auto_focus=True),
                "Letters, digits and dashes; dots for a domain.",
            ),
            _vmid_field(),
            columns="2",
            spacing="4",
            width="100%",
        ),
        rx.grid(
            _field(
                "OS template",
                "os_template",
                _select("os_template", W.os_template, W.os_templates, "Choose an image"),
            ),
            _field(
                "Root disk storage",
                "storage",
                _select("storage", W.storage, W.storages, "Choose a storage"),
            ),
            columns="2",
            spacing="4",
            width="100%",
        ),
        rx.grid(
            _field("Disk (GB)", "disk_gb", _text("disk_gb", W.disk_gb, input_mode="numeric")),
            _field("Cores", "cores", _text("cores", W.cores, input_mode="numeric")),
            _field(
                "Memory (MB)", "memory_mb", _text("memory_mb", W.memory_mb, input_mode="numeric")
            ),
            _field("Swap (MB)", "swap_mb", _text("swap_mb", W.swap_mb, input_mode="numeric")),
            columns="4",
            spacing="4",
            width="100%",
        ),
        rx.heading("Network", size="3", as_="h3"),
        rx.grid(
            rx.vstack(
                _field(
                    "Bridge", "bridge", _select("bridge", W.bridge, W.bridges, "Choose a bridge")
                ),
                rx.cond(
                    W.bridge_note != "",
                    rx.text(
                        W.bridge_note,
                        size="1",
                        color=rx.color("amber", 11),
                        id="wizard-bridge-note",
                    ),
                ),
                spacing="1",
                width="100%",
            ),
            rx.vstack(
                rx.text("IPv4", size="2", weight="medium"),
                rx.radio_group.root(
                    rx.hstack(
                        rx.radio_group.item(value="dhcp", id="wizard-ip-dhcp"),
                        rx.el.label("DHCP", html_for="wizard-ip-dhcp"),
                        rx.radio_group.item(value="static", id="wizard-ip-static"),
                        rx.el.label("Static", html_for="wizard-ip-static"),
                        spacing="2",
                        align="center",
                    ),
                    value=W.ip_mode,
                    on_change=lambda v: W.set_choice("ip_mode", v),
                ),
                spacing="1",
            ),
            columns="2",
            spacing="4",
            width="100%",
        ),
        rx.cond(
            W.ip_mode == "static",
            rx.grid(
                _field(
                    "Address (CIDR)", "ipv4", _text("ipv4", W.ipv4, placeholder="192.168.1.50/24")
                ),
                _field(
                    "Gateway", "gateway", _text("gateway", W.gateway, placeholder="192.168.1.1")
                ),
                columns="2",
                spacing="4",
                width="100%",
            ),
        ),
        rx.grid(
            _field(
                "DNS servers",
                "nameserver",
                _text("nameserver", W.nameserver, placeholder="blank: the host's"),
                "Space-separated",
            ),
            _field(
                "Search domain",
                "searchdomain",
                _text("searchdomain", W.searchdomain, placeholder="lan"),
            ),
            columns="2",
            spacing="4",
            width="100%",
        ),
        _field(
            "SSH public keys",
            "ssh_public_keys",
            rx.text_area(
                id="wizard-ssh_public_keys",
                value=W.ssh_public_keys,
                on_change=lambda v: W.set_field("ssh_public_keys", v),
                rows="3",
                width="100%",
                placeholder="ssh-ed25519 AAAA… you@laptop",
                spell_check=False,
            ),
            "No root password is set: sign in with these keys, or use pct exec.",
        ),
        rx.heading("Features and options", size="3", as_="h3"),
        rx.grid(
            _flag("unprivileged", "Unprivileged", W.unprivileged, "Recommended."),
            _flag("nesting", "Nesting", W.nesting, "systemd services, Docker."),
            _flag("keyctl", "keyctl", W.keyctl, "Docker in unprivileged containers."),
            _flag("fuse", "FUSE", W.fuse),
            _flag("onboot", "Start on boot", W.onboot),
            columns="3",
            spacing="3",
            width="100%",
        ),
        _error("features"),
        _root_warning("wizard-root-warning"),
        _field("Tags", "tags", _text("tags", W.tags, placeholder="web, prod"), "Comma-separated"),
        spacing="4",
        width="100%",
    )


def _package_row(row: PackageRow, index: rx.Var[int]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.badge(row.manager, variant="soft")),
        rx.table.cell(rx.code(row.name, variant="ghost")),
        rx.table.cell(rx.text(rx.cond(row.version != "", row.version, "latest"), size="2")),
        rx.table.cell(rx.text(row.source, size="1", color=rx.color("gray", 10))),
        rx.table.cell(
            rx.icon_button(
                rx.icon("x", size=14),
                size="1",
                variant="soft",
                color_scheme="gray",
                on_click=W.remove_package(index),
                aria_label=rx.Var.create("Remove ") + row.name,
            )
        ),
        align="center",
        custom_attrs={"data-package": row.name},
    )


def _packages_step() -> rx.Component:
    return rx.vstack(
        rx.heading("Package buckets", size="3", as_="h3"),
        rx.cond(
            W.bucket_names.length() > 0,
            rx.flex(
                rx.foreach(
                    W.bucket_names,
                    lambda name: rx.el.label(
                        rx.hstack(
                            rx.checkbox(
                                checked=W.buckets.contains(name),
                                on_change=lambda v: W.toggle_bucket(name, v),
                            ),
                            rx.text(name, size="2"),
                            spacing="2",
                            align="center",
                        )
                    ),
                ),
                gap="4",
                wrap="wrap",
            ),
            rx.text("No package buckets defined.", size="2", color=rx.color("gray", 10)),
        ),
        rx.heading("Packages", size="3", as_="h3"),
        package_form(W.pkg_manager, W.pkg_errors, W.set_pkg_manager, W.add_package, "wizard-"),
        rx.cond(
            W.packages.length() > 0,
            rx.table.root(
                rx.table.body(rx.foreach(W.packages, _package_row)), variant="surface", width="100%"
            ),
            rx.text(
                "No packages besides those of the chosen buckets.",
                size="2",
                color=rx.color("gray", 10),
            ),
        ),
        _error("packages"),
        spacing="3",
        width="100%",
    )


def _script_row(row: ScriptRow, index: rx.Var[int]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(index + 1, color=rx.color("gray", 10))),
        rx.table.cell(rx.code(row.name, variant="ghost")),
        rx.table.cell(
            rx.switch(
                checked=row.enabled,
                on_change=lambda v: W.toggle_script(index, v),
                aria_label=rx.Var.create("Run ") + row.name,
            )
        ),
        rx.table.cell(
            rx.hstack(
                rx.icon_button(
                    rx.icon("arrow-up", size=14),
                    size="1",
                    variant="soft",
                    color_scheme="gray",
                    on_click=W.move_script(index, -1),
                    disabled=index == 0,
                    aria_label=rx.Var.create("Move up ") + row.name,
                ),
                rx.icon_button(
                    rx.icon("arrow-down", size=14),
                    size="1",
                    variant="soft",
                    color_scheme="gray",
                    on_click=W.move_script(index, 1),
                    disabled=index == W.scripts.length() - 1,
                    aria_label=rx.Var.create("Move down ") + row.name,
                ),
                spacing="2",
            )
        ),
        align="center",
        custom_attrs={"data-script": row.name},
    )


def _scripts_step() -> rx.Component:
    return rx.vstack(
        rx.text(
            "Scripts run in this order, after files and packages. Switch off the ones to skip.",
            size="2",
            color=rx.color("gray", 11),
        ),
        rx.cond(
            W.scripts.length() > 0,
            rx.table.root(
                rx.table.body(rx.foreach(W.scripts, _script_row)), variant="surface", width="100%"
            ),
            rx.text("This container runs no scripts.", size="2", color=rx.color("gray", 10)),
        ),
        rx.cond(
            W.files_count > 0,
            rx.text(
                W.files_count,
                " files from the template are written first.",
                size="2",
                color=rx.color("gray", 11),
            ),
        ),
        _error("scripts"),
        spacing="3",
        width="100%",
    )


def _summary_item(label: str, value: rx.Var | str) -> rx.Component:
    return rx.data_list.item(rx.data_list.label(label), rx.data_list.value(value))


def _code_box(content: rx.Var) -> rx.Component:
    return rx.el.pre(
        content,
        style={
            "fontFamily": "var(--code-font-family)",
            "fontSize": "12px",
            "whiteSpace": "pre-wrap",
            "wordBreak": "break-all",
            "maxHeight": "20rem",
            "overflow": "auto",
            "margin": "0.5rem 0 0 0",
            "padding": "0.5rem",
            "background": rx.color("gray", 2),
            "borderRadius": "var(--radius-2)",
        },
    )


def _review_script(row: ReviewScript, index: rx.Var[int]) -> rx.Component:
    return rx.el.details(
        rx.el.summary(
            rx.text(index + 1, ". ", size="2", as_="span"),
            rx.code(row.name, variant="ghost"),
            rx.cond(row.enabled, "", rx.text(" (switched off: not run)", size="1", as_="span")),
        ),
        _code_box(row.content),
        custom_attrs={"data-review-script": row.name},
    )


def _review_file(row: ReviewFile) -> rx.Component:
    return rx.el.details(
        rx.el.summary(
            rx.code(row.target_path, variant="ghost"),
            rx.text(" · ", row.policy, " · ", row.mode, size="1", as_="span"),
        ),
        _code_box(row.content),
        custom_attrs={"data-review-file": row.name},
    )


def _review_contents() -> rx.Component:
    """Exactly what the job will run (resolved on the server), with its digest."""
    return rx.vstack(
        rx.heading("What runs in the container", size="3", as_="h3"),
        rx.cond(
            W.review_error != "",
            rx.callout(
                W.review_error,
                icon="circle-alert",
                color_scheme="red",
                role="alert",
                width="100%",
                id="wizard-review-error",
            ),
        ),
        rx.text("Files", size="2", weight="medium"),
        rx.cond(
            W.review_files.length() > 0,
            rx.vstack(rx.foreach(W.review_files, _review_file), spacing="1", width="100%"),
            rx.text("No files.", size="2", color=rx.color("gray", 10)),
        ),
        rx.text("Packages (with those of the chosen buckets)", size="2", weight="medium"),
        rx.cond(
            W.review_packages.length() > 0,
            rx.flex(
                rx.foreach(W.review_packages, lambda p: rx.code(p, size="1", variant="soft")),
                gap="1",
                wrap="wrap",
                id="wizard-review-packages",
            ),
            rx.text("No packages.", size="2", color=rx.color("gray", 10)),
        ),
        rx.text("Scripts, in this order", size="2", weight="medium"),
        rx.cond(
            W.review_scripts.length() > 0,
            rx.vstack(rx.foreach(W.review_scripts, _review_script), spacing="1", width="100%"),
            rx.text("No scripts.", size="2", color=rx.color("gray", 10)),
        ),
        rx.hstack(
            rx.text("Content digest (SHA-256)", size="1", color=rx.color("gray", 10)),
            rx.code(W.review_digest, size="1", variant="ghost", id="wizard-review-digest"),
            spacing="2",
            wrap="wrap",
        ),
        spacing="2",
        width="100%",
        id="wizard-review-contents",
    )


def _root_warning(element_id: str) -> rx.Component:
    return rx.cond(
        W.root_warning != "",
        rx.callout(
            W.root_warning,
            icon="shield-alert",
            color_scheme="amber",
            size="1",
            width="100%",
            id=element_id,
        ),
    )


def _review_step() -> rx.Component:
    return rx.vstack(
        _root_warning("wizard-review-root-warning"),
        rx.grid(
            rx.data_list.root(
                _summary_item(
                    "Template", rx.cond(W.template_name != "", W.template_name, "Blank container")
                ),
                _summary_item("Node", W.node_name + " / " + W.pve_node),
                _summary_item("VMID", W.vmid),
                _summary_item("Hostname", W.hostname),
                _summary_item("OS template", W.os_template),
                _summary_item(
                    "Resources",
                    W.cores
                    + " cores · "
                    + W.memory_mb
                    + " MB memory · "
                    + W.swap_mb
                    + " MB swap · "
                    + W.disk_gb
                    + " GB on "
                    + W.storage,
                ),
                _summary_item(
                    "Network", W.bridge + " · " + rx.cond(W.ip_mode == "dhcp", "DHCP", W.ipv4)
                ),
                _summary_item(
                    "Provisioning",
                    W.files_count.to_string()
                    + " files · "
                    + W.packages.length().to_string()
                    + " packages (+ buckets) · "
                    + W.enabled_scripts.to_string()
                    + " scripts",
                ),
                size="2",
            ),
            rx.vstack(
                rx.text(
                    "Sent to Proxmox (POST /nodes/", W.pve_node, "/lxc)", size="2", weight="medium"
                ),
                rx.box(
                    rx.foreach(
                        W.review_params,
                        lambda p: rx.hstack(
                            rx.code(p.key, size="1"),
                            rx.text(
                                p.value,
                                size="1",
                                style={
                                    "fontFamily": "var(--code-font-family)",
                                    "wordBreak": "break-all",
                                },
                            ),
                            spacing="2",
                            align="start",
                        ),
                    ),
                    padding="0.75rem",
                    border=f"1px solid {rx.color('gray', 5)}",
                    border_radius="var(--radius-3)",
                    width="100%",
                    id="wizard-params",
                ),
                spacing="2",
                width="100%",
            ),
            columns=rx.breakpoints(initial="1", md="2"),
            spacing="5",
            width="100%",
        ),
        _review_contents(),
        spacing="4",
        width="100%",
    )


def _nav_buttons() -> rx.Component:
    return rx.hstack(
        rx.cond(
            W.step > 0,
            rx.button(
                rx.icon("arrow-left", size=14),
                "Back",
                variant="soft",
                color_scheme="gray",
                on_click=W.go(W.step - 1),
                id="wizard-back",
            ),
        ),
        rx.spacer(),
        rx.cond(
            W.step < len(STEPS) - 1,
            rx.button(
                "Next", rx.icon("arrow-right", size=14), on_click=W.go(W.step + 1), id="wizard-next"
            ),
            rx.button(
                rx.cond(W.submitting, rx.spinner(size="2"), rx.icon("rocket", size=14)),
                rx.cond(W.submitting, "Creating…", "Create container"),
                on_click=W.submit,
                disabled=W.submitting,
                id="wizard-create",
            ),
        ),
        width="100%",
    )


def _wizard() -> rx.Component:
    return rx.vstack(
        _stepper(),
        _ssh_warning(),
        rx.cond(
            W.submit_error != "",
            rx.callout(
                W.submit_error,
                icon="circle-alert",
                color_scheme="red",
                role="alert",
                width="100%",
                id="wizard-submit-error",
            ),
        ),
        rx.box(
            rx.match(
                W.step,
                (0, _template_step()),
                (1, _configure_step()),
                (2, _packages_step()),
                (3, _scripts_step()),
                _review_step(),
            ),
            width="100%",
        ),
        _nav_buttons(),
        spacing="4",
        width="100%",
        id="wizard",
        custom_attrs={"data-ready": "true"},
    )


def page() -> rx.Component:
    return page_shell(
        "New container",
        rx.vstack(
            no_nodes_banner(NodeSummaryState.summary_loaded, NodeSummaryState.has_nodes),
            rx.cond(
                W.loaded,
                rx.cond(
                    W.has_nodes,
                    _wizard(),
                    empty_state(
                        "circle-plus",
                        "Creating containers needs a Proxmox node",
                        "The wizard builds a container from a template on one of your nodes. "
                        "Add a node first; the wizard is enabled as soon as one is configured.",
                        rx.link(
                            rx.button("Go to Settings → Nodes", size="2", variant="soft"),
                            href="/settings/nodes",
                        ),
                    ),
                ),
                rx.center(rx.spinner(), width="100%", padding="2rem"),
            ),
            spacing="4",
            width="100%",
        ),
    )


ON_LOAD = WizardState.load
