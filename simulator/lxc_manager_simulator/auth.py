"""Authentication and authorisation as Proxmox VE does them.

Tickets are `PVE:USER@REALM:HEXTIME::SIGNATURE` (HMAC here instead of PVE's RSA, same
shape), two-factor tickets `PVE:!tfa!CHALLENGE:HEXTIME::SIGNATURE` bound to the user,
CSRF tokens `HEXTIME:SIGNATURE`. API tokens are `USER@REALM!TOKENID=SECRET` with privilege
separation: a privsep token has its own ACL and its effective privileges are the
intersection with its user's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass

import pyotp

from .model import ApiToken, Cluster, PveError, User

TICKET_LIFETIME = 7200  # seconds, as in PVE
TFA_TICKET_LIFETIME = 120
# Privileges by category as PVE 8 has them (pve-access-control src/PVE/AccessControl.pm,
# `$privgroups` at libpve-access-control 8.2.2): root / admin / user / audit. The
# predefined roles are made from these groups exactly as `create_roles` there does.
PRIVILEGE_GROUPS: dict[str, dict[str, tuple[str, ...]]] = {
    "VM": {
        "root": (),
        "admin": (
            "VM.Config.Disk",
            "VM.Config.CPU",
            "VM.Config.Memory",
            "VM.Config.Network",
            "VM.Config.HWType",
            "VM.Config.Options",
            "VM.Allocate",
            "VM.Clone",
            "VM.Migrate",
            "VM.Monitor",
            "VM.Snapshot",
            "VM.Snapshot.Rollback",
        ),
        "user": (
            "VM.Config.CDROM",
            "VM.Config.Cloudinit",
            "VM.Console",
            "VM.Backup",
            "VM.PowerMgmt",
        ),
        "audit": ("VM.Audit",),
    },
    "Sys": {
        "root": ("Sys.PowerMgmt", "Sys.Modify", "Sys.Incoming", "Sys.AccessNetwork"),
        "admin": ("Sys.Console", "Sys.Syslog"),
        "user": (),
        "audit": ("Sys.Audit",),
    },
    "Datastore": {
        "root": (),
        "admin": ("Datastore.Allocate", "Datastore.AllocateTemplate"),
        "user": ("Datastore.AllocateSpace",),
        "audit": ("Datastore.Audit",),
    },
    "SDN": {
        "root": (),
        "admin": ("SDN.Allocate", "SDN.Audit"),
        "user": ("SDN.Use",),
        "audit": ("SDN.Audit",),
    },
    "User": {
        "root": ("Realm.Allocate",),
        "admin": ("User.Modify", "Group.Allocate", "Realm.AllocateUser"),
        "user": (),
        "audit": (),
    },
    "Pool": {
        "root": (),
        "admin": ("Pool.Allocate",),
        "user": ("Pool.Audit",),
        "audit": ("Pool.Audit",),
    },
    "Mapping": {
        "root": (),
        "admin": ("Mapping.Modify",),
        "user": ("Mapping.Use",),
        "audit": ("Mapping.Audit",),
    },
}


def _build_roles() -> dict[str, frozenset[str]]:
    """`create_roles` of PVE::AccessControl: PVE<cat>Admin, PVE<cat>User, PVEAdmin,
    PVEAuditor, PVETemplateUser, plus Administrator (everything) and NoAccess."""
    roles: dict[str, set[str]] = {"PVEAdmin": set(), "PVEAuditor": set()}
    every = {"Permissions.Modify"}
    for category, groups in PRIVILEGE_GROUPS.items():
        every.update(*groups.values())
        admin_set = {*groups["admin"], *groups["user"], *groups["audit"]}
        roles[f"PVE{category}Admin"] = admin_set
        roles["PVEAdmin"] |= admin_set
        if groups["user"]:
            roles[f"PVE{category}User"] = {*groups["user"], *groups["audit"]}
        roles["PVEAuditor"] |= set(groups["audit"])
    roles["PVEAdmin"].discard("Mapping.Modify")
    roles["PVETemplateUser"] = {"VM.Clone", "VM.Audit"}
    built = {name: frozenset(privs) for name, privs in sorted(roles.items())}
    return {"Administrator": frozenset(every), "NoAccess": frozenset(), **built}


ROLES: dict[str, frozenset[str]] = _build_roles()
ALL_PRIVILEGES = ROLES["Administrator"]
VM_PRIVILEGES = frozenset(p for p in ALL_PRIVILEGES if p.startswith("VM."))
# What a home-lab administrator grants the token of a dashboard that creates and runs
# containers (on `/`, privilege-separated): manage guests, put disks on storages, use
# bridges and vnets, and read everything else. No Sys.Modify, so privileged containers
# and root-only options stay out of reach, as they would on a real installation.
HOMELAB_TOKEN_ROLES: tuple[str, ...] = (
    "PVEVMAdmin",
    "PVEDatastoreUser",
    "PVESDNUser",
    "PVEAuditor",
)
# the paths /access/permissions always reports on, besides the ACL paths
STANDARD_PATHS = (
    "/",
    "/access",
    "/access/groups",
    "/mapping",
    "/nodes",
    "/pool",
    "/sdn",
    "/storage",
    "/vms",
)
# categories of the `cap` object /access/ticket returns (what the GUI uses)
CAP_CATEGORIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "vms": ("/vms", ("VM.",)),
    "storage": ("/storage", ("Datastore.",)),
    "access": ("/access", ("User.", "Group.", "Realm.", "Permissions.")),
    "nodes": ("/nodes", ("Sys.",)),
    "dc": ("/", ("Sys.Audit", "Sys.Modify", "SDN.", "Mapping.")),
    "sdn": ("/sdn", ("SDN.",)),
    "mapping": ("/mapping", ("Mapping.",)),
}


@dataclass(frozen=True)
class Identity:
    """Who a request is: a user (by ticket) or an API token."""

    userid: str
    token: ApiToken | None = None
    by_ticket: bool = False

    @property
    def authid(self) -> str:
        return self.token.full_id if self.token else self.userid


def _sign(cluster: Cluster, text: str) -> str:
    digest = hmac.new(cluster.secret, text.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _hextime(now: float) -> str:
    return f"{int(now):08X}"


def create_ticket(cluster: Cluster, userid: str) -> str:
    plain = f"PVE:{userid}:{_hextime(cluster.clock.now())}"
    return f"{plain}::{_sign(cluster, plain)}"


def tfa_challenge(cluster: Cluster, user: User) -> dict[str, object]:
    """The `TfaChallenge` of proxmox-tfa (proxmox repo, proxmox-tfa/src/api/mod.rs): `totp`
    and `yubico` only when true, `recovery` the indices of the unused keys, `webauthn` /
    `u2f` the challenge data for the browser."""
    challenge: dict[str, object] = {}
    if user.totp_secret:
        challenge["totp"] = True
    if user.recovery_keys:  # proxmox-tfa 4: an all-used set is sent as an empty list
        challenge["recovery"] = [i for i, key in enumerate(user.recovery_keys) if key]
    origin = f"https://{cluster.host}:{cluster.api_port}"
    if "u2f" in user.other_factors:
        challenge["u2f"] = {
            "challenge": {"appId": origin, "challenge": secrets.token_urlsafe(32)},
            "keys": [{"keyHandle": secrets.token_urlsafe(48), "version": "U2F_V2"}],
        }
    if "webauthn" in user.other_factors:
        challenge["webauthn"] = {
            "publicKey": {
                "challenge": secrets.token_urlsafe(32),
                "timeout": 60000,
                "rpId": cluster.host,
                "allowCredentials": [{"type": "public-key", "id": secrets.token_urlsafe(48)}],
                "userVerification": "preferred",
            }
        }
    if "yubico" in user.other_factors:
        challenge["yubico"] = True
    return challenge


def create_tfa_ticket(cluster: Cluster, user: User) -> str:
    # pve-common src/PVE/Ticket.pm assemble_rsa_ticket: `uri_escape($data, ':')` escapes
    # ':' only; the JSON keeps its quotes, braces and commas (pve-access-control
    # src/PVE/API2/AccessControl.pm: ticket data `!tfa!<challenge JSON>`, AAD = the user).
    text = json.dumps(tfa_challenge(cluster, user), separators=(",", ":"))
    data = "!tfa!" + text.replace(":", "%3A")
    plain = f"PVE:{data}:{_hextime(cluster.clock.now())}"
    return f"{plain}::{_sign(cluster, plain + ':' + user.userid)}"


def _split_ticket(ticket: str) -> tuple[str, str, int, str] | None:
    """-> (plain, data, timestamp, signature) of `PVE:DATA:HEXTIME::SIG`."""
    plain, sep, signature = ticket.partition("::")
    parts = plain.split(":")
    if not sep or len(parts) != 3 or parts[0] != "PVE":
        return None
    try:
        timestamp = int(parts[2], 16)
    except ValueError:
        return None
    return plain, parts[1], timestamp, signature


def _fresh(cluster: Cluster, timestamp: int, lifetime: int) -> bool:
    age = cluster.clock.now() - timestamp
    return -300 <= age < lifetime


def verify_ticket(cluster: Cluster, ticket: str) -> str | None:
    """The user id of a valid, unexpired (full) ticket, else None."""
    parts = _split_ticket(ticket)
    if parts is None:
        return None
    plain, userid, timestamp, signature = parts
    if userid.startswith("!tfa!") or not hmac.compare_digest(signature, _sign(cluster, plain)):
        return None
    if not _fresh(cluster, timestamp, TICKET_LIFETIME):
        return None
    user = cluster.users.get(userid)
    return userid if user and user.enabled else None


def verify_tfa_ticket(cluster: Cluster, ticket: str, userid: str) -> bool:
    parts = _split_ticket(ticket)
    if parts is None:
        return False
    plain, data, timestamp, signature = parts
    expected = _sign(cluster, plain + ":" + userid)
    return (
        data.startswith("!tfa!")
        and hmac.compare_digest(signature, expected)
        and _fresh(cluster, timestamp, TFA_TICKET_LIFETIME)
    )


# -- VNC tickets (pve-access-control src/PVE/AccessControl.pm assemble_vnc_ticket) -----------
VNC_TICKET_MIN_AGE, VNC_TICKET_MAX_AGE = -20, 40  # $verify_short_lived_ticket


def create_vnc_ticket(cluster: Cluster, authid: str, path: str, port: int) -> str:
    """`PVEVNC:HEXTIME::SIG`: no user in plain text, signed over `user:path:port`
    (PVE signs with the RSA auth key; the simulator with its HMAC secret)."""
    plain = f"PVEVNC:{_hextime(cluster.clock.now())}"
    return f"{plain}::{_sign(cluster, f'{plain}:{authid}:{path}:{port}')}"


def verify_vnc_ticket(
    cluster: Cluster, ticket: str, authid: str, path: str, port: int | None
) -> bool:
    """verify_vnc_ticket + PVE::Ticket::verify_rsa_ticket: valid for this user, path and
    port while -20 < age < 40 seconds (an old `PASSWORD:` prefix is dropped)."""
    match = re.fullmatch(r".{8}:(PVEVNC:.*)", ticket, re.S)
    if match:
        ticket = match.group(1)
    found = re.fullmatch(r"(PVEVNC:\S+)::([^:\s]+)", ticket)
    if found is None:
        return False
    plain, signature = found.groups()
    secret = f"{plain}:{authid}:{path}" + (f":{port}" if port is not None else "")
    if not hmac.compare_digest(signature, _sign(cluster, secret)):
        return False
    stamp = re.fullmatch(r"PVEVNC:(?:\S+:)?([A-Z0-9]{8})", plain)
    if stamp is None:
        return False
    age = cluster.clock.now() - int(stamp.group(1), 16)
    return VNC_TICKET_MIN_AGE < age < VNC_TICKET_MAX_AGE


def create_csrf_token(cluster: Cluster, userid: str) -> str:
    stamp = _hextime(cluster.clock.now())
    return f"{stamp}:{_sign(cluster, 'CSRF:' + stamp + ':' + userid).rstrip('=')}"


def verify_csrf_token(cluster: Cluster, token: str, userid: str) -> bool:
    stamp, _, signature = token.partition(":")
    try:
        timestamp = int(stamp, 16)
    except ValueError:
        return False
    expected = _sign(cluster, "CSRF:" + stamp + ":" + userid).rstrip("=")
    return hmac.compare_digest(signature, expected) and _fresh(cluster, timestamp, TICKET_LIFETIME)


def check_password(user: User | None, password: str) -> bool:
    return bool(user and user.enabled and hmac.compare_digest(user.password, password))


def check_second_factor(user: User, response: str) -> bool:
    """`totp:CODE` (real time, +-1 step) or `recovery:KEY` (single use)."""
    kind, _, value = response.partition(":")
    if kind == "totp" and user.totp_secret:
        return pyotp.TOTP(user.totp_secret).verify(
            value.strip(), for_time=time.time(), valid_window=1
        )
    key = value.strip()
    if kind == "recovery" and key and key in user.recovery_keys:
        user.recovery_keys[user.recovery_keys.index(key)] = ""  # used: its index stays
        return True
    return False


def identity_from_token_header(cluster: Cluster, header: str) -> Identity | None:
    """`PVEAPIToken=USER@REALM!TOKENID=SECRET` (also accepts `:` before the secret)."""
    if not header.startswith("PVEAPIToken="):
        return None
    value = header[len("PVEAPIToken=") :].strip()
    full_id, sep, secret = value.partition("=")
    if not sep:
        full_id, sep, secret = value.rpartition(":")
    token = cluster.tokens.get(full_id)
    if token is None or not hmac.compare_digest(token.secret, secret):
        return None
    user = cluster.users.get(token.userid)
    if user is None or not user.enabled:
        return None
    return Identity(userid=token.userid, token=token)


# -- privileges ----------------------------------------------------------------------------
def _ancestors(path: str) -> list[str]:
    parts = [p for p in path.split("/") if p]
    return ["/"] + ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]


def _acl_privileges(cluster: Cluster, ugid: str, path: str) -> frozenset[str]:
    """Privileges of one user or token at `path`: the most specific ACL entries win."""
    result: frozenset[str] = frozenset()
    for level in _ancestors(path):
        entries = [
            e
            for e in cluster.acl
            if e.ugid == ugid and e.path == level and (e.propagate or level == path)
        ]
        if entries:
            result = frozenset().union(*(ROLES.get(e.role, frozenset()) for e in entries))
    return result


def privileges(cluster: Cluster, identity: Identity, path: str) -> frozenset[str]:
    user_privs = (
        ALL_PRIVILEGES
        if identity.userid == "root@pam"
        else _acl_privileges(cluster, identity.userid, path)
    )
    token = identity.token
    if token is None or not token.privsep:
        return user_privs
    return user_privs & _acl_privileges(cluster, token.full_id, path)


def has_privilege(
    cluster: Cluster, identity: Identity, path: str, privs: tuple[str, ...], any_of: bool = False
) -> bool:
    held = privileges(cluster, identity, path)
    return any(p in held for p in privs) if any_of else all(p in held for p in privs)


def require(
    cluster: Cluster, identity: Identity, path: str, *privs: str, any_of: bool = False
) -> None:
    if not has_privilege(cluster, identity, path, privs, any_of):
        raise PveError(403, f"Permission check failed ({path}, {', '.join(privs)})")


def permission_paths(cluster: Cluster, identity: Identity) -> list[str]:
    ugids = {identity.userid, identity.authid}
    acl_paths = {e.path for e in cluster.acl if e.ugid in ugids}
    return sorted(set(STANDARD_PATHS) | acl_paths)


def permissions_map(
    cluster: Cluster, identity: Identity, path: str | None = None
) -> dict[str, dict[str, int]]:
    """The `/access/permissions` answer: path -> {privilege: propagate (1)}."""
    paths = [path] if path else permission_paths(cluster, identity)
    result: dict[str, dict[str, int]] = {}
    for p in paths:
        privs = privileges(cluster, identity, p)
        if privs or path:
            result[p] = {priv: 1 for priv in sorted(privs)}
    return result


def capabilities(cluster: Cluster, identity: Identity) -> dict[str, dict[str, int]]:
    """The `cap` object of a ticket answer (privileges per GUI category)."""
    cap: dict[str, dict[str, int]] = {}
    for category, (path, prefixes) in CAP_CATEGORIES.items():
        privs = privileges(cluster, identity, path)
        cap[category] = {p: 1 for p in sorted(privs) if p.startswith(prefixes)}
    return cap


def is_root(identity: Identity) -> bool:
    """The user `root@pam` itself: PVE compares the auth id, so a token of root is not root
    (pve-container src/PVE/LXC.pm, `return 1 if $authuser eq 'root@pam'`)."""
    return identity.authid == "root@pam"


def can_use_sdn_bridge(
    cluster: Cluster, identity: Identity, zone: str, bridge: str, privs: tuple[str, ...]
) -> bool:
    """`check_sdn_bridge` of pve-access-control src/PVE/RPCEnvironment.pm: any of `privs` on
    `/sdn/zones/ZONE/BRIDGE`, or on one of its VLANs that has an ACL entry of its own."""
    path = f"/sdn/zones/{zone}/{bridge}"
    if has_privilege(cluster, identity, path, privs, any_of=True):
        return True
    vlans = {e.path for e in cluster.acl if e.path.startswith(path + "/")}
    return any(has_privilege(cluster, identity, v, privs, any_of=True) for v in vlans)
