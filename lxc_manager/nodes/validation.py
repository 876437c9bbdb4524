"""Pure rules of the node form, of the privileges the app needs and of the cluster key.

No I/O here: everything is unit-tested without a database or a network.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

from lxc_manager.proxmox import Permissions

from .types import SSH_KINDS, NodeInput

NAME_MAX = 64
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]*$")
TOKEN_ID_PATTERN = re.compile(r"^[^\s:/@!]+@[A-Za-z][A-Za-z0-9.\-_]+![A-Za-z][A-Za-z0-9.\-_]+$")
TOKEN_ID_MAX = 255
TOKEN_SECRET_MAX = 256
SSH_USER_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,31}$")
SSH_PASSWORD_MAX = 1024
SSH_KEY_MAX = 16384
_HOST_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")

MSG_NAME = (
    "Use 1-64 letters, digits, spaces, dots, dashes or underscores, starting with a letter or digit"
)
MSG_HOST = "Enter a host name or IP address (without https:// or a port)"
MSG_PORT = "Enter a port between 1 and 65535"
MSG_TOKEN_ID = "Token ID looks like root@pam!lxc-manager"
MSG_TOKEN_SECRET = "Enter the token secret Proxmox showed when the token was created"
MSG_TOKEN_SECRET_FORMAT = "The token secret is at most 256 characters without spaces"
MSG_SSH_USER = "Enter a user name such as root"
MSG_SSH_KIND = "Choose a password or a private key"
MSG_SSH_PASSWORD = "The SSH password is at most 1024 characters on one line"
MSG_SSH_KEY = "Paste a private key (-----BEGIN ... PRIVATE KEY-----)"


def name_taken_message(name: str) -> str:
    return f"You already have a node named {name}"


def normalize_host(text: str) -> str:
    """`  [FE80::1] ` -> `fe80::1`; `PVE1.lan` -> `pve1.lan`."""
    host = text.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host.lower()


def valid_host(host: str) -> bool:
    """A DNS name or an IPv4/IPv6 address (already normalized)."""
    if not host or len(host) > 253:
        return False
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    labels = host.rstrip(".").split(".")
    if all(label.isdigit() for label in labels):
        return False  # looks like a broken IPv4 address
    return all(_HOST_LABEL.match(label) for label in labels)


def format_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _valid_port(port: object) -> bool:
    return isinstance(port, int) and not isinstance(port, bool) and 1 <= port <= 65535


def clean_ssh_secret(secret: str | None, kind: str) -> str | None:
    """The SSH secret as it will be used: None when empty. A password is kept as typed;
    a private key loses surrounding blanks and ends with one newline."""
    if secret is None or secret.strip() == "":
        return None
    if kind == "key":
        return secret.strip().replace("\r\n", "\n") + "\n"
    return secret


def normalized(data: NodeInput) -> NodeInput:
    """The input with blanks trimmed where they can only be accidental."""
    kind = data.ssh_secret_kind.strip().lower() or "password"
    return NodeInput(
        name=data.name.strip(),
        host=normalize_host(data.host),
        port=data.port,
        token_id=data.token_id.strip(),
        token_secret=(data.token_secret or "").strip() or None,
        ssh_user=data.ssh_user.strip() or "root",
        ssh_port=data.ssh_port,
        ssh_secret=clean_ssh_secret(data.ssh_secret, kind),
        ssh_secret_kind=kind,
        tls_fingerprint=(data.tls_fingerprint or "").strip() or None,
        ssh_host_key=(data.ssh_host_key or "").strip() or None,
        clear_ssh=data.clear_ssh,
        member_host_keys={
            str(name).strip(): str(key).strip()
            for name, key in (data.member_host_keys or {}).items()
            if str(name).strip() and str(key).strip()
        },
    )


def field_errors(data: NodeInput, *, creating: bool) -> dict[str, str]:
    """Problems of a `normalized` input, by field. Empty when the form is fine."""
    errors: dict[str, str] = {}
    if not data.name or len(data.name) > NAME_MAX or not NAME_PATTERN.match(data.name):
        errors["name"] = MSG_NAME
    if not valid_host(data.host):
        errors["host"] = MSG_HOST
    if not _valid_port(data.port):
        errors["port"] = MSG_PORT
    if len(data.token_id) > TOKEN_ID_MAX or not TOKEN_ID_PATTERN.match(data.token_id):
        errors["token_id"] = MSG_TOKEN_ID
    secret = data.token_secret
    if secret is None:
        if creating:
            errors["token_secret"] = MSG_TOKEN_SECRET
    elif len(secret) > TOKEN_SECRET_MAX or any(c.isspace() or ord(c) < 32 for c in secret):
        errors["token_secret"] = MSG_TOKEN_SECRET_FORMAT
    if not SSH_USER_PATTERN.match(data.ssh_user):
        errors["ssh_user"] = MSG_SSH_USER
    if not _valid_port(data.ssh_port):
        errors["ssh_port"] = MSG_PORT
    if data.ssh_secret is not None and not data.clear_ssh:
        if data.ssh_secret_kind not in SSH_KINDS:
            errors["ssh_secret_kind"] = MSG_SSH_KIND
        elif data.ssh_secret_kind == "password":
            if len(data.ssh_secret) > SSH_PASSWORD_MAX or any(
                c in data.ssh_secret for c in "\r\n\x00"
            ):
                errors["ssh_secret"] = MSG_SSH_PASSWORD
        elif len(data.ssh_secret) > SSH_KEY_MAX or "PRIVATE KEY" not in data.ssh_secret:
            errors["ssh_secret"] = MSG_SSH_KEY
    return errors


# -- privileges --------------------------------------------------------------------------

# (ACL path, privileges): what listing, creating and operating containers needs
# (the `permissions` of the official API schema for the calls the app makes).
REQUIRED_PRIVILEGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("/", ("Sys.Audit",)),  # GET /cluster/status, node status
    ("/vms", ("VM.Audit",)),  # listing containers
    (
        "/vms",
        (
            "VM.Allocate",
            "VM.Config.Disk",
            "VM.Config.CPU",
            "VM.Config.Memory",
            "VM.Config.Network",
            "VM.Config.Options",
        ),
    ),  # creating containers
    ("/storage", ("Datastore.AllocateSpace",)),  # their root disks
    ("/vms", ("VM.PowerMgmt",)),  # start / stop / reboot
)
SDN_PRIVILEGE = ("/sdn", "SDN.Use")  # bridges are SDN objects on PVE 8: only where SDN is seen

PRIVSEP_HINT = (
    "Privilege-separated tokens need their own ACL entries "
    "(Datacenter → Permissions → API Token Permission)."
)


def missing_privileges(permissions: Permissions) -> list[str]:
    """The privileges the token lacks, by name, in a stable order (no duplicates)."""
    missing: list[str] = []
    for path, privileges in REQUIRED_PRIVILEGES:
        held = permissions.privileges_at(path)
        missing.extend(p for p in privileges if p not in held and p not in missing)
    if _mentions_sdn(permissions.paths):
        path, privilege = SDN_PRIVILEGE
        if not _sdn_use_anywhere(permissions, privilege) and not permissions.allows(
            path, privilege
        ):
            missing.append(privilege)
    return missing


def _mentions_sdn(paths: Iterable[str]) -> bool:
    return any(p == "/sdn" or p.startswith("/sdn/") for p in paths)


def _sdn_use_anywhere(permissions: Permissions, privilege: str) -> bool:
    """SDN.Use on some zone or vnet is enough (ACLs are often set on one zone only)."""
    return any(
        privilege in privs
        for path, privs in permissions.paths.items()
        if path == "/sdn" or path.startswith("/sdn/")
    )


def missing_privileges_message(missing: list[str]) -> str:
    return "The API token lacks privileges LXC Manager needs: " + ", ".join(missing)


# -- cluster key ---------------------------------------------------------------------------


def cluster_key(cluster_name: str, pve_nodes: Iterable[str], host: str, port: int) -> str:
    """DESIGN §0: a cluster is its name plus its sorted members; a standalone host is the
    endpoint itself (many standalone hosts are all named `pve`)."""
    if cluster_name:
        return f"cluster:{cluster_name}:{','.join(sorted(pve_nodes))}"
    return f"endpoint:{format_address(host, port)}"
