"""`/nodes/{node}/lxc/...`: containers, their lifecycle tasks, config, metrics, snapshots."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from . import auth, ha, lxc_perms, restore, views
from .lxc_params import CONFIG_OPTIONS, CREATE_PARAMS, CT, SNAPNAME, UPDATE_PARAMS
from .model import (
    Cluster,
    Container,
    PveError,
    Snapshot,
    config_digest,
    noise,
)
from .params import NODE, OPT_BOOL, declared, opt_int, opt_str, parse_property_string, req
from .router import Ctx, route
from .seed import mac_address
from .shell.commands.accounts import set_password

TaskCheck = Callable[[], None]  # raises PveError: the task ends with TASK ERROR
RRD_STEPS = {"hour": 60, "day": 1800, "week": 10800, "month": 43200, "year": 604800}
RRD_POINTS = 70


@route("GET", "/nodes/{node}/lxc", {"node": NODE}, proxied=True)
async def list_containers(ctx: Ctx) -> Any:
    cluster, now = ctx.cluster, ctx.cluster.clock.now()
    return [
        views.container_summary(cluster, ct, now)
        for ct in sorted(cluster.containers_on(ctx.node), key=lambda c: c.vmid)
        if auth.has_privilege(cluster, ctx.user, f"/vms/{ct.vmid}", ("VM.Audit",))
    ]


# -- create --------------------------------------------------------------------------------
@route("POST", "/nodes/{node}/lxc", CREATE_PARAMS, proxied=True)
async def create_container(ctx: Ctx) -> Any:
    cluster, params, user = ctx.cluster, ctx.params, ctx.user
    vmid = int(params["vmid"])
    if params.get("restore"):
        return restore.restore_container(ctx)
    # The order of pve-container src/PVE/API2/LXC.pm create_vm: Sys.Modify for a privileged
    # CT (`unprivileged` defaults to 1), the VMID unused (PVE::Cluster::check_vmid_unused),
    # VM.Allocate, the config options (check_ct_modify_config_perm), then the storages.
    unprivileged = bool(params.get("unprivileged", True))
    if not unprivileged:
        auth.require(cluster, user, "/", "Sys.Modify")
    _check_vmid_unused(cluster, vmid)
    auth.require(cluster, user, f"/vms/{vmid}", "VM.Allocate")
    _refuse_unsupported(params)
    lxc_perms.check_modify_config_perm(
        cluster, user, vmid, {}, _config_params(params), [], unprivileged
    )
    storage, rootfs = _rootfs(cluster, params, vmid)
    auth.require(cluster, user, f"/storage/{storage}", "Datastore.AllocateSpace")
    template = _template(cluster, str(params["ostemplate"]))
    config = _new_config(cluster, params, vmid, rootfs, template)
    ct = cluster.add_container(
        vmid=vmid,
        node=ctx.node,
        config=config,
        ostemplate=template,
        status="stopped",
        created_at=cluster.clock.now(),
    )
    if params.get("password"):  # PVE::LXC::Setup set_user_password (post_create_hook)
        set_password(ct.world.vfs, "root", str(params["password"]))
    if cluster.real is not None and cluster.real.eligible(template):
        ct.real = True
        cluster.real.created(ct)
    start = bool(params.get("start"))

    def finish() -> None:
        cluster.update_config(ct, {}, ["lock"])
        if start:
            cluster.start_container(ct)

    task = cluster.start_task(
        node=ctx.node,
        task_type="vzcreate",
        task_id=str(vmid),
        user=user.authid,
        action=finish,
        on_error=lambda: cluster.remove_container(ct),
        log=_create_log(ct, template),
    )
    return task.upid


def _config_params(params: dict[str, Any]) -> dict[str, object]:
    return {
        k: v
        for k, v in params.items()
        if k != "unprivileged" and declared(CONFIG_OPTIONS, k) is not None
    }


def _refuse_unsupported(params: dict[str, Any]) -> None:
    if params.get("pool"):
        raise PveError(500, f"pool '{params['pool']}' does not exist")


def _check_vmid_unused(cluster: Cluster, vmid: int) -> None:
    """pve-cluster src/PVE/Cluster.pm check_vmid_unused: "CT|VM N already exists on node 'X'"."""
    node = cluster.guest_node(vmid)
    if node is not None:
        kind = "CT" if vmid in cluster.containers else "VM"
        raise PveError(500, f"{kind} {vmid} already exists on node '{node}'")


def _template(cluster: Cluster, volid: str) -> str:
    if not any(t.volid == volid for t in cluster.templates):
        raise PveError(500, f"volume '{volid}' does not exist")
    return volid


def _rootfs(cluster: Cluster, params: dict[str, Any], vmid: int) -> tuple[str, str]:
    """-> (storage id, normalised rootfs) from `rootfs` or `storage` (default local, 4G)."""
    text = str(params.get("rootfs") or f"{params.get('storage', 'local')}:4")
    parsed = parse_property_string(text, "volume")
    assert isinstance(parsed, dict)  # verified by the declaration
    volume = parsed.pop("volume")
    storage_id, _, size = volume.partition(":")
    storage = next((s for s in cluster.storages if s.storage == storage_id), None)
    if storage is None:
        raise PveError(500, f"storage '{storage_id}' does not exist")
    if "rootdir" not in storage.content:
        raise PveError(500, f"storage '{storage_id}' does not support container directories")
    if not re.fullmatch(r"\d+(\.\d+)?", size):
        raise PveError(
            400,
            "Parameter verification failed.",
            {"rootfs": f"invalid volume size '{size}' (expected STORAGE:SIZE_GiB)"},
        )
    parsed["size"] = f"{size}G"
    options = "".join(f",{k}={v}" for k, v in sorted(parsed.items()))
    return storage_id, f"{storage_id}:vm-{vmid}-disk-0{options}"


def _new_config(
    cluster: Cluster, params: dict[str, Any], vmid: int, rootfs: str, template: str
) -> dict[str, object]:
    base = template.rsplit("/", 1)[-1].split("-", 1)[0]
    config: dict[str, object] = {
        "arch": "amd64",
        "hostname": f"CT{vmid}",
        "memory": 512,
        "swap": 512,
        "ostype": base if base in ("debian", "ubuntu", "alpine") else "unmanaged",
    }
    for name, value in params.items():
        if declared(CONFIG_OPTIONS, name) is not None:
            config[name] = _config_value(cluster, name, value)
    config.pop("unprivileged", None)
    if params.get("unprivileged", True):  # PVE writes `unprivileged: 1` only when set
        config["unprivileged"] = 1
    config["rootfs"] = rootfs
    config["lock"] = "create"
    return config


def _config_value(cluster: Cluster, name: str, value: Any) -> object:
    if isinstance(value, bool):
        return int(value)
    if name.startswith("net") and name[3:].isdigit():
        return _normalise_net(cluster, str(value))
    return value


def _normalise_net(cluster: Cluster, text: str) -> str:
    parsed = parse_property_string(text, None)
    assert isinstance(parsed, dict)
    parsed.setdefault("hwaddr", mac_address(cluster.rng))
    parsed.setdefault("type", "veth")
    name = parsed.pop("name")
    return ",".join([f"name={name}", *(f"{k}={v}" for k, v in sorted(parsed.items()))])


def _create_log(ct: Container, template: str) -> list[str]:
    filename = template.split("/", 1)[-1]
    size_mib = ct.maxdisk // 1024**2
    return [
        f'  Logical volume "vm-{ct.vmid}-disk-0" created.',
        f"Creating filesystem with {size_mib * 256} 4k blocks and {size_mib * 64} inodes",
        f"extracting archive '/var/lib/vz/template/cache/{filename}'",
        "Total bytes read: 524369920 (501MiB, 228MiB/s)",
        "Detected container architecture: amd64",
        "Creating SSH host key 'ssh_host_ed25519_key' - this may take some time ...",
        f"done: SHA256:{ct.vmid:x}Q2xhdWRlU2ltdWxhdG9yS2V5 root@{ct.name}",
    ]


# -- one container -------------------------------------------------------------------------
@route("GET", "/nodes/{node}/lxc/{vmid}", CT, proxied=True)
async def container_index(ctx: Ctx) -> Any:
    ctx.container()
    subdirs = [
        "config",
        "status",
        "vncproxy",
        "termproxy",
        "vncwebsocket",
        "spiceproxy",
        "migrate",
        "clone",
        "rrd",
        "rrddata",
        "firewall",
        "snapshot",
        "resize",
        "interfaces",
        "pending",
    ]
    if not ctx.cluster.pve.has_interfaces_route:
        subdirs.remove("interfaces")
    return [{"subdir": s} for s in subdirs]


DESTROY_PARAMS = {
    **CT,
    "force": OPT_BOOL,
    "purge": OPT_BOOL,
    "destroy-unreferenced-disks": OPT_BOOL,
}


@route("DELETE", "/nodes/{node}/lxc/{vmid}", DESTROY_PARAMS, proxied=True)
async def destroy_container(ctx: Ctx) -> Any:
    cluster, ct = ctx.cluster, ctx.container()
    auth.require(cluster, ctx.user, f"/vms/{ct.vmid}", "VM.Allocate")
    _check_unlocked(ct)
    if ct.config.get("protection"):
        raise PveError(500, f"can't remove CT {ct.vmid} - protection mode enabled")
    purge = bool(ctx.params.get("purge"))
    in_ha = ha.resource_of(cluster, ct.vmid) is not None  # Config.pm service_is_configured
    if in_ha and not purge:  # pve-container src/PVE/API2/LXC.pm (destroy_vm, early checks)
        raise PveError(
            500,
            f"unable to remove CT {ct.vmid} - used in HA resources and purge parameter not set.",
        )
    if ct.status == "running" and not ctx.params.get("force"):
        raise PveError(500, f"unable to destroy CT {ct.vmid} - container is running")

    def destroy() -> None:
        _require_current(cluster, ct)
        cluster.remove_container(ct)
        if purge:
            cluster.acl = [e for e in cluster.acl if e.path != f"/vms/{ct.vmid}"]
            cluster.ha_resources.pop(ha.sid_of(ct.vmid), None)

    log = [f'  Logical volume "vm-{ct.vmid}-disk-0" successfully removed.']
    if in_ha:
        log += [
            f"purging CT {ct.vmid} from related configurations..",
            f"NOTE: removed CT {ct.vmid} from HA resource configuration.",
        ]
    return _task(ctx, ct, "vzdestroy", destroy, log)


def _check_unlocked(ct: Container, skiplock: bool = False) -> None:
    """pve-guest-common src/PVE/AbstractConfig.pm check_lock: "CT is locked (LOCK)"."""
    if ct.lock and not skiplock:
        raise PveError(500, f"CT is locked ({ct.lock})")


def _lock_check_in_task(ct: Container, skiplock: bool, *, mounted_ok: bool) -> TaskCheck:
    """The lock check a power task makes in its worker (pve-container
    src/PVE/API2/LXC/Status.pm: start and stop skip it with `skiplock` or a `mounted` lock,
    shutdown always makes it)."""

    def check() -> None:
        if not (mounted_ok and ct.lock == "mounted"):
            _check_unlocked(ct, skiplock)

    return check


def _require_current(cluster: Cluster, ct: Container) -> None:
    if cluster.find_container(ct.vmid) is not ct:
        raise PveError(
            500, f"Configuration file 'nodes/{ct.node}/lxc/{ct.vmid}.conf' does not exist"
        )


def _task(
    ctx: Ctx,
    ct: Container,
    task_type: str,
    action: Any,
    log: list[str] | None = None,
    *,
    checks: TaskCheck | None = None,
) -> str:
    """Start a task. `checks` are what Proxmox checks inside the worker, not before it: the
    request gets its UPID whatever they say and the task ends with `TASK ERROR: <msg>`
    (at once when they fail already, as a worker that dies in its first lines does)."""

    def run() -> None:
        if checks is not None:
            checks()
        action()

    task = ctx.cluster.start_task(
        node=ct.node,
        task_type=task_type,
        task_id=str(ct.vmid),
        user=ctx.user.authid,
        action=run,
        log=log,
        seconds=0.0 if checks is not None and _fails(checks) else None,
    )
    return task.upid


def _fails(check: TaskCheck) -> bool:
    try:
        check()
    except PveError:
        return True
    return False


@route("GET", "/nodes/{node}/lxc/{vmid}/status", CT, proxied=True)
async def status_index(ctx: Ctx) -> Any:
    ctx.container()
    return [
        {"subdir": s}
        for s in ("current", "start", "stop", "shutdown", "reboot", "suspend", "resume")
    ]


@route("GET", "/nodes/{node}/lxc/{vmid}/status/current", CT, proxied=True)
async def status_current(ctx: Ctx) -> Any:
    ct = ctx.container()
    auth.require(ctx.cluster, ctx.user, f"/vms/{ct.vmid}", "VM.Audit")
    return views.container_status(ctx.cluster, ct, ctx.cluster.clock.now())


def _power_checks(ctx: Ctx) -> tuple[Container, bool]:
    """-> (container, skiplock). The lock is checked in the task, not here."""
    ct = ctx.container()
    auth.require(ctx.cluster, ctx.user, f"/vms/{ct.vmid}", "VM.PowerMgmt")
    skiplock = bool(ctx.params.get("skiplock"))
    if skiplock and ctx.user.authid != "root@pam":
        raise PveError(
            400, "Parameter verification failed.", {"skiplock": "Only root may use this option."}
        )
    return ct, skiplock


@route(
    "POST",
    "/nodes/{node}/lxc/{vmid}/status/start",
    {**CT, "debug": OPT_BOOL, "skiplock": OPT_BOOL},
    proxied=True,
)
async def start_container(ctx: Ctx) -> Any:
    cluster = ctx.cluster
    ct, skiplock = _power_checks(ctx)
    if ct.status == "running":
        raise PveError(500, f"CT {ct.vmid} already running")
    if ha.is_managed(cluster, ct.vmid):  # pve-container src/PVE/API2/LXC/Status.pm vm_start
        return ha.request(cluster, ct, "started", ctx.user.authid)

    lock_check = _lock_check_in_task(ct, skiplock, mounted_ok=True)

    def checks() -> None:  # vm_start's worker: the template first, then the lock
        if ct.config.get("template"):
            raise PveError(500, "you can't start a CT if it's a template")
        lock_check()

    def start() -> None:
        _require_current(cluster, ct)
        cluster.start_container(ct)

    return _task(ctx, ct, "vzstart", start, checks=checks)


def _stop_action(cluster: Cluster, ct: Container) -> Any:
    def stop() -> None:
        _require_current(cluster, ct)
        cluster.stop_container(ct)

    return stop


def _require_running(ct: Container) -> None:
    if ct.status != "running":
        raise PveError(500, f"CT {ct.vmid} not running")


@route(
    "POST",
    "/nodes/{node}/lxc/{vmid}/status/stop",
    {**CT, "overrule-shutdown": OPT_BOOL, "skiplock": OPT_BOOL},
    proxied=True,
)
async def stop_container(ctx: Ctx) -> Any:
    ct, skiplock = _power_checks(ctx)
    _require_running(ct)
    if ha.is_managed(ctx.cluster, ct.vmid):  # Status.pm vm_stop: `crm-command stop ct:N 0`
        if ctx.params.get("overrule-shutdown"):
            raise PveError(
                400,
                "Parameter verification failed.",
                {"overrule-shutdown": "Not applicable for HA resources."},
            )
        return ha.request(ctx.cluster, ct, "stopped", ctx.user.authid)
    checks = _lock_check_in_task(ct, skiplock, mounted_ok=True)
    return _task(ctx, ct, "vzstop", _stop_action(ctx.cluster, ct), checks=checks)


@route(
    "POST",
    "/nodes/{node}/lxc/{vmid}/status/shutdown",
    {**CT, "forceStop": OPT_BOOL, "timeout": opt_int(minimum=0)},
    proxied=True,
)
async def shutdown_container(ctx: Ctx) -> Any:
    ct, _ = _power_checks(ctx)
    _require_running(ct)
    if ha.is_managed(ctx.cluster, ct.vmid):  # Status.pm vm_shutdown: `crm-command stop`
        return ha.request(ctx.cluster, ct, "stopped", ctx.user.authid)
    checks = _lock_check_in_task(ct, False, mounted_ok=False)
    return _task(ctx, ct, "vzshutdown", _stop_action(ctx.cluster, ct), checks=checks)


@route(
    "POST",
    "/nodes/{node}/lxc/{vmid}/status/reboot",
    {**CT, "timeout": opt_int(minimum=0)},
    proxied=True,
)
async def reboot_container(ctx: Ctx) -> Any:
    # vm_reboot (pve-container src/PVE/API2/LXC/Status.pm, src/PVE/LXC.pm) checks no lock
    # and says "VM" in its one synchronous check.
    cluster, (ct, _) = ctx.cluster, _power_checks(ctx)
    if ct.status != "running":
        raise PveError(500, f"VM {ct.vmid} not running")

    def reboot() -> None:
        _require_current(cluster, ct)
        cluster.stop_container(ct)
        cluster.start_container(ct)

    return _task(ctx, ct, "vzreboot", reboot)


@route("POST", "/nodes/{node}/lxc/{vmid}/template", CT, proxied=True)
async def convert_to_template(ctx: Ctx) -> Any:
    """pve-container src/PVE/API2/LXC.pm `template`: checked under the config lock before the
    `vztemplate` worker starts; answers null (the UPID is not returned)."""
    cluster, ct = ctx.cluster, ctx.container()
    auth.require(cluster, ctx.user, f"/vms/{ct.vmid}", "VM.Allocate")
    _check_unlocked(ct)
    if ct.snapshots:
        raise PveError(500, "unable to create template, because CT contains snapshots")
    if ct.config.get("template"):
        raise PveError(500, "you can't convert a template to a template")
    if ct.status == "running":
        raise PveError(500, "you can't convert a CT to template if the CT is running")

    def convert() -> None:
        _require_current(cluster, ct)
        rootfs = str(ct.config.get("rootfs", "")).replace(f":vm-{ct.vmid}-", f":base-{ct.vmid}-")
        cluster.update_config(ct, {"template": 1, "rootfs": rootfs}, [])

    _task(ctx, ct, "vztemplate", convert)
    return None


# -- config --------------------------------------------------------------------------------
@route(
    "GET",
    "/nodes/{node}/lxc/{vmid}/config",
    {**CT, "current": OPT_BOOL, "snapshot": opt_str(max_length=40, fmt="pve-configid")},
    proxied=True,
)
async def get_config(ctx: Ctx) -> Any:
    ct = ctx.container()
    auth.require(ctx.cluster, ctx.user, f"/vms/{ct.vmid}", "VM.Audit")
    name = ctx.params.get("snapshot")
    if name:
        snapshot = _snapshot(ct, str(name))
        return {
            **snapshot.config,
            "snaptime": snapshot.snaptime,
            "digest": config_digest(snapshot.config),
        }
    return dict(ct.config)


@route("PUT", "/nodes/{node}/lxc/{vmid}/config", UPDATE_PARAMS, proxied=True)
async def update_config(ctx: Ctx) -> Any:
    cluster, ct, params = ctx.cluster, ctx.container(), ctx.params
    changes = {
        k: _config_value(cluster, k, v)
        for k, v in params.items()
        if declared(CONFIG_OPTIONS, k) is not None
    }
    delete = [k for k in re.split(r"[,;\s]+", str(params.get("delete") or "")) if k]
    # root-only options and bridge access (pve-container src/PVE/LXC.pm); the raw
    # parameters, as PVE checks them before normalising
    raw = {k: params[k] for k in changes}
    lxc_perms.check_modify_config_perm(
        cluster, ctx.user, ct.vmid, ct.config, raw, delete, bool(ct.config.get("unprivileged"))
    )
    if not changes and not delete and not params.get("revert"):
        auth.require(cluster, ctx.user, f"/vms/{ct.vmid}", "VM.Config.Options")
    if "lock" not in changes and "lock" not in delete:
        _check_unlocked(ct)
    digest = params.get("digest")
    if digest and digest != ct.config.get("digest"):
        raise PveError(
            500, "detected modified configuration - file changed by other user? Try again."
        )
    problems = {
        k: "you can't change and delete the same option at the same time"
        for k in delete
        if k in changes
    }
    problems.update(
        {k: "unable to delete required option 'rootfs'" for k in delete if k == "rootfs"}
    )
    if problems:
        raise PveError(400, "Parameter verification failed.", problems)
    cluster.update_config(ct, changes, delete)
    return None


# -- metrics -------------------------------------------------------------------------------
@route(
    "GET",
    "/nodes/{node}/lxc/{vmid}/rrddata",
    {
        **CT,
        "timeframe": req(opt_str(enum=tuple(RRD_STEPS))),
        "cf": opt_str(enum=("AVERAGE", "MAX")),
    },
)
async def rrddata(ctx: Ctx) -> Any:
    ct = ctx.container()
    auth.require(ctx.cluster, ctx.user, f"/vms/{ct.vmid}", "VM.Audit")
    now = ctx.cluster.clock.now()
    if ct.created_at and now - ct.created_at < RRD_FIRST_UPDATE:
        # pve-cluster src/PVE/RRD.pm create_rrd_data: `die "RRD error: $err\n"` while
        # pvestatd has not written the guest's first sample (the file does not exist yet)
        raise PveError(
            500,
            f"RRD error: opening '/var/lib/rrdcached/db/pve2-vm/{ct.vmid}': "
            "No such file or directory",
        )
    step = RRD_STEPS[str(ctx.params["timeframe"])]
    peak = 1.6 if ctx.params.get("cf") == "MAX" else 1.0
    end = int(now) // step * step
    pve_node = ctx.cluster.nodes[ct.node]
    return [
        _rrd_point(ct, when, step, peak)
        if _sampled(ct, when, step, pve_node.offline_since)
        else {"time": when}  # RRD.pm leaves undefined values out: a gap, not zeros
        for when in (end - (RRD_POINTS - 1 - i) * step for i in range(RRD_POINTS))
    ]


RRD_FIRST_UPDATE = 10  # seconds: pvestatd's update interval


def _sampled(ct: Container, when: int, step: int, offline_since: float | None) -> bool:
    """Whether the RRD holds a value for the slot ending at `when`: not before the
    container existed, not while its node was down."""
    if ct.created_at and when + step <= ct.created_at:
        return False
    return offline_since is None or when < offline_since


def _rrd_point(ct: Container, when: int, step: int, peak: float) -> dict[str, Any]:
    point: dict[str, Any] = {
        "time": when,
        "maxcpu": ct.cpus,
        "maxmem": ct.maxmem,
        "maxdisk": ct.maxdisk,
        "maxswap": ct.maxswap,
    }
    running = ct.status == "running" and when >= ct.started_at - step
    base = noise(ct.vmid, 0, 1)
    wave = noise(ct.vmid, when // step, 11)
    point["disk"] = int(ct.maxdisk * (0.1 + 0.5 * base)) if running else 0  # LXC.pm vmstatus
    if not running:
        return {
            **point,
            "cpu": 0,
            "mem": 0,
            "swap": 0,
            "netin": 0,
            "netout": 0,
            "diskread": 0,
            "diskwrite": 0,
        }
    rate = (2000 + 50_000 * base) * (0.5 + wave) * peak
    return {
        **point,
        "cpu": round((0.002 + 0.15 * base * base + 0.04 * wave) * peak, 6),
        "mem": int(ct.maxmem * min(1.0, (0.08 + 0.35 * base + 0.03 * wave) * peak)),
        "swap": 0,
        "netin": round(rate, 2),
        "netout": round(rate / 3, 2),
        "diskread": round(rate / 2, 2),
        "diskwrite": round(rate / 5, 2),
    }


@route("GET", "/nodes/{node}/lxc/{vmid}/interfaces", CT, proxied=True)
async def interfaces(ctx: Ctx) -> Any:
    ct = ctx.container()
    auth.require(ctx.cluster, ctx.user, f"/vms/{ct.vmid}", "VM.Audit")
    if ct.status != "running":
        return None
    return ct.world.interfaces()


# -- snapshots -----------------------------------------------------------------------------
def _snapshot(ct: Container, name: str) -> Snapshot:
    found = next((s for s in ct.snapshots if s.name == name), None)
    if found is None:
        raise PveError(500, f"snapshot '{name}' does not exist")
    return found


@route("GET", "/nodes/{node}/lxc/{vmid}/snapshot", CT, proxied=True)
async def list_snapshots(ctx: Ctx) -> Any:
    ct = ctx.container()
    auth.require(ctx.cluster, ctx.user, f"/vms/{ct.vmid}", "VM.Audit")
    entries: list[dict[str, Any]] = []
    for snap in ct.snapshots:
        entry: dict[str, Any] = {
            "name": snap.name,
            "description": snap.description,
            "snaptime": snap.snaptime,
        }
        if snap.parent:
            entry["parent"] = snap.parent
        entries.append(entry)
    current: dict[str, Any] = {
        "name": "current",
        "description": "You are here!",
        "running": int(ct.status == "running"),
    }
    if ct.config.get("parent"):
        current["parent"] = ct.config["parent"]
    return [*entries, current]


@route(
    "POST",
    "/nodes/{node}/lxc/{vmid}/snapshot",
    {**CT, "snapname": SNAPNAME, "description": opt_str()},
    proxied=True,
)
async def create_snapshot(ctx: Ctx) -> Any:
    cluster, ct = ctx.cluster, ctx.container()
    auth.require(cluster, ctx.user, f"/vms/{ct.vmid}", "VM.Snapshot")
    name = str(ctx.params["snapname"])
    if name == "current":
        raise PveError(500, "snapshot name 'current' is reserved")
    if any(s.name == name for s in ct.snapshots):
        raise PveError(500, f"snapshot name '{name}' already used")
    _check_unlocked(ct)
    description = str(ctx.params.get("description", ""))

    def snapshot() -> None:
        _require_current(cluster, ct)
        config = {k: v for k, v in ct.config.items() if k not in ("digest", "lock", "parent")}
        parent = ct.config.get("parent")
        ct.snapshots.append(
            Snapshot(
                name=name,
                description=description,
                snaptime=int(cluster.clock.now()),
                parent=str(parent) if parent else None,
                config=config,
            )
        )
        cluster.update_config(ct, {"parent": name}, [])

    log = [f'  Logical volume "snap_vm-{ct.vmid}-disk-0_{name}" created.']
    return _task(ctx, ct, "vzsnapshot", snapshot, log)


SNAPSHOT_PARAMS = {**CT, "snapname": SNAPNAME}


@route("GET", "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}", SNAPSHOT_PARAMS)
async def snapshot_index(ctx: Ctx) -> Any:
    _snapshot(ctx.container(), str(ctx.params["snapname"]))
    return [{"cmd": "rollback"}, {"cmd": "config"}]


@route(
    "DELETE",
    "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}",
    {**SNAPSHOT_PARAMS, "force": OPT_BOOL},
    proxied=True,
)
async def delete_snapshot(ctx: Ctx) -> Any:
    cluster, ct = ctx.cluster, ctx.container()
    auth.require(cluster, ctx.user, f"/vms/{ct.vmid}", "VM.Snapshot")
    snap = _snapshot(ct, str(ctx.params["snapname"]))

    def delete() -> None:
        _require_current(cluster, ct)
        for other in ct.snapshots:
            if other.parent == snap.name:
                other.parent = snap.parent
        ct.snapshots.remove(snap)
        if ct.config.get("parent") == snap.name:
            changes: dict[str, object] = {"parent": snap.parent} if snap.parent else {}
            cluster.update_config(ct, changes, [] if snap.parent else ["parent"])
        cluster.changed()

    log = [f'  Logical volume "snap_vm-{ct.vmid}-disk-0_{snap.name}" successfully removed.']
    return _task(ctx, ct, "vzdelsnapshot", delete, log)


@route(
    "POST",
    "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}/rollback",
    {**SNAPSHOT_PARAMS, "start": OPT_BOOL},
    proxied=True,
)
async def rollback_snapshot(ctx: Ctx) -> Any:
    cluster, ct = ctx.cluster, ctx.container()
    auth.require(
        cluster, ctx.user, f"/vms/{ct.vmid}", "VM.Snapshot", "VM.Snapshot.Rollback", any_of=True
    )
    snap = _snapshot(ct, str(ctx.params["snapname"]))
    _check_unlocked(ct)
    start = bool(ctx.params.get("start"))

    def rollback() -> None:
        _require_current(cluster, ct)
        if ct.status == "running":
            cluster.stop_container(ct)
        ct.config.clear()
        cluster.update_config(ct, {**snap.config, "parent": snap.name}, [])
        if start:
            cluster.start_container(ct)

    return _task(ctx, ct, "vzrollback", rollback)
