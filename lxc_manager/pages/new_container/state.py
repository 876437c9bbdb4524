"""`WizardState`: the creation wizard's choices, checked as they change.

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
from collections.abc import AsyncIterator
from typing import Final

import reflex as rx
from redis.exceptions import RedisError
from reflex.event import EventSpec

from lxc_manager import routes
from lxc_manager.aio import all_of
from lxc_manager.nodes import service as nodes
from lxc_manager.nodes.service import NodeNotFound, NodeSecretError, NodeView
from lxc_manager.pages.components.no_nodes import NodeSummaryMixin
from lxc_manager.pages.components.recipe import RecipeMixin, ShapeMixin, package_rows
from lxc_manager.provisioning import options, vmids
from lxc_manager.provisioning.form import (
    CHOICE_FIELDS,
    CONFIG_FIELDS,
    FLAG_FIELDS,
    FORM_FIELDS,
    IP_MODES,
    STEPS,
    TEXT_LIMITS,
    blocks_configure,
    offered_or_first,
    only_fields,
    request_from_fields,
    step_of_errors,
    template_fields,
)
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
from lxc_manager.state.guard import GuardedState, require_session, require_session_on_load
from lxc_manager.templates import service as templates
from lxc_manager.templates.packages import package_line
from lxc_manager.templates.spec import Features, ScriptSpec, TemplateSpec

from .rows import (
    NodeChoice,
    Option,
    ParamRow,
    ReviewFile,
    ReviewScript,
    ScriptRow,
    TemplateChoice,
    node_choice,
    review_file,
    review_script,
    template_choice,
)

log = logging.getLogger(__name__)

# Every name the wizard's form knows (controls and errors); the handlers that take a name
# from the browser accept only their part of it.
FIELDS: Final = frozenset((*CONFIG_FIELDS, *FLAG_FIELDS, "ip_mode", "packages", "scripts", "files"))
assert {*TEXT_LIMITS, *CHOICE_FIELDS, *FLAG_FIELDS} <= FIELDS
DEFAULTS: Final[dict[str, str]] = {
    **dict.fromkeys(FORM_FIELDS, ""),
    **{"disk_gb": "8", "cores": "1", "memory_mb": "512", "swap_mb": "512"},
    **{"bridge": "vmbr0", "ip_mode": "dhcp"},
}


class WizardState(GuardedState, NodeSummaryMixin, ShapeMixin, RecipeMixin, rx.State):
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
    ip_mode: str = "dhcp"
    ipv4: str = ""
    gateway: str = ""
    nameserver: str = ""
    searchdomain: str = ""
    ssh_public_keys: str = ""
    onboot: bool = False
    # recipe (packages and buckets: RecipeMixin)
    files_count: int = 0
    scripts: list[ScriptRow] = []
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
    def pve_node_options(self) -> list[Option]:
        return [Option(value=n, label=n) for n in self.pve_nodes]

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

    # ---- the recipe's hooks (RecipeMixin) ---------------------------------------------
    def _may_change_recipe(self) -> bool:
        self._forget_review()
        return True

    def _package_input_id(self) -> str:
        return "wizard-pkg-name"

    # ---- building the request ---------------------------------------------------------
    def _choices(self) -> RecipeChoices:
        return RecipeChoices(
            template_id=self.template_id or None,
            scripts=tuple(ScriptChoice(s.name, s.enabled) for s in self.scripts),
            packages=self._package_specs(),
            buckets=tuple(self.buckets),
        )

    def _request(self) -> CreateRequest:
        """The request as the form stands: the configuration, the script names and
        switches and the wizard's own packages. Contents come from the server at review
        and at submit (`recipe`), never from this state."""
        return request_from_fields(
            {name: getattr(self, name) for name in FORM_FIELDS},
            node_id=self.node_id,
            features=self._features(),
            onboot=self.onboot,
            template_id=self.template_id,
            template_name=self.template_name,
            scripts=(ScriptSpec(s.name, "", s.enabled) for s in self.scripts),
            packages=self._package_specs(),
        )

    def _validate(self, fields: tuple[str, ...] | None = None) -> dict[str, str]:
        errors = validate_request(self._request(), has_ssh=self.node_has_ssh)
        if self.files_count and not self.node_has_ssh:  # the files themselves are not here
            errors.setdefault("files", MSG_NEEDS_SSH.format(what="Files"))
        return errors if fields is None else only_fields(errors, fields)

    def _show_touched(self) -> None:
        """Errors of the fields the user has left (inline validation as they type)."""
        found = self._validate(tuple(self.touched))
        if self.vmid_status in ("taken", "invalid") and "vmid" in self.touched:
            found["vmid"] = self.vmid_message
        if found != self.errors:
            self.errors = found

    def _touch(self, name: str) -> None:
        if name not in self.touched:
            self.touched = [*self.touched, name]

    # ---- loading ----------------------------------------------------------------------
    @rx.event
    @require_session_on_load
    async def load(self) -> EventSpec | None:
        actor = self._actor()
        views, listed, buckets = await all_of(
            nodes.list_nodes(self._user_id),
            templates.list_templates(actor),
            templates.list_buckets(actor),
        )
        self.node_count, self.summary_loaded = len(views), True
        self.node_choices = [node_choice(v) for v in views]
        self.template_choices = [template_choice(t) for t in listed]
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
        for name, value in DEFAULTS.items():
            setattr(self, name, value)
        self.vmid_status, self.vmid_message = "", ""
        self.onboot = False
        self._set_features(Features())
        self.files_count, self.scripts, self.packages, self.buckets = 0, [], [], []
        self.touched, self.errors, self.submit_error, self.pkg_errors = [], {}, "", {}
        self._forget_review()
        self.options_error = ""

    @rx.event(background=True)
    @require_session
    async def load_options(self) -> AsyncIterator[EventSpec]:
        """The chosen node's Proxmox nodes, OS templates, storages and bridges, and a fresh
        VMID cache for its cluster — fetched concurrently by the service."""
        async with self:
            if not self._user_id or not self.node_id:
                return
            user_id, node_id = self._user_id, self.node_id
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
            yield WizardState.check_vmid  # type: ignore[misc]  # Reflex types a handler as rx.event

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
        chosen = {
            "os_template": offered_or_first(
                self.os_template, [o.value for o in self.os_templates], self._os_pattern
            ),
            "storage": offered_or_first(self.storage, [o.value for o in self.storages]),
            "bridge": offered_or_first(self.bridge, [o.value for o in self.bridges]),
        }
        for name, value in chosen.items():
            if getattr(self, name) != value:
                setattr(self, name, value)

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
            blocked = blocks_configure(self.errors)
            if self.step == 0:  # Configure not seen yet: its errors wait for typing or Next
                self.touched = shown
                self._show_touched()
            if blocked:
                self.step = 1
                return
        self.step = step
        if step == len(STEPS) - 1:
            await self._review()

    # ---- the review -------------------------------------------------------------------
    def _forget_review(self) -> None:
        if self.review_scripts or self.review_files or self.review_packages:
            self.review_scripts, self.review_files, self.review_packages = [], [], []
        if self.review_digest or self.review_error:
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
        self.review_scripts = [review_script(s) for s in recipe.scripts]
        self.review_files = [review_file(f) for f in recipe.files]
        self.review_packages = [package_line(p) for p in recipe.packages]
        self.review_digest, self.review_error = recipe.digest, ""
        # The lists of the earlier steps follow what the template holds now.
        self.scripts = [ScriptRow(name=s.name, enabled=s.enabled) for s in recipe.scripts]
        self.files_count = len(recipe.files)

    @rx.event
    @require_session
    async def choose_template(self, template_id: int) -> EventSpec | None:
        stored = await templates.get_template(self._actor(), template_id) if template_id else None
        if not self._prefill(template_id, stored):
            refused: EventSpec = rx.toast.error(templates.MSG_NOT_FOUND)
            return refused
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
        for name, value in template_fields(spec).items():
            setattr(self, name, value)
        self._set_features(spec.features)
        self._os_pattern = spec.os_template
        self.scripts = [ScriptRow(name=s.name, enabled=s.enabled) for s in spec.scripts]
        self.packages = package_rows(spec.packages)
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
        self._touch(name)
        self._show_touched()

    @rx.event
    @require_session
    def set_choice(self, name: str, value: str) -> None:
        allowed = {
            "os_template": [o.value for o in self.os_templates],
            "storage": [o.value for o in self.storages],
            "bridge": [o.value for o in self.bridges],
            "ip_mode": list(IP_MODES),
        }
        if name in CHOICE_FIELDS and value in allowed[name]:
            setattr(self, name, value)
            self._show_touched()

    @rx.event
    @require_session
    def set_flag(self, name: str, value: bool) -> None:
        if name in FLAG_FIELDS:
            setattr(self, name, bool(value))
            self._touch("features")
            self._show_touched()

    @rx.event
    def set_changing_node(self, value: bool) -> None:
        self.changing_node = value

    @rx.event
    @require_session
    def choose_node(self, value: str) -> EventSpec | None:
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
    def set_vmid(self, value: str) -> EventSpec:
        self.vmid = value.strip()[:12]
        self._touch("vmid")
        self.vmid_status = "checking" if self.vmid else ""
        self.vmid_message = ""
        return WizardState.check_vmid  # type: ignore[return-value]  # as above

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

    # ---- submit -----------------------------------------------------------------------
    @rx.event
    @require_session
    async def submit(self) -> AsyncIterator[EventSpec | None]:
        if self.submitting:
            return
        errors = self._validate()
        if errors:
            self._show_errors(errors)
            return
        self.submitting, self.submit_error = True, ""
        yield None
        result = await submit_reviewed(
            self._actor(), self._request(), self._choices(), self.review_digest
        )
        if result.job_id is None:
            self.submitting = False
            if result.errors.get("form") == MSG_REVIEW_AGAIN:
                await self._review()  # show what would run now; a second click submits it
            self._show_errors(result.errors)
            return
        yield rx.redirect(routes.job(result.job_id))

    def _show_errors(self, errors: dict[str, str]) -> None:
        self.errors = errors
        step, self.submit_error = step_of_errors(errors)
        if step is not None:
            self.step = step
