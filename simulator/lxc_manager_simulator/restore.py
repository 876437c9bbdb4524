"""Restore from a vzdump archive (`POST /nodes/{node}/lxc` with `restore=1`) and clone
(`POST /nodes/{node}/lxc/{vmid}/clone`).

Proxmox sources followed: pve-container `src/PVE/API2/LXC.pm`
- `create_vm` with `restore`: unless the CT exists on this node and `force` is set the VMID
  must be unused (pve-cluster `check_vmid_unused`: "CT N already exists on node 'X'"); over
  an existing CT: "can't overwrite running container", `check_protection` ("unable to
  restore CT N - protection mode enabled"); `VM.Allocate` on `/vms/N`, or for a forced
  restore over an existing CT `VM.Backup` is enough, else `raise_perm_exc()` ("Permission
  check failed"); the archive needs `check_volume_access` (pve-storage `src/PVE/Storage.pm`:
  `Datastore.AllocateSpace` on the storage and `VM.Backup` on the owner, or
  `Datastore.Allocate`); `storage` defaults to `local` and must hold `rootdir` ("storage 'X'
  does not support container directories" for `storage`), `Datastore.AllocateSpace` on it;
  `create_and_lock_config` (pve-guest-common `src/PVE/AbstractConfig.pm`: `check_lock`,
  "unable to restore CT N - CT is locked (LOCK)"); the worker `vzrestore` recovers the
  archived configuration ("recovering backed-up configuration from 'VOLID'") and merges
  the given options over it; the disk size comes from the archived `rootfs`.
- `clone_vm`: `VM.Clone` on `/vms/{vmid}` and `VM.Allocate` on `/vms/{newid}`; `target` must
  be a cluster node ("no such cluster node 'X'"); a `storage` with `target` must be shared
  ("can't clone to non-shared storage 'X'"); the source gets lock `disk` (`set_lock`:
  "CT is locked (LOCK)"), the new VMID a `create` lock (`check_vmid_unused`); `full`
  defaults to "not a template"; "parameter 'storage' not allowed for linked clones";
  "snapshot 'X' does not exist"; `Datastore.AllocateSpace` on the target storage; "Full
  clone of a running container is only possible from a snapshot"; "Linked clone feature
  for 'VOLID' is not available" (pve-storage `volume_has_feature`: here only lvmthin volumes
  that are a template's base volume or a snapshot clone); "can't clone CT to node 'X' (CT
  uses local storage)"; new MAC addresses; worker `vzclone` with "creating a clone of
  container N with ID M".
"""

from __future__ import annotations

import re
from typing import Any

from . import auth, backups
from .lxc_params import CT
from .model import PveError, disk_size_bytes, param_error
from .params import OPT_BOOL, VMID, opt_str
from .router import Ctx, route
from .seed import mac_address

GIB = 1024**3


def restore_container(ctx: Ctx) -> str:
    from .endpoints_lxc import _check_vmid_unused, _config_params, _config_value, _rootfs

    cluster, params, user, node = ctx.cluster, ctx.params, ctx.user, ctx.node
    vmid = int(params["vmid"])
    existing = cluster.find_container(vmid)
    same_exists = existing is not None and existing.node == node
    force = bool(params.get("force"))
    if not (same_exists and force):
        _check_vmid_unused(cluster, vmid)
    else:
        assert existing is not None
        if existing.status == "running":
            raise PveError(500, "can't overwrite running container")
        if existing.config.get("protection"):
            raise PveError(500, f"unable to restore CT {vmid} - protection mode enabled")
    if params.get("pool"):
        raise PveError(500, f"pool '{params['pool']}' does not exist")
    if not auth.has_privilege(cluster, user, f"/vms/{vmid}", ("VM.Allocate",)) and not (
        same_exists and force and auth.has_privilege(cluster, user, f"/vms/{vmid}", ("VM.Backup",))
    ):
        raise PveError(403, "Permission check failed")
    volid = str(params["ostemplate"])
    sid = volid.split(":", 1)[0]
    if backups.storage_of(cluster, sid) is None:
        raise PveError(500, f"storage '{sid}' does not exist")
    archive = backups.find_backup(cluster, volid, node)
    if archive is None:
        raise PveError(500, f"volume '{volid}' does not exist")
    if not auth.has_privilege(cluster, user, f"/storage/{sid}", ("Datastore.Allocate",)):
        auth.require(cluster, user, f"/storage/{sid}", "Datastore.AllocateSpace")
        auth.require(cluster, user, f"/vms/{archive.vmid}", "VM.Backup")
    if params.get("rootfs"):
        storage_id, rootfs = _rootfs(cluster, params, vmid)
    else:
        storage_id = str(params.get("storage") or "local")
        storage = backups.storage_of(cluster, storage_id)
        if storage is None:
            raise PveError(500, f"storage '{storage_id}' does not exist")
        if "rootdir" not in storage.content:
            raise param_error(
                {"storage": f"storage '{storage_id}' does not support container directories"}
            )
        size = disk_size_bytes(str(archive.config.get("rootfs", ""))) or 8 * GIB
        rootfs = f"{storage_id}:vm-{vmid}-disk-0,size={max(1, size // GIB)}G"
    auth.require(cluster, user, f"/storage/{storage_id}", "Datastore.AllocateSpace")
    if existing is not None and same_exists and existing.lock:
        raise PveError(500, f"unable to restore CT {vmid} - CT is locked ({existing.lock})")

    config: dict[str, object] = dict(archive.config)
    template = bool(config.pop("template", None))
    for name, value in _config_params(params).items():
        config[name] = _config_value(cluster, name, value)
    if "unprivileged" in params:
        config.pop("unprivileged", None)
        if params["unprivileged"]:
            config["unprivileged"] = 1
    if params.get("unique"):
        for key, value in list(config.items()):
            if re.fullmatch(r"net\d+", key):
                config[key] = re.sub(
                    r"hwaddr=[0-9A-Fa-f:]+", "hwaddr=" + mac_address(cluster.rng), str(value)
                )
    config["rootfs"] = rootfs
    config["lock"] = "create"
    old = existing if same_exists else None
    if old is not None:
        cluster.remove_container(old)
    ct = cluster.add_container(
        vmid=vmid,
        node=node,
        config=config,
        ostemplate=archive.ostemplate or "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
        created_at=cluster.clock.now() if old is None else 0.0,
    )
    start = bool(params.get("start"))

    def finish() -> None:
        changes: dict[str, object] = {"template": 1} if template else {}
        cluster.update_config(ct, changes, ["lock"])
        if start and not template:
            cluster.start_container(ct)

    def failed() -> None:
        if old is None:
            cluster.remove_container(ct)
        else:
            cluster.update_config(ct, {}, ["lock"])

    size_mib = ct.maxdisk // 1024**2
    path = f"{'/var/lib/vz/dump' if sid == 'local' else f'/mnt/pve/{sid}/dump'}"
    log = [
        f"recovering backed-up configuration from '{volid}'",
        f'  Logical volume "vm-{vmid}-disk-0" created.',
        f"Creating filesystem with {size_mib * 256} 4k blocks and {size_mib * 64} inodes",
        f"restoring '{volid}' now..",
        f"extracting archive '{path}/{archive.filename}'",
        f"Total bytes read: {archive.size * 3} ({archive.size * 3 // 1024**2}MiB, 210MiB/s)",
        "Detected container architecture: amd64",
        "merging backed-up and given configuration..",
    ]
    task = cluster.start_task(
        node=node,
        task_type="vzrestore",
        task_id=str(vmid),
        user=user.authid,
        action=finish,
        on_error=failed,
        log=log,
        seconds=cluster.task_seconds * 2,
    )
    return task.upid


CLONE_PARAMS = {
    **CT,
    "newid": VMID,
    "hostname": opt_str(fmt="dns-name"),
    "description": opt_str(),
    "full": OPT_BOOL,
    "snapname": opt_str(max_length=40, fmt="pve-configid"),
    "storage": opt_str(fmt="pve-storage-id"),
    "target": opt_str(fmt="pve-node"),
    "pool": opt_str(fmt="pve-poolid"),
}


@route("POST", "/nodes/{node}/lxc/{vmid}/clone", CLONE_PARAMS, proxied=True)
async def clone_container(ctx: Ctx) -> Any:
    from .endpoints_lxc import _check_unlocked, _check_vmid_unused, _normalise_net

    cluster, params, user, node = ctx.cluster, ctx.params, ctx.user, ctx.node
    vmid, newid = int(params["vmid"]), int(params["newid"])
    auth.require(cluster, user, f"/vms/{vmid}", "VM.Clone")
    auth.require(cluster, user, f"/vms/{newid}", "VM.Allocate")
    src = ctx.container()
    if params.get("pool"):
        raise PveError(500, f"pool '{params['pool']}' does not exist")
    target = params.get("target")
    if target in (node, "localhost"):
        target = None
    if target and target not in cluster.nodes:
        raise PveError(500, f"no such cluster node '{target}'")
    storage_param = params.get("storage")
    if storage_param:
        storage = backups.storage_of(cluster, str(storage_param))
        if storage is None:
            raise PveError(500, f"storage '{storage_param}' does not exist")
        if target and not storage.shared:
            raise PveError(500, f"can't clone to non-shared storage '{storage_param}'")
    _check_unlocked(src)  # set_lock($vmid, 'disk')
    _check_vmid_unused(cluster, newid)  # create_and_lock_config($newid, 0)
    is_template = bool(src.config.get("template"))
    full = params.get("full")
    full = (not is_template) if full is None else bool(full)
    if storage_param and not full:
        raise PveError(500, "parameter 'storage' not allowed for linked clones")
    snapname = params.get("snapname")
    snapshot = next((s for s in src.snapshots if s.name == snapname), None) if snapname else None
    if snapname and snapshot is None:
        raise PveError(500, f"snapshot '{snapname}' does not exist")
    source_config = dict(snapshot.config if snapshot is not None else src.config)
    volid = str(source_config.get("rootfs", "")).split(",")[0]
    source_sid = volid.split(":", 1)[0]
    sid = str(storage_param) if storage_param else source_sid
    target_storage = backups.storage_of(cluster, sid)
    auth.require(cluster, user, f"/storage/{sid}", "Datastore.AllocateSpace")
    running = src.status == "running"
    if full:
        if running and not snapname:
            raise PveError(
                500, "Full clone of a running container is only possible from a snapshot"
            )
    else:
        source_storage = backups.storage_of(cluster, source_sid)
        base = f":base-{vmid}-" in volid
        if source_storage is None or source_storage.type != "lvmthin" or not (base or snapname):
            raise PveError(500, f"Linked clone feature for '{volid}' is not available")
    if target and not (target_storage is not None and target_storage.shared):
        raise PveError(500, f"can't clone CT to node '{target}' (CT uses local storage)")

    size = disk_size_bytes(str(source_config.get("rootfs", "")))
    new_volume = (
        f"{sid}:vm-{newid}-disk-0" if full else f"{sid}:base-{vmid}-disk-0/vm-{newid}-disk-0"
    )
    config = {
        k: v
        for k, v in source_config.items()
        if k not in ("digest", "lock", "parent", "template", "snaptime", "snapstate")
    }
    config["rootfs"] = f"{new_volume},size={max(1, size // GIB)}G"
    for key, value in list(config.items()):
        if re.fullmatch(r"net\d+", key):  # clone_vm: a new random MAC for every interface
            text = re.sub(r",?hwaddr=[0-9A-Fa-f:]+", "", str(value))
            config[key] = _normalise_net(cluster, text)
    if params.get("hostname"):
        config["hostname"] = params["hostname"]
    if params.get("description"):
        config["description"] = params["description"]
    config["lock"] = "create"
    cluster.update_config(src, {"lock": "disk"}, [])
    clone = cluster.add_container(
        vmid=newid,
        node=node,
        config=config,
        ostemplate=src.ostemplate,
        created_at=cluster.clock.now(),
    )

    def release_source() -> None:
        if cluster.find_container(vmid) is src and src.lock == "disk":
            cluster.update_config(src, {}, ["lock"])

    def finish() -> None:
        release_source()
        cluster.update_config(clone, {}, ["lock"])
        if target:
            clone.node = str(target)
            cluster.changed()

    def failed() -> None:
        release_source()
        cluster.remove_container(clone)

    kind = "full clone of mountpoint" if full else "linked clone of mount point"
    log = [
        f"creating a clone of container {vmid} with ID {newid}",
        f"create {kind} rootfs ({volid})",
    ]
    if full:
        log += [
            f'  Logical volume "vm-{newid}-disk-0" created.',
            f"Creating filesystem with {size // 4096} 4k blocks and {size // 16384} inodes",
            f"Number of files: {8000 + vmid * 7 % 20000} (reg: {6000 + vmid % 9000}, dir: 1466)",
            f"Total file size: {size // 6} bytes",
        ]
    else:
        log.append(f'  Logical volume "vm-{newid}-disk-0" created.')
    task = cluster.start_task(
        node=node,
        task_type="vzclone",
        task_id=str(vmid),
        user=user.authid,
        action=finish,
        on_error=failed,
        log=log,
        seconds=cluster.task_seconds * (2 if full else 1),
    )
    return task.upid
