"""`/cluster/ha/resources`: list, read, add and remove HA resources (containers only).

As pve-ha-manager src/PVE/API2/HA/Resources.pm: reading needs Sys.Audit on `/`, changing
needs Sys.Console on `/`; a bare VMID is turned into `ct:VMID` (Config.pm `parse_sid`).
"""

from __future__ import annotations

import re
from typing import Any

from . import auth, ha
from .model import Cluster, PveError
from .params import OPT_BOOL, opt_int, opt_str, req
from .router import Ctx, route

SID = req(opt_str())
PATH_SID = {"sid": SID}
DELETE_PARAMS = {**PATH_SID, "purge": OPT_BOOL}


def _parse_sid(cluster: Cluster, text: str) -> str:
    if re.fullmatch(r"\d+", text):
        if cluster.find_container(int(text)) is None and int(text) not in cluster.vms:
            raise PveError(500, f"unable to detect SID from VMID - VM/CT {text} does not exist")
        return ha.sid_of(int(text)) if int(text) in cluster.containers else f"vm:{text}"
    match = re.fullmatch(r"(\S+):(\S+)", text)
    if match is None:
        raise PveError(500, f"unable to parse service id '{text}'")
    return text


def _container_sid(cluster: Cluster, text: str) -> str:
    sid = _parse_sid(cluster, text)
    kind, _, name = sid.partition(":")
    if kind != "ct":
        raise PveError(500, f"resource type '{kind}' is not available in this simulator")
    if not re.fullmatch(r"[1-9][0-9]+", name):
        raise PveError(500, "invalid VMID")
    return sid


@route("GET", "/cluster/ha/resources", {"type": opt_str(enum=("ct", "vm"))})
async def list_resources(ctx: Ctx) -> Any:
    auth.require(ctx.cluster, ctx.user, "/", "Sys.Audit")
    digest = ha.digest(ctx.cluster)
    wanted = ctx.params.get("type")
    return [
        r.view(digest)
        for r in ctx.cluster.ha_resources.values()
        if wanted is None or r.type == wanted
    ]


@route("GET", "/cluster/ha/resources/{sid}", PATH_SID)
async def read_resource(ctx: Ctx) -> Any:
    auth.require(ctx.cluster, ctx.user, "/", "Sys.Audit")
    sid = _parse_sid(ctx.cluster, str(ctx.params["sid"]))
    resource = ctx.cluster.ha_resources.get(sid)
    if resource is None:
        raise PveError(500, f"no such resource '{sid}'")
    return resource.view(ha.digest(ctx.cluster))


@route(
    "POST",
    "/cluster/ha/resources",
    {
        "sid": SID,
        "state": opt_str(enum=ha.STATES),
        "comment": opt_str(max_length=4096),
        "max_restart": opt_int(minimum=0),
        "max_relocate": opt_int(minimum=0),
        "type": opt_str(enum=("ct", "vm")),
    },
)
async def create_resource(ctx: Ctx) -> Any:
    cluster, params = ctx.cluster, ctx.params
    auth.require(cluster, ctx.user, "/", "Sys.Console")
    sid = _container_sid(cluster, str(params["sid"]))
    if params.get("type") and params["type"] != "ct":
        raise PveError(500, "types does not match")
    vmid = int(sid.split(":", 1)[1])
    if cluster.find_container(vmid) is None:
        raise PveError(500, f"resource '{sid}' does not exist in cluster")
    if sid in cluster.ha_resources:
        raise PveError(500, f"create resource failed: resource ID '{sid}' already defined")
    cluster.ha_resources[sid] = ha.HaResource(
        sid,
        state=str(params.get("state") or "started"),
        max_restart=int(params.get("max_restart", 1)),
        max_relocate=int(params.get("max_relocate", 1)),
        comment=params.get("comment"),
    )
    cluster.changed()
    return None


@route("DELETE", "/cluster/ha/resources/{sid}", DELETE_PARAMS)
async def delete_resource(ctx: Ctx) -> Any:
    cluster = ctx.cluster
    auth.require(cluster, ctx.user, "/", "Sys.Console")
    sid = _parse_sid(cluster, str(ctx.params["sid"]))
    if sid not in cluster.ha_resources:
        raise PveError(500, f"cannot delete service '{sid}', not HA managed!")
    del cluster.ha_resources[sid]
    cluster.changed()
    return None
