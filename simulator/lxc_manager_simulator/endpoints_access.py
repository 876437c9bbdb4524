"""`/version` and `/access/...`: tickets (with the two-factor step), realms, permissions."""

from __future__ import annotations

import asyncio
from typing import Any, NoReturn

from . import auth
from .model import Cluster, PveError, User
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
