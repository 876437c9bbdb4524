"""Backups: `POST /nodes/{node}/vzdump`, backup volumes on storages, backup jobs.

Proxmox sources followed (paths as in their trees):

- vzdump: pve-manager `PVE/API2/VZDump.pm` (`vzdump`: `Datastore.AllocateSpace` on the
  storage before the worker; guests on other nodes skipped, "OK" when none is local;
  `fork_worker('vzdump', <vmid when exactly one>)`), `PVE/VZDump.pm`
  (`verify_vzdump_parameters`, `$verify_notes_template`/`$generate_notes`, `exec_backup`:
  `VM.Backup` on `/vms/N` checked in the worker, silently skipped with `all`;
  `exec_backup_task`: the log lines, `lock_vm`, stop/suspend/snapshot modes, "archive file
  size", "adding notes to backup", "marking backup as protected", "Backup job finished
  successfully" / "job errors"; `format_size`; `storage_info`: "can't use storage 'X' for
  backups - wrong content type"), pve-container `src/PVE/VZDump/LXC.pm` (`CT Name:`,
  "including mount point rootfs ('/') in backup", "create storage snapshot 'vzdump'",
  "cleanup temporary 'vzdump' snapshot"; `lock_vm` = `set_lock(backup)`, which refuses an
  already locked CT with `CT is locked (LOCK)`).
- Backup volumes: pve-storage `src/PVE/API2/Storage/Content.pm` (`info`, `updateattributes`:
  `notes`/`protected`; `delete`: `Datastore.AllocateSpace` on the storage and `VM.Backup` on
  the owner, an `imgdel` worker whose id is `VMID@STORAGE`), `src/PVE/Storage/Plugin.pm`
  (`free_image`: "cannot remove protected volume 'backup/FILE' on 'STORAGE'").
- Jobs: pve-manager `PVE/API2/Backup.pm` (`index`, `read_job`: `Sys.Audit` on `/`,
  "No such job 'ID'"), `PVE/API2/Cluster/BackupInfo.pm` (`not-backed-up`).
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

from . import auth, backups
from .backups import BackupVolume
from .model import Cluster, Container, PveError, param_error
from .params import NODE, OPT_BOOL, Param, opt_int, opt_str, req
from .router import Ctx, route

VZDUMP_PARAMS: dict[str, Param] = {
    "node": opt_str(fmt="pve-node"),  # optional in the schema (the CLI may leave it out)
    "vmid": opt_str(fmt="pve-vmid-list"),
    "all": OPT_BOOL,
    "exclude": opt_str(fmt="pve-vmid-list"),
    "pool": opt_str(),
    "storage": opt_str(fmt="pve-storage-id"),
    "mode": opt_str(enum=("snapshot", "suspend", "stop")),
    "compress": opt_str(enum=("0", "1", "gzip", "lzo", "zstd")),
    "notes-template": Param("string", max_length=1024, requires="storage"),
    "protected": Param("boolean", requires="storage"),
    "remove": OPT_BOOL,
    "quiet": OPT_BOOL,
    "zstd": opt_int(),
    "lockwait": opt_int(minimum=0),
    "stopwait": opt_int(minimum=0),
    "mailnotification": opt_str(enum=("always", "failure")),
}
NOTES_VARIABLES = ("cluster", "guestname", "node", "vmid")


def _verify_notes_template(template: str) -> None:
    problems = []
    if "\n" in template:
        raise param_error({"notes-template": "contains a line feed"})
    for match in re.finditer(r"\\(.)", template):
        if match.group(1) not in ("n", "\\"):
            problems.append(f"escape sequence '\\{match.group(1)}' at char {match.start()}")
    for match in re.finditer(r"\{\{([^\s{}]+)\}\}", template):
        if match.group(1) not in NOTES_VARIABLES:
            problems.append(f"variable '{match.group(1)}' at char {match.start(1)}")
    if problems:
        raise param_error({"notes-template": "found unknown: " + ", ".join(problems)})


def _notes(template: str, cluster: Cluster, node: str, vmid: int, name: str) -> str:
    values = {
        "cluster": cluster.name if not cluster.standalone else "standalone node",
        "guestname": name,
        "node": node,
        "vmid": str(vmid),
    }
    text = re.sub(r"\{\{([^\s{}]+)\}\}", lambda m: values.get(m.group(1), m.group(0)), template)
    return text.replace("\\n", "\n").replace("\\\\", "\\")


def format_size(size: int) -> str:
    """pve-manager PVE/VZDump.pm format_size."""
    kb = size / 1024
    if kb < 1024:
        return f"{int(kb)}KB"
    mb = size / (1024 * 1024)
    if mb < 1024:
        return f"{int(mb)}MB"
    gb = mb / 1024
    return f"{gb:.2f}GB" if gb < 1024 else f"{gb / 1024:.2f}TB"


def _dump_dir(storage: str) -> str:
    return "/var/lib/vz/dump" if storage == "local" else f"/mnt/pve/{storage}/dump"


def _cmdline(params: dict[str, Any], node: str) -> str:
    parts = ["vzdump"]
    if params.get("vmid"):
        parts += str(params["vmid"]).replace(",", " ").split()
    for key in sorted(params):
        if key in ("vmid", "node"):
            continue
        value = params[key]
        if isinstance(value, bool):
            value = int(value)
        text = str(value)
        parts += [f"--{key}", f"'{text}'" if re.search(r"[^\w.,:/-]", text) else text]
    parts += ["--node", node]
    return " ".join(parts)


def _stamp(when: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(when))


@route("POST", "/nodes/{node}/vzdump", VZDUMP_PARAMS, proxied=True)
async def vzdump(ctx: Ctx) -> Any:
    cluster, params, user, node = ctx.cluster, ctx.params, ctx.user, ctx.node
    if params.get("all") and params.get("vmid"):
        raise param_error({"all": "option conflicts with option 'vmid'"})
    if params.get("exclude") and params.get("vmid"):
        raise param_error({"exclude": "option conflicts with option 'vmid'"})
    if params.get("pool") and params.get("vmid"):
        raise param_error({"pool": "option conflicts with option 'vmid'"})
    if params.get("notes-template"):
        _verify_notes_template(str(params["notes-template"]))
    if params.get("exclude") and not params.get("pool"):
        params["all"] = True
    if not (params.get("all") or params.get("pool") or params.get("vmid")):
        raise param_error({"vmid": "property is missing"})
    if params.get("pool"):
        raise PveError(500, f"pool '{params['pool']}' does not exist")
    if params.get("all"):
        excluded = set(backups.split_vmids(str(params.get("exclude") or "")))
        wanted = sorted(v for v in cluster.taken_vmids() if v not in excluded)
    else:
        wanted = sorted(set(backups.split_vmids(str(params["vmid"]))))
    local = [v for v in wanted if cluster.guest_node(v) in (node, None)]
    if not local and not params.get("all"):
        return "OK"  # PVE/API2/VZDump.pm: silent exit, the guests run on other nodes
    storage_id = str(params.get("storage") or "local")
    auth.require(cluster, user, f"/storage/{storage_id}", "Datastore.AllocateSpace")
    job = _Job(ctx, storage_id, local, sorted(v for v in wanted if v not in local))
    return job.start()


class _Job:
    """One vzdump worker: its guests are locked at once and archived when the task ends."""

    def __init__(self, ctx: Ctx, storage_id: str, vmids: list[int], skipped: list[int]) -> None:
        self.cluster, self.ctx, self.params = ctx.cluster, ctx, ctx.params
        self.node, self.storage_id, self.vmids, self.skipped = ctx.node, storage_id, vmids, skipped
        self.mode = str(self.params.get("mode") or "snapshot")
        self.compress = str(self.params.get("compress") or "0")
        self.log: list[str] = []
        self.guests: list[tuple[Container, str, bool]] = []  # (ct, archive name, was running)
        self.errors: list[str] = []
        self.started = self.cluster.clock.now()

    def info(self, text: str) -> None:
        self.log.append(f"INFO: {text}")

    def start(self) -> str:
        cluster, user = self.cluster, self.ctx.user
        self.info(f"starting new backup job: {_cmdline(self.params, self.node)}")
        if self.skipped:
            self.info(f"skip external VMs: {', '.join(str(v) for v in self.skipped)}")
        fatal: str | None = None
        storage = backups.storage_of(cluster, self.storage_id)
        if storage is None:
            fatal = f"storage '{self.storage_id}' does not exist"
        elif "backup" not in storage.content:
            fatal = (
                f"could not get storage information for '{self.storage_id}': can't use storage "
                f"'{self.storage_id}' for backups - wrong content type"
            )
        tasklist = []
        for vmid in self.vmids:
            if fatal:
                break
            if cluster.guest_node(vmid) is not None and not auth.has_privilege(
                cluster, user, f"/vms/{vmid}", ("VM.Backup",)
            ):
                if self.params.get("all"):
                    continue  # exec_backup: check(..., noerr = $opts->{all})
                fatal = f"Permission check failed (/vms/{vmid}, VM.Backup)"
                break
            tasklist.append(vmid)
        if fatal is None:
            for vmid in tasklist:
                self._begin(vmid)
        seconds = 0.0 if fatal else cluster.task_seconds * 3 * max(1, len(self.guests))
        task = cluster.start_task(
            node=self.node,
            task_type="vzdump",
            task_id=str(self.vmids[0]) if len(self.vmids) == 1 else "",
            user=user.authid,
            action=(lambda: self._fail(fatal)) if fatal else self._finish,
            on_error=self._release,
            log=self.log,
            seconds=seconds,
        )
        self.log = task.log  # what the worker prints from now on goes to the task
        return task.upid

    def _fail(self, message: str) -> None:
        raise PveError(500, message)

    def _begin(self, vmid: int) -> None:
        cluster = self.cluster
        ct = cluster.find_container(vmid)
        self.info(f"Starting Backup of VM {vmid} ({'qemu' if vmid in cluster.vms else 'lxc'})")
        self.info(f"Backup started at {_stamp(self.started)}")
        if ct is None:
            message = f"unable to find VM '{vmid}'"
            if vmid in cluster.vms:
                message = "backups of VMs are not simulated"
            self.log.append(f"ERROR: Backup of VM {vmid} failed - {message}")
            self.errors.append(message)
            return
        running = ct.status == "running"
        self.info(f"status = {ct.status}")
        if ct.lock:  # lock_vm: set_lock('backup') -> check_lock
            message = f"CT is locked ({ct.lock})"
            self.log.append(f"ERROR: Backup of VM {vmid} failed - {message}")
            self.errors.append(message)
            return
        cluster.update_config(ct, {"lock": "backup"}, [])
        self.info(f"CT Name: {ct.name}")
        self.info("including mount point rootfs ('/') in backup")
        self.info(f"backup mode: {self.mode}")
        self.info("ionice priority: 7")
        if self.mode == "stop" and running:
            self.info("stopping virtual guest")
            cluster.stop_container(ct)
        elif self.mode == "suspend":
            self.info(f"starting first sync /proc/{1000 + vmid}/root/ to /var/tmp/vzdumptmp{vmid}")
            self.info("suspending guest")
            self.info("resuming guest")
            self.info("guest is online again after 2 seconds")
        elif self.mode == "snapshot":
            self.info("create storage snapshot 'vzdump'")
            self.log.append(f'  Logical volume "snap_vm-{vmid}-disk-0_vzdump" created.')
        name = backups.archive_name("lxc", vmid, self.started, self.compress)
        self.info(f"creating vzdump archive '{_dump_dir(self.storage_id)}/{name}'")
        self.guests.append((ct, name, running))

    def _finish(self) -> None:
        cluster = self.cluster
        storage = backups.storage_of(cluster, self.storage_id)
        shared = storage is not None and storage.shared
        template = str(self.params.get("notes-template") or "")
        for ct, name, was_running in self.guests:
            size = backups.archive_size(ct.vmid, ct.maxdisk, int(self.started))
            self.info(f"Total bytes written: {size * 3} ({format_size(size * 3)}, 180MiB/s)")
            self.info(f"archive file size: {format_size(size)}")
            volume = BackupVolume(
                storage=self.storage_id,
                filename=name,
                vmid=ct.vmid,
                subtype="lxc",
                ctime=int(self.started),
                size=size,
                node="" if shared else self.node,
                config=backups.snapshot_config(ct),
                ostemplate=ct.ostemplate,
            )
            if template:
                self.info("adding notes to backup")
                volume.notes = _notes(template, cluster, self.node, ct.vmid, ct.name)
            if self.params.get("protected"):
                self.info("marking backup as protected")
                volume.protected = True
            if self.mode == "snapshot":
                self.info("cleanup temporary 'vzdump' snapshot")
                self.log.append(
                    f'  Logical volume "snap_vm-{ct.vmid}-disk-0_vzdump" successfully removed.'
                )
            if self.mode == "stop" and was_running:
                self.info("restarting vm")
            self._release_one(ct, was_running)
            cluster.backups.append(volume)
            elapsed = int(cluster.clock.now() - self.started)
            self.info(
                f"Finished Backup of VM {ct.vmid} ({time.strftime('%H:%M:%S', time.gmtime(elapsed))})"
            )
            self.info(f"Backup finished at {_stamp(cluster.clock.now())}")
            volume.log = list(self.log)
        self.guests = []
        cluster.changed()
        if self.errors:
            self.info("Backup job finished with errors")
            raise PveError(500, "job errors")
        self.info("Backup job finished successfully")

    def _release_one(self, ct: Container, was_running: bool) -> None:
        cluster = self.cluster
        if cluster.find_container(ct.vmid) is not ct:
            return
        if ct.lock == "backup":
            cluster.update_config(ct, {}, ["lock"])
        if self.mode == "stop" and was_running and ct.status != "running":
            cluster.start_container(ct)

    def _release(self) -> None:
        for ct, _, was_running in self.guests:
            self._release_one(ct, was_running)
        self.guests = []


# -- backup volumes ------------------------------------------------------------------------
VOLUME_PARAMS: dict[str, Param] = {
    "node": NODE,
    "storage": opt_str(fmt="pve-storage-id"),
    "volume": req(opt_str()),
}


def _volume(ctx: Ctx) -> BackupVolume:
    """Content.pm real_volume_id: `volume` is a volid, or a name on `storage`."""
    volume, storage = str(ctx.params["volume"]), ctx.params.get("storage")
    if ":" in volume:
        sid = volume.split(":", 1)[0]
        if storage and sid != storage:
            raise PveError(500, f"storage ID mismatch ({sid} != {storage})")
        volid = volume
    elif storage:
        volid = f"{storage}:{volume}"
    else:
        raise param_error({"volume": "no storage specified - incomplete volume ID"})
    sid = volid.split(":", 1)[0]
    if backups.storage_of(ctx.cluster, sid) is None:
        raise PveError(500, f"storage '{sid}' does not exist")
    found = backups.find_backup(ctx.cluster, volid, ctx.node)
    if found is None:
        raise PveError(500, f"volume '{volid}' does not exist")
    return found


def _check_volume_access(ctx: Ctx, backup: BackupVolume) -> None:
    """pve-storage src/PVE/Storage.pm check_volume_access for a backup volume."""
    cluster, user = ctx.cluster, ctx.user
    if auth.has_privilege(cluster, user, f"/storage/{backup.storage}", ("Datastore.Allocate",)):
        return
    auth.require(cluster, user, f"/storage/{backup.storage}", "Datastore.AllocateSpace")
    auth.require(cluster, user, f"/vms/{backup.vmid}", "VM.Backup")


@route("GET", "/nodes/{node}/storage/{storage}/content/{volume}", VOLUME_PARAMS, proxied=True)
async def volume_info(ctx: Ctx) -> Any:
    backup = _volume(ctx)
    _check_volume_access(ctx, backup)
    return {
        "path": f"{_dump_dir(backup.storage)}/{backup.filename}",
        "format": backup.format,
        "size": backup.size,
        "used": backup.size,
        "notes": backup.notes,
        "protected": int(backup.protected),
    }


@route(
    "PUT",
    "/nodes/{node}/storage/{storage}/content/{volume}",
    {**VOLUME_PARAMS, "notes": opt_str(), "protected": OPT_BOOL},
    proxied=True,
)
async def volume_update(ctx: Ctx) -> Any:
    backup = _volume(ctx)
    _check_volume_access(ctx, backup)
    if "notes" in ctx.params:
        backup.notes = str(ctx.params["notes"])
    if "protected" in ctx.params:
        backup.protected = bool(ctx.params["protected"])
    ctx.cluster.changed()
    return None


@route(
    "DELETE",
    "/nodes/{node}/storage/{storage}/content/{volume}",
    {**VOLUME_PARAMS, "delay": opt_int(minimum=1, maximum=30)},
    proxied=True,
)
async def volume_delete(ctx: Ctx) -> Any:
    cluster, backup = ctx.cluster, _volume(ctx)
    auth.require(cluster, ctx.user, f"/storage/{backup.storage}", "Datastore.AllocateSpace")
    auth.require(cluster, ctx.user, f"/vms/{backup.vmid}", "VM.Backup")
    protected = backup.protected

    def remove() -> None:
        if backup.protected:  # Plugin.pm free_image
            raise PveError(
                500,
                f"cannot remove protected volume 'backup/{backup.filename}' on '{backup.storage}'",
            )
        if backup in cluster.backups:
            cluster.backups.remove(backup)
        task.log.append(f"Removed volume '{backup.volid}'")
        cluster.changed()

    task = cluster.start_task(
        node=ctx.node,
        task_type="imgdel",
        task_id=f"{backup.vmid}@{backup.storage}",
        user=ctx.user.authid,
        action=remove,
        seconds=0.0 if protected else None,
    )
    delay = ctx.params.get("delay")
    if delay:  # Content.pm: wait up to `delay` seconds, null when done, its error when failed
        deadline = time.monotonic() + int(delay)
        while task.status != "stopped" and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
            cluster.settle()
        if task.status == "stopped":
            if task.exitstatus != "OK":
                raise PveError(500, str(task.exitstatus))
            return None
    return task.upid


# -- jobs ----------------------------------------------------------------------------------
@route("GET", "/cluster/backup", {})
async def list_jobs(ctx: Ctx) -> Any:
    auth.require(ctx.cluster, ctx.user, "/", "Sys.Audit")
    now = int(ctx.cluster.clock.now())
    return [
        {**job.view(), "next-run": _next_run(job.schedule, now)} for job in ctx.cluster.backup_jobs
    ]


@route("GET", "/cluster/backup/{id}", {"id": req(opt_str(max_length=50, pattern=r"\S+"))})
async def read_job(ctx: Ctx) -> Any:
    auth.require(ctx.cluster, ctx.user, "/", "Sys.Audit")
    job = next((j for j in ctx.cluster.backup_jobs if j.id == ctx.params["id"]), None)
    if job is None:
        raise param_error({"id": f"No such job '{ctx.params['id']}'"})
    return job.view()


DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _next_run(schedule: str, now: int) -> int:
    """The next time of a simple calendar event (`[DAY[,DAY]] HH:MM`), local time."""
    parts = schedule.split()
    days = {DAYS.index(d) for d in parts[0].split(",")} if len(parts) == 2 else set(range(7))
    hour, minute = (int(x) for x in parts[-1].split(":"))
    local = time.localtime(now)
    midnight = now - (local.tm_hour * 3600 + local.tm_min * 60 + local.tm_sec)
    for offset in range(8):
        day = time.localtime(midnight + offset * 86400 + 43200)
        candidate = int(
            time.mktime((day.tm_year, day.tm_mon, day.tm_mday, hour, minute, 0, 0, 0, -1))
        )
        if candidate > now and day.tm_wday in days:
            return candidate
    return now + 86400


@route("GET", "/cluster/backup-info", {})
async def backup_info_index(ctx: Ctx) -> Any:
    return [{"subdir": "not-backed-up"}]


@route("GET", "/cluster/backup-info/not-backed-up", {})
async def not_backed_up(ctx: Ctx) -> Any:
    cluster = ctx.cluster
    auth.require(cluster, ctx.user, "/", "Sys.Audit")
    covered = {v for job in cluster.backup_jobs for v in backups.included_vmids(cluster, job)}
    result = []
    for vmid in sorted(cluster.taken_vmids()):
        if vmid in covered:
            continue
        if not auth.has_privilege(cluster, ctx.user, f"/vms/{vmid}", ("VM.Audit",)):
            continue
        ct = cluster.containers.get(vmid)
        name = ct.name if ct is not None else cluster.vms[vmid].name
        result.append({"vmid": vmid, "type": "lxc" if ct is not None else "qemu", "name": name})
    return result
