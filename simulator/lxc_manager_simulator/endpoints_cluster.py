"""`/cluster/...`, `/nodes`, and the per-node endpoints that are not about one container."""

from __future__ import annotations

from typing import Any

import orjson

from . import auth, backups, views
from .model import Cluster, Container, PveError, Task, Vm, param_error, parse_upid
from .params import NODE, OPT_BOOL, OPT_VMID, Param, opt_int, opt_str, req
from .router import Ctx, Envelope, RawBody, route

NETWORK_TYPES = (
    "bridge",
    "bond",
    "eth",
    "alias",
    "vlan",
    "fabric",
    "OVSBridge",
    "OVSBond",
    "OVSPort",
    "OVSIntPort",
    "vnet",
    "any_bridge",
    "any_local_bridge",
    "include_sdn",
)


@route("GET", "/cluster/status", {})
async def cluster_status(ctx: Ctx) -> Any:
    cluster = ctx.cluster
    auth.require(cluster, ctx.user, "/", "Sys.Audit")
    entries: list[dict[str, Any]] = []
    if not cluster.standalone:
        entries.append(
            {
                "type": "cluster",
                "id": "cluster",
                "name": cluster.name,
                "nodes": len(cluster.nodes),
                "quorate": int(cluster.quorate()),
                "version": len(cluster.nodes) + 2,
            }
        )
    first = cluster.first_node.name
    for node in cluster.nodes.values():
        entries.append(
            {
                "type": "node",
                "id": f"node/{node.name}",
                "name": node.name,
                "ip": node.ip,
                "level": "",
                "local": int(node.name == first),
                "nodeid": node.nodeid,
                "online": int(node.online),
            }
        )
    return entries


RESOURCE_PARAMS: dict[str, Param] = {"type": opt_str(enum=("vm", "storage", "node", "sdn"))}


@route("GET", "/cluster/resources", RESOURCE_PARAMS)
async def cluster_resources(ctx: Ctx) -> Any:
    """Cached per (caller, type) until the cluster changes or the second turns."""
    kind = ctx.params.get("type")
    key = ("resources", ctx.user.authid, kind)
    cache = ctx.services.cache(ctx.cluster)
    body = cache.get(key)
    if body is None:
        body = orjson.dumps({"data": _resources(ctx, kind)})
        cache.put(key, body)
    return RawBody(body)


def _resources(ctx: Ctx, kind: str | None) -> list[dict[str, Any]]:
    cluster, identity = ctx.cluster, ctx.user
    now = cluster.clock.now()
    allowed = _visible(cluster, identity)
    result: list[dict[str, Any]] = []
    if kind in (None, "node"):
        # pve-manager PVE/API2/Cluster.pm + API2Tools.pm extract_node_stats: every node is
        # listed with its status; the numbers only with Sys.Audit on it
        result += [
            views.node_resource(cluster, n, now, stats=allowed(f"/nodes/{n.name}", "Sys.Audit"))
            for n in cluster.nodes.values()
        ]
    if kind in (None, "vm"):
        guests: list[Container | Vm] = sorted(
            [*cluster.containers.values(), *cluster.vms.values()], key=lambda g: g.vmid
        )
        result += [
            views.guest_resource(cluster, g, now)
            for g in guests
            if allowed(f"/vms/{g.vmid}", "VM.Audit")
        ]
    if kind in (None, "storage"):
        result += [
            views.storage_resource(cluster, s, n)
            for n in cluster.nodes.values()
            for s in cluster.storages
            if allowed(f"/storage/{s.storage}", "Datastore.Audit")
        ]
    if kind in (None, "sdn"):
        result += [
            views.sdn_resource(n)
            for n in cluster.nodes.values()
            if allowed("/sdn/zones/localnetwork", "SDN.Audit")
        ]
    return result


def _visible(cluster: Cluster, identity: auth.Identity) -> Any:
    """A cheap privilege test: computes each distinct path's privileges once."""
    memo: dict[str, frozenset[str]] = {}
    everything = auth.privileges(cluster, identity, "/")
    uniform = everything == auth.ALL_PRIVILEGES and all(
        e.path == "/" for e in cluster.acl if e.ugid in (identity.userid, identity.authid)
    )

    def allowed(path: str, priv: str) -> bool:
        if uniform:
            return True
        if path not in memo:
            memo[path] = auth.privileges(cluster, identity, path)
        return priv in memo[path]

    return allowed


@route("GET", "/cluster/nextid", {"vmid": OPT_VMID})
async def cluster_nextid(ctx: Ctx) -> Any:
    """Answers a string, as real PVE does (`{"data": "105"}`)."""
    vmid = ctx.params.get("vmid")
    if vmid is None:
        return str(ctx.cluster.next_free_vmid())
    if vmid in ctx.cluster.taken_vmids():
        raise param_error({"vmid": f"VM {vmid} already exists"})
    return str(vmid)


@route("GET", "/nodes", {})
async def list_nodes(ctx: Ctx) -> Any:
    now = ctx.cluster.clock.now()
    return [views.node_entry(ctx.cluster, n, now) for n in ctx.cluster.nodes.values()]


@route("GET", "/nodes/{node}/status", {"node": NODE}, proxied=True)
async def node_status(ctx: Ctx) -> Any:
    auth.require(ctx.cluster, ctx.user, f"/nodes/{ctx.node}", "Sys.Audit")
    return views.node_status(ctx.cluster, ctx.cluster.nodes[ctx.node], ctx.cluster.clock.now())


@route(
    "GET",
    "/nodes/{node}/network",
    {"node": NODE, "type": opt_str(enum=NETWORK_TYPES)},
    proxied=True,
)
async def node_network(ctx: Ctx) -> Any:
    """As pve-manager PVE/API2/Network.pm (`index`) does it on PVE 8+: `any_bridge`,
    `include_sdn` and `vnet` add the SDN vnets the caller may see (pve-network
    src/PVE/Network/SDN.pm `get_local_vnets`), and a bridge is listed only with SDN.Audit or
    SDN.Use on `/sdn/zones/localnetwork/BRIDGE` (anyone but the user root@pam itself)."""
    cluster, identity = ctx.cluster, ctx.user
    interfaces = views.network_interfaces(cluster, cluster.nodes[ctx.node])
    wanted = ctx.params.get("type")
    if wanted and wanted != "include_sdn":
        any_bridge = wanted in ("any_bridge", "any_local_bridge")
        interfaces = [
            i for i in interfaces if i["type"] == wanted or (any_bridge and _is_bridge(i))
        ]
    if wanted in ("any_bridge", "include_sdn", "vnet"):
        interfaces += [
            views.vnet_interface(vnet)
            for vnet in cluster.vnets.values()
            if auth.can_use_sdn_bridge(cluster, identity, vnet.zone, vnet.vnet, SDN_SEE)
        ]
    return sorted(
        (i for i in interfaces if not _is_bridge(i) or _bridge_visible(cluster, identity, i)),
        key=lambda i: str(i["iface"]),
    )


SDN_SEE = ("SDN.Audit", "SDN.Use")


def _is_bridge(interface: dict[str, Any]) -> bool:
    return interface["type"] in ("bridge", "OVSBridge")


def _bridge_visible(cluster: Cluster, identity: auth.Identity, interface: dict[str, Any]) -> bool:
    return auth.is_root(identity) or auth.can_use_sdn_bridge(
        cluster, identity, "localnetwork", str(interface["iface"]), SDN_SEE
    )


STORAGE_PARAMS: dict[str, Param] = {
    "node": NODE,
    "content": opt_str(fmt="pve-storage-content-list"),
    "enabled": OPT_BOOL,
    "format": OPT_BOOL,
    "storage": opt_str(fmt="pve-storage-id"),
    "target": opt_str(fmt="pve-node"),
}


@route("GET", "/nodes/{node}/storage", STORAGE_PARAMS, proxied=True)
async def node_storage(ctx: Ctx) -> Any:
    cluster, params = ctx.cluster, ctx.params
    wanted = {c for c in str(params.get("content") or "").split(",") if c}
    result = []
    for storage in cluster.storages:
        if params.get("storage") and storage.storage != params["storage"]:
            continue
        if wanted and not wanted & set(storage.content):
            continue
        if not auth.has_privilege(
            cluster,
            ctx.user,
            f"/storage/{storage.storage}",
            ("Datastore.Audit", "Datastore.AllocateSpace"),
            any_of=True,
        ):
            continue
        entry = views.storage_entry(cluster, storage, ctx.node)
        if params.get("format"):
            entry["format"] = [{"raw": 1, "subvol": 1}, "raw"]
        result.append(entry)
    return result


CONTENT_PARAMS: dict[str, Param] = {
    "node": NODE,
    "storage": req(opt_str(fmt="pve-storage-id")),
    "content": opt_str(fmt="pve-storage-content"),
    "vmid": OPT_VMID,
}


@route("GET", "/nodes/{node}/storage/{storage}/content", CONTENT_PARAMS, proxied=True)
async def storage_content(ctx: Ctx) -> Any:
    cluster, storage_id = ctx.cluster, str(ctx.params["storage"])
    auth.require(
        cluster,
        ctx.user,
        f"/storage/{storage_id}",
        "Datastore.Audit",
        "Datastore.AllocateSpace",
        any_of=True,
    )
    storage = next((s for s in cluster.storages if s.storage == storage_id), None)
    if storage is None:
        raise PveError(500, f"storage '{storage_id}' does not exist")
    volumes = _volumes(cluster, storage_id, ctx.node)
    content, vmid = ctx.params.get("content"), ctx.params.get("vmid")
    return [
        v
        for v in volumes
        if (not content or v["content"] == content) and (not vmid or v.get("vmid") == vmid)
    ]


def _volumes(cluster: Cluster, storage_id: str, node: str) -> list[dict[str, Any]]:
    # backups: pve-storage src/PVE/Storage/Plugin.pm list_volumes (see backups.py)
    archives = [b.entry() for b in backups.backups_of(cluster, storage_id, node)]
    if storage_id == "local":
        return [
            *(
                {
                    "volid": t.volid,
                    "content": "vztmpl",
                    "format": t.format,
                    "size": t.size,
                    "ctime": t.ctime,
                }
                for t in cluster.templates
            ),
            *archives,
        ]
    volumes: list[dict[str, Any]] = archives
    for ct in sorted(cluster.containers_on(node), key=lambda c: c.vmid):
        volid = str(ct.config.get("rootfs", "")).split(",")[0]
        if volid.startswith(f"{storage_id}:"):
            volumes.append(
                {
                    "volid": volid,
                    "content": "rootdir",
                    "format": "raw",
                    "size": ct.maxdisk,
                    "vmid": ct.vmid,
                }
            )
    shared = any(s.shared for s in cluster.storages if s.storage == storage_id)
    for vm in sorted(cluster.vms_on(node), key=lambda v: v.vmid) if not shared else []:
        volumes.append(
            {
                "volid": f"{storage_id}:vm-{vm.vmid}-disk-0",
                "content": "images",
                "format": "raw",
                "size": vm.disk_gib * 1024**3,
                "vmid": vm.vmid,
            }
        )
    return volumes


@route("GET", "/nodes/{node}/qemu", {"node": NODE, "full": OPT_BOOL}, proxied=True)
async def list_vms(ctx: Ctx) -> Any:
    now = ctx.cluster.clock.now()
    return [
        views.vm_summary(vm, now)
        for vm in sorted(ctx.cluster.vms_on(ctx.node), key=lambda v: v.vmid)
        if auth.has_privilege(ctx.cluster, ctx.user, f"/vms/{vm.vmid}", ("VM.Audit",))
    ]


TASK_LIST_PARAMS: dict[str, Param] = {
    "node": NODE,
    "errors": OPT_BOOL,
    "limit": opt_int(minimum=0),
    "since": opt_int(),
    "source": opt_str(enum=("archive", "active", "all")),
    "start": opt_int(minimum=0),
    "statusfilter": opt_str(),
    "typefilter": opt_str(),
    "until": opt_int(),
    "userfilter": opt_str(),
    "vmid": OPT_VMID,
}


@route("GET", "/nodes/{node}/tasks", TASK_LIST_PARAMS, proxied=True)
async def list_tasks(ctx: Ctx) -> Any:
    params = ctx.params
    audit = auth.has_privilege(ctx.cluster, ctx.user, f"/nodes/{ctx.node}", ("Sys.Audit",))
    tasks = [
        t
        for t in ctx.cluster.iter_tasks_newest_first()
        if t.node == ctx.node and (audit or _owns(ctx, t)) and _task_matches(t, params)
    ]
    start, limit = int(params.get("start", 0)), int(params.get("limit", 50))
    return Envelope(
        [task_list_entry(t) for t in tasks[start : start + limit]], {"total": len(tasks)}
    )


def _task_matches(task: Task, params: dict[str, Any]) -> bool:
    source = params.get("source", "archive")
    if (source == "archive" and task.status == "running") or (
        source == "active" and task.status != "running"
    ):
        return False
    checks = [
        not params.get("errors") or (task.exitstatus not in (None, "OK")),
        not params.get("vmid") or task.id == str(params["vmid"]),
        not params.get("typefilter") or params["typefilter"] in task.type,
        not params.get("userfilter") or params["userfilter"] in task.user,
        params.get("since") is None or task.starttime >= params["since"],
        params.get("until") is None or task.starttime <= params["until"],
        not params.get("statusfilter")
        or _status_class(task) in str(params["statusfilter"]).split(","),
    ]
    return all(checks)


def _status_class(task: Task) -> str:
    if task.status == "running":
        return "running"
    if task.exitstatus == "OK":
        return "ok"
    return "warning" if (task.exitstatus or "").startswith("WARNINGS") else "error"


def task_list_entry(task: Task) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "upid": task.upid,
        "node": task.node,
        "pid": task.pid,
        "pstart": task.pstart,
        "starttime": task.starttime,
        "type": task.type,
        "id": task.id,
        **task_user_fields(task.user),
    }
    if task.status == "stopped":
        entry["endtime"] = task.endtime
        entry["status"] = task.exitstatus
    return entry


def task_user_fields(authid: str) -> dict[str, str]:
    """pve-manager PVE/API2/Tasks.pm `$convert_token_task`: a token's task shows `user`
    and `tokenid` apart (`root@pam` + `ci`), never the joined `root@pam!ci`."""
    user, bang, tokenid = authid.partition("!")
    return {"user": user, "tokenid": tokenid} if bang else {"user": authid}


def _owns(ctx: Ctx, task: Task) -> bool:
    """Tasks.pm `$check_task_user`: a token sees its own tasks, a user also its tokens'."""
    me = ctx.user.authid
    user, bang, _ = task.user.partition("!")
    return me == task.user or (bool(bang) and me == user)


def _task(ctx: Ctx) -> Task:
    upid = str(ctx.params["upid"])
    parsed = parse_upid(upid)
    if parsed is None:
        raise param_error({"upid": "unable to parse worker upid"})
    task = ctx.cluster.tasks.get(upid)
    if task is None or task.node != ctx.node:
        # Tasks.pm: `raise_param_exc({ upid => "no such task" }) if !-f $filename` -> 400
        raise param_error({"upid": "no such task"})
    if not _owns(ctx, task):
        auth.require(ctx.cluster, ctx.user, f"/nodes/{ctx.node}", "Sys.Audit")
    return task


UPID_PARAMS: dict[str, Param] = {"node": NODE, "upid": req(opt_str())}


@route("GET", "/nodes/{node}/tasks/{upid}", UPID_PARAMS)
async def task_index(ctx: Ctx) -> Any:
    _task(ctx)
    return [{"name": "log"}, {"name": "status"}]


@route("GET", "/nodes/{node}/tasks/{upid}/status", UPID_PARAMS, proxied=True)
async def task_status(ctx: Ctx) -> Any:
    task = _task(ctx)
    entry = {
        "upid": task.upid,
        "node": task.node,
        "pid": task.pid,
        "pstart": task.pstart,
        "starttime": task.starttime,
        "type": task.type,
        "id": task.id,
        **task_user_fields(task.user),
        "status": task.status,
    }
    if task.status == "stopped":
        entry["exitstatus"] = task.exitstatus
    return entry


TASK_LOG_PARAMS: dict[str, Param] = {
    **UPID_PARAMS,
    "start": opt_int(minimum=0),
    "limit": opt_int(minimum=0),
    "download": OPT_BOOL,
}


@route("GET", "/nodes/{node}/tasks/{upid}/log", TASK_LOG_PARAMS, proxied=True)
async def task_log(ctx: Ctx) -> Any:
    task = _task(ctx)
    start, limit = int(ctx.params.get("start", 0)), int(ctx.params.get("limit", 50))
    lines = task.log if task.status == "stopped" or task.log else ["no content"]
    chosen = lines[start : start + limit] if limit else lines[start:]
    entries = [{"n": start + i + 1, "t": text} for i, text in enumerate(chosen)]
    return Envelope(entries, {"total": len(lines)})
