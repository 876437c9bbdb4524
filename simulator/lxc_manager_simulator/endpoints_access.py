"""`/version` and `/access/...`: tickets (with the two-factor step), realms, permissions."""

from __future__ import annotations

import asyncio
from typing import Any, NoReturn

from . import auth
from .model import AclEntry, Cluster, PveError, User
from .params import OPT_BOOL, Param, opt_str, req
from .router import Ctx, route

REALMS = [
    {"realm": "pam", "type": "pam", "comment": "Linux PAM standard authentication"},
    {"realm": "pve", "type": "pve", "comment": "Proxmox VE authentication server"},
]
USERID_PATTERN = (
    r"(?^:^(?^:[^\s:/]+)\@(?^:[A-Za-z][A-Za-z0-9\.\-_]+)(?:!(?^:[A-Za-z][A-Za-z0-9\.\-_]+))?$)"
)


@route("GET", "/version", {})
async def get_version(ctx: Ctx) -> Any:
    pve = ctx.cluster.pve  # --pve-version
    return {"version": pve.version, "release": pve.release, "repoid": pve.repoid}


@route("GET", "/access/ticket", {}, access="world")
async def get_ticket(ctx: Ctx) -> Any:
    return None


@route("GET", "/access/domains", {}, access="world")
async def get_domains(ctx: Ctx) -> Any:
    return REALMS


TICKET_PARAMS: dict[str, Param] = {
    "username": req(opt_str(max_length=64)),
    "password": req(opt_str()),
    "realm": opt_str(max_length=32, fmt="pve-realm"),
    "otp": opt_str(),
    "tfa-challenge": opt_str(),
    "path": Param("string", max_length=64, requires="privs"),
    "privs": Param("string", max_length=64, format="pve-priv-list", requires="path"),
    "new-format": OPT_BOOL,
}


@route("POST", "/access/ticket", TICKET_PARAMS, access="world")
async def create_ticket(ctx: Ctx) -> Any:
    cluster = ctx.cluster
    userid = _userid(ctx.params)
    user = cluster.users.get(userid)
    password = str(ctx.params["password"])
    if user is None:
        await _fail(ctx)
    if ctx.params.get("tfa-challenge"):
        return await _finish_second_factor(ctx, user, userid, password)
    renewed = password.startswith("PVE:") and auth.verify_ticket(cluster, password) == userid
    if not renewed and not auth.check_password(user, password):
        await _fail(ctx)
    if ctx.params.get("path"):
        return _verify_privileges(ctx, userid)
    if user.has_second_factor and not renewed:
        otp = ctx.params.get("otp")
        if not otp:
            return _tfa_answer(cluster, user)
        if not auth.check_second_factor(user, f"totp:{otp}"):
            await _fail(ctx)
    return ticket_answer(cluster, userid)


def _userid(params: dict[str, Any]) -> str:
    username = str(params["username"])
    realm = params.get("realm")
    if realm and "@" not in username:
        return f"{username}@{realm}"
    return username


async def _fail(ctx: Ctx) -> NoReturn:
    await asyncio.sleep(ctx.services.auth_failure_delay)
    raise PveError(401, "authentication failure")


async def _finish_second_factor(ctx: Ctx, user: User, userid: str, response: str) -> Any:
    challenge = str(ctx.params["tfa-challenge"])
    if not auth.verify_tfa_ticket(ctx.cluster, challenge, userid) or not auth.check_second_factor(
        user, response
    ):
        await _fail(ctx)
    return ticket_answer(ctx.cluster, userid)


def _tfa_answer(cluster: Cluster, user: User) -> dict[str, Any]:
    return {
        "username": user.userid,
        "ticket": auth.create_tfa_ticket(cluster, user),
        "CSRFPreventionToken": auth.create_csrf_token(cluster, user.userid),
        "NeedTFA": 1,
    }


def _verify_privileges(ctx: Ctx, userid: str) -> dict[str, Any]:
    identity = auth.Identity(userid=userid, by_ticket=True)
    privs = tuple(p for p in str(ctx.params["privs"]).replace(";", ",").split(",") if p)
    if not auth.has_privilege(ctx.cluster, identity, str(ctx.params["path"]), privs):
        raise PveError(401, "authentication failure")
    return {"username": userid}


def ticket_answer(cluster: Cluster, userid: str) -> dict[str, Any]:
    identity = auth.Identity(userid=userid, by_ticket=True)
    answer: dict[str, Any] = {
        "username": userid,
        "ticket": auth.create_ticket(cluster, userid),
        "CSRFPreventionToken": auth.create_csrf_token(cluster, userid),
        "cap": auth.capabilities(cluster, identity),
    }
    if not cluster.standalone and auth.has_privilege(cluster, identity, "/", ("Sys.Audit",)):
        answer["clustername"] = cluster.name
    return answer


PERMISSION_PARAMS: dict[str, Param] = {
    "path": opt_str(),
    "userid": opt_str(pattern=USERID_PATTERN),
}


@route("GET", "/access/permissions", PERMISSION_PARAMS)
async def get_permissions(ctx: Ctx) -> Any:
    identity = ctx.user
    target = ctx.params.get("userid")
    if target and target != identity.authid:
        identity = _other_identity(ctx, str(target))
    return auth.permissions_map(ctx.cluster, identity, ctx.params.get("path"))


def _other_identity(ctx: Ctx, target: str) -> auth.Identity:
    """Whose permissions to dump: own tokens always, others with Sys.Audit on /access."""
    cluster, me = ctx.cluster, ctx.user
    userid, _, tokenid = target.partition("!")
    own_token = userid == me.userid and me.token is None
    if not own_token:
        auth.require(cluster, me, "/access", "Sys.Audit")
    if userid not in cluster.users:
        raise PveError(500, f"no such user ('{userid}')")
    if not tokenid:
        return auth.Identity(userid=userid)
    token = cluster.tokens.get(target)
    if token is None:
        raise PveError(500, f"no such token '{tokenid}' for user '{userid}'")
    return auth.Identity(userid=userid, token=token)


ACL_PARAMS: dict[str, Param] = {
    "path": req(opt_str()),
    "roles": req(opt_str()),
    "propagate": OPT_BOOL,
    "users": opt_str(),
    "groups": opt_str(),
    "tokens": opt_str(),
    "delete": OPT_BOOL,
}


def _id_list(text: object) -> list[str]:
    return [item for item in str(text or "").replace(";", ",").replace(" ", ",").split(",") if item]


def _normalize_acl_path(path: str) -> str:
    """PVE::AccessControl::normalize_path: one leading slash, none at the end."""
    return "/" + "/".join(part for part in path.split("/") if part)


@route("PUT", "/access/acl", ACL_PARAMS)
async def update_acl(ctx: Ctx) -> Any:
    """pve-access-control src/PVE/API2/ACL.pm `update_acl`: add (or with `delete`, remove)
    roles at a path for users and API tokens. Permission: `check_perm_modify`
    (PVE/RPCEnvironment.pm) — Permissions.Modify on the path, or VM.Allocate on /vms/...,
    Datastore.Allocate on /storage/..., Pool.Allocate on /pool/.... Groups are not
    modelled."""
    cluster, params = ctx.cluster, ctx.params
    path = _normalize_acl_path(str(params["path"]))
    alternatives = ["Permissions.Modify"]
    for prefix, privilege in (
        ("/storage/", "Datastore.Allocate"),
        ("/vms/", "VM.Allocate"),
        ("/pool/", "Pool.Allocate"),
    ):
        if path.startswith(prefix):
            alternatives.append(privilege)
    auth.require(cluster, ctx.user, path, *alternatives, any_of=True)
    if params.get("groups"):
        raise PveError(400, "groups are not modelled by the simulator")
    roles = _id_list(params["roles"])
    for role in roles:
        if role not in auth.ROLES:
            raise PveError(500, f"role '{role}' does not exist")
    ugids: list[str] = []
    for userid in _id_list(params.get("users")):
        if userid not in cluster.users:
            raise PveError(500, f"user '{userid}' does not exist")
        ugids.append(userid)
    for tokenid in _id_list(params.get("tokens")):
        if tokenid not in cluster.tokens:
            raise PveError(500, f"no such token '{tokenid}'")
        ugids.append(tokenid)
    propagate = bool(params.get("propagate", True))
    for ugid in ugids:
        for role in roles:
            cluster.acl = [
                e for e in cluster.acl if not (e.path == path and e.ugid == ugid and e.role == role)
            ]
            if not params.get("delete"):
                cluster.acl.append(AclEntry(path=path, ugid=ugid, role=role, propagate=propagate))
    return None
