"""Who may set which container option: `check_ct_modify_config_perm` and
`check_bridge_access` of pve-container src/PVE/LXC.pm, `check_vnet_access` of
pve-guest-common src/PVE/GuestHelpers.pm.

Only the user `root@pam` itself skips these checks; an API token of root@pam is another
auth id and is checked like anyone else. Root-only refusals are 403 with
`raise_perm_exc`'s text (pve-common src/PVE/Exception.pm):
`Permission check failed (changing feature flags for privileged container is only allowed
for root@pam)`.
"""

from __future__ import annotations

import re

from . import auth
from .model import Cluster, PveError
from .params import parse_property_string

ROOT_ONLY = "is only allowed for root@pam"
# a new volume on a storage (`STORAGE:SIZE`), as `$NEW_DISK_RE` in PVE::LXC
_NEW_DISK = re.compile(r"^(?:([^:\s]+):)?(\d+(?:\.\d+)?)$")


def _refuse(what: str) -> PveError:
    return PveError(403, f"Permission check failed ({what})")


def parse_features(text: object) -> dict[str, str]:
    """`nesting=1,keyctl=1` -> {"nesting": "1", "keyctl": "1"} (keys as written)."""
    result: dict[str, str] = {}
    for item in str(text or "").split(","):
        key, _, value = item.strip().partition("=")
        if key:
            result[key] = value
    return result


def _features_changed(old: object, new: object, delete: bool) -> tuple[bool, bool]:
    """-> (nesting changed, another flag changed), as PVE::LXC computes them."""
    features = parse_features(old if delete else new)
    if delete or not old:
        only_nesting = set(features) == {"nesting"}
        return only_nesting, bool(features) and not only_nesting
    before = parse_features(old)
    changed = {k for k in {*before, *features} if before.get(k, "") != features.get(k, "")}
    return "nesting" in changed, bool(changed - {"nesting"})


def _check_features(
    cluster: Cluster,
    identity: auth.Identity,
    vmid: int,
    old: object,
    new: object,
    delete: bool,
    unprivileged: bool,
) -> None:
    if not unprivileged:
        raise _refuse(f"changing feature flags for privileged container {ROOT_ONLY}")
    nesting, other = _features_changed(old, new, delete)
    if other:
        raise _refuse(f"changing feature flags (except nesting) {ROOT_ONLY}")
    if nesting:
        auth.require(cluster, identity, f"/vms/{vmid}", "VM.Allocate")


def check_bridge_access(cluster: Cluster, identity: auth.Identity, net: object) -> None:
    """SDN.Use on the bridge (or vnet) a `net[n]` value names, per VLAN tag when tagged."""
    if auth.is_root(identity) or not net:
        return
    parsed = parse_property_string(str(net), None)
    if not isinstance(parsed, dict) or not parsed.get("bridge"):
        return
    bridge = str(parsed["bridge"])
    vnet = cluster.vnets.get(bridge)
    base = f"/sdn/zones/{vnet.zone if vnet else 'localnetwork'}/{bridge}"
    tags = [str(parsed["tag"])] if parsed.get("tag") else []
    tags += [t for t in re.split(r"[;,\s]+", str(parsed.get("trunks") or "")) if t]
    for tag in tags:
        auth.require(cluster, identity, f"{base}/{tag}", "SDN.Use")
    if not tags:
        auth.require(cluster, identity, base, "SDN.Use")


def _check_volume(
    cluster: Cluster, identity: auth.Identity, vmid: int, name: str, value: object
) -> None:
    auth.require(cluster, identity, f"/vms/{vmid}", "VM.Config.Disk")
    parsed = parse_property_string(str(value), "volume")
    volume = str(parsed.get("volume", "")) if isinstance(parsed, dict) else ""
    if volume.startswith("/"):
        kind = "device" if volume.startswith("/dev/") else "bind"
        raise _refuse(f"mount point type {kind} {ROOT_ONLY}")
    new_disk = _NEW_DISK.match(volume)
    if new_disk and new_disk.group(1):
        auth.require(cluster, identity, f"/storage/{new_disk.group(1)}", "Datastore.AllocateSpace")


def check_modify_config_perm(
    cluster: Cluster,
    identity: auth.Identity,
    vmid: int,
    old: dict[str, object],
    changes: dict[str, object],
    delete: list[str],
    unprivileged: bool,
) -> None:
    """Raise PveError 403 for the first option the caller may not set or delete."""
    if auth.is_root(identity):
        return
    for name, value in changes.items():
        _check_option(cluster, identity, vmid, name, old, value, False, unprivileged)
    for name in delete:
        _check_option(cluster, identity, vmid, name, old, None, True, unprivileged)


def _check_option(
    cluster: Cluster,
    identity: auth.Identity,
    vmid: int,
    name: str,
    old: dict[str, object],
    value: object,
    delete: bool,
    unprivileged: bool,
) -> None:
    path = f"/vms/{vmid}"
    if name in ("cores", "cpuunits", "cpulimit"):
        auth.require(cluster, identity, path, "VM.Config.CPU")
    elif name == "rootfs" or re.fullmatch(r"mp\d+", name):
        if delete:
            auth.require(cluster, identity, path, "VM.Config.Disk")
        else:
            _check_volume(cluster, identity, vmid, name, value)
    elif name in ("memory", "swap"):
        auth.require(cluster, identity, path, "VM.Config.Memory")
    elif re.fullmatch(r"net\d+", name):
        auth.require(cluster, identity, path, "VM.Config.Network")
        check_bridge_access(cluster, identity, old.get(name))
        check_bridge_access(cluster, identity, value)
    elif re.fullmatch(r"dev\d+", name):
        raise _refuse(f"configuring device passthrough {ROOT_ONLY}")
    elif name in ("nameserver", "searchdomain", "hostname"):
        auth.require(cluster, identity, path, "VM.Config.Network")
    elif name == "features":
        _check_features(cluster, identity, vmid, old.get(name), value, delete, unprivileged)
    elif name == "hookscript":
        raise _refuse(f"changing the hookscript {ROOT_ONLY}")
    else:
        auth.require(cluster, identity, path, "VM.Config.Options")
