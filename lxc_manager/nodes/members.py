"""The other members of a node's cluster over SSH, each with its own pinned host key.

`pct` only knows the containers of the PVE node it runs on. Real PVE 8.2+ clusters no
longer share one known_hosts file (pve-cluster 8.0.6: "pvecm: stop merging SSH known hosts
by default"; each node's key is in /etc/pve/nodes/NODE/ssh_known_hosts) and node names need
not resolve, so a bare `ssh pve2 -- pct ...` from the endpoint's host fails in batch mode.
The app therefore connects to the member that holds a container directly: at the member's
`/cluster/status` address, on the node's SSH port, with the node's SSH credentials (one
set for the whole cluster), checking the member's own host key. Member keys are pinned on
first use: when the node is saved (the node check reads every member's key and the nodes
page shows them), or, for a member that joined later, at its first connection. A changed
member key is refused (`MemberKeyChanged`) until the user confirms the new key by saving
the node again.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from lxc_manager.ssh import SshError, fetch_host_key
from lxc_manager.ssh import normalize_fingerprint as normalize_ssh
from lxc_manager.ssh.target import fingerprints_equal, format_address

__all__ = [
    "MemberKey",
    "MemberKeyChanged",
    "MemberNotFound",
    "MemberUnreachable",
    "check_member_keys",
    "dump_member_keys",
    "member_changed_message",
    "parse_member_keys",
    "presented_member_key",
]

log = logging.getLogger(__name__)

MEMBER_KEY_TIMEOUT = 10.0
PINNED, NEW, CONFIRMED, CHANGED, UNREACHABLE = (
    "pinned",
    "new",
    "confirmed",
    "changed",
    "unreachable",
)


@dataclass(frozen=True)
class MemberKey:
    """One other member of the cluster. `key`: its pinned `SHA256:...` ("" = none yet).
    After a node check, `state` says what the check saw and `presented` what the member
    presents now (for a changed key: the one to confirm)."""

    name: str
    ip: str
    key: str
    state: str = PINNED
    presented: str = ""


def member_changed_message(name: str, where: str, pinned: str, presented: str) -> str:
    return (
        f"The SSH host key of PVE node {name} ({where}) changed: pinned {pinned}, the node "
        f"now presents {presented}. Confirm the new key only if {name} was reinstalled."
    )


class MemberKeyChanged(SshError):
    """A member presents another host key than the pinned one: nothing was sent to it."""

    def __init__(self, name: str, where: str, pinned: str, presented: str) -> None:
        super().__init__(
            f"SSH host key of member {name} at {where} changed: {pinned} -> {presented}"
        )
        self.user_message = (
            member_changed_message(name, where, pinned, presented)
            + " To do so, open Settings → Nodes and save this node again."
        )
        self.name, self.pinned, self.presented = name, pinned, presented


class MemberUnreachable(SshError):
    """A member's SSH could not be reached at its `/cluster/status` address."""

    def __init__(self, name: str, where: str, detail: str) -> None:
        super().__init__(f"member {name} at {where}: {detail}")
        self.user_message = f"PVE node {name} cannot be reached over SSH at {where}."


class MemberNotFound(SshError):
    """The PVE node is not a member of the endpoint's cluster (or has no address)."""

    def __init__(self, name: str, detail: str = "") -> None:
        super().__init__(detail or f"{name} is not a member of the cluster")
        self.user_message = f"PVE node {name} is not a member of this node's cluster."


def parse_member_keys(text: str | None) -> dict[str, MemberKey]:
    """The stored JSON `{"pve2": {"ip": ..., "key": ...}}`; anything unreadable is skipped."""
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    if not isinstance(value, dict):
        return {}
    found: dict[str, MemberKey] = {}
    for name, entry in value.items():
        if isinstance(entry, dict) and isinstance(entry.get("key"), str) and entry["key"]:
            found[str(name)] = MemberKey(str(name), str(entry.get("ip") or ""), entry["key"])
    return found


def dump_member_keys(members: Iterable[MemberKey]) -> str:
    """What is stored: the members with a key, by name."""
    return json.dumps(
        {
            m.name: {"ip": m.ip, "key": m.key}
            for m in sorted(members, key=lambda m: m.name)
            if m.key
        },
        sort_keys=True,
    )


def _same(left: str, right: str) -> bool:
    try:
        return fingerprints_equal(normalize_ssh(left), normalize_ssh(right))
    except ValueError:
        return False


async def presented_member_key(name: str, ip: str, port: int) -> str:
    """The member's host key fingerprint (key exchange only, nothing else is sent)."""
    where = format_address(ip, port)
    try:
        return await fetch_host_key(ip, port, timeout=MEMBER_KEY_TIMEOUT)
    except SshError as exc:
        log.info("member %s at %s: %s", name, where, exc)
        raise MemberUnreachable(name, where, exc.detail) from None


async def _check_one(
    name: str,
    ip: str,
    online: bool,
    port: int,
    pinned: MemberKey | None,
    confirmed: str | None,
) -> MemberKey:
    old = pinned.key if pinned is not None else ""
    if not online or not ip:
        return MemberKey(name, ip, old, UNREACHABLE)
    try:
        presented = await presented_member_key(name, ip, port)
    except MemberUnreachable:
        return MemberKey(name, ip, old, UNREACHABLE)
    if old and _same(old, presented):
        return MemberKey(name, ip, presented, PINNED, presented)
    if confirmed is not None and _same(confirmed, presented):
        return MemberKey(name, ip, presented, CONFIRMED, presented)
    if old:
        return MemberKey(name, ip, old, CHANGED, presented)
    return MemberKey(name, ip, presented, NEW, presented)  # pinned on first use


async def check_member_keys(
    members: Iterable[tuple[str, str, bool]],
    port: int,
    pinned: Mapping[str, MemberKey],
    confirmed: Mapping[str, str],
) -> tuple[MemberKey, ...]:
    """Read every member's host key concurrently (`members`: (name, ip, online)).

    A key seen for the first time is pinned on first use (state `new`); a pinned key that
    the member no longer presents is `changed` unless the user confirmed the presented one
    (`confirmed`: name -> fingerprint); an offline or unreachable member keeps its old pin."""
    checks = [
        _check_one(name, ip, online, port, pinned.get(name), confirmed.get(name))
        for name, ip, online in members
    ]
    return tuple(await asyncio.gather(*checks))
