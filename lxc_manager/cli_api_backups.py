"""`lxcm` commands for backups and operations (the jobs that back up, restore, clone...):

    lxcm backups list NODE VMID [--json]
    lxcm backup NODE VMID --storage S [--mode M] [--compress C] [--notes N] [--protected] [--wait]
    lxcm operations list|get ID|follow ID

Same client, output and exit codes as the rest of `lxcm` (lxc_manager/cli_api.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from lxc_manager.cli_api import OK, Api, finish, show

BACKUP_COLUMNS = (
    ("CREATED", "created"),
    ("STORAGE", "storage"),
    ("VOLID", "volid"),
    ("SIZE", "size"),
    ("PROTECTED", "protected"),
    ("NOTES", "notes"),
)
OPERATION_COLUMNS = (
    ("ID", "id"),
    ("KIND", "kind"),
    ("STATUS", "status"),
    ("VMID", "vmid"),
    ("TITLE", "title"),
    ("ERROR", "error"),
)
MODES = ("snapshot", "suspend", "stop")
COMPRESSIONS = ("zstd", "gzip", "lzo", "none")


def _dump(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=True)
    print()


def cmd_backups_list(api: Api, args: argparse.Namespace) -> int:
    data = api.call("GET", f"/containers/{args.node}/{args.vmid}/backups")
    if not args.json and isinstance(data, dict):
        for entry in data.get("backups", []):
            when = datetime.fromtimestamp(int(entry.get("ctime") or 0), UTC)
            entry["created"] = when.strftime("%Y-%m-%d %H:%M:%S")
            entry["protected"] = "yes" if entry.get("protected") else ""
        for problem in data.get("errors", []):
            print(f"lxcm: not read: {problem}", file=sys.stderr)
    show(data, args, "backups", BACKUP_COLUMNS)
    return OK


def cmd_backup(api: Api, args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"storage": args.storage, "mode": args.mode, "compress": args.compress}
    if args.notes:
        body["notes"] = args.notes
    if args.protected:
        body["protected"] = True
    data = api.call("POST", f"/containers/{args.node}/{args.vmid}/backups", body)
    operation = data.get("operation", {}) if isinstance(data, dict) else {}
    job_id = str(operation.get("id", ""))
    print(f"operation {job_id}: {operation.get('title', '')}", file=sys.stderr)
    if not args.wait:
        if args.json:
            _dump(data)
        else:
            print(job_id)
        return OK
    return finish(api, job_id, args, "operations", "operation")


def cmd_operations_list(api: Api, args: argparse.Namespace) -> int:
    show(api.call("GET", "/operations"), args, "operations", OPERATION_COLUMNS)
    return OK


def cmd_operations_get(api: Api, args: argparse.Namespace) -> int:
    data = api.call("GET", f"/operations/{args.id}")
    if args.json:
        _dump(data)
        return OK
    operation = data.get("operation", {})
    for key in ("id", "kind", "title", "status", "step", "percent", "vmid", "node_name",
                "pve_node", "error", "created_at", "finished_at"):  # fmt: skip
        if operation.get(key) not in (None, ""):
            print(f"{key}: {operation[key]}")
    for step in operation.get("steps", []):
        message = f": {step['message']}" if step.get("message") else ""
        print(f"step {step.get('number')}: {step.get('name')} {step.get('state')}{message}")
    return OK


def cmd_operations_follow(api: Api, args: argparse.Namespace) -> int:
    return finish(api, args.id, args, "operations", "operation")


Add = Callable[[Any, str, Callable[[Api, argparse.Namespace], int], str], Any]


def add_commands(
    groups: Any, add: Add, json_flag: Callable[[argparse.ArgumentParser], None]
) -> None:
    """Register `backups`, `backup` and `operations` on `lxcm`'s parser."""
    parser_class = type(groups.add_parser("backups", help="a container's backups"))
    backups = groups.choices["backups"].add_subparsers(
        dest="command", required=True, parser_class=parser_class
    )
    listing = add(backups, "list", cmd_backups_list, "list a container's backups, newest first")
    listing.add_argument("node", type=int, help="the node's id (lxcm nodes list)")
    listing.add_argument("vmid", type=int)
    json_flag(listing)

    backup = add(groups, "backup", cmd_backup, "back up a container now (an operation job)")
    backup.add_argument("node", type=int, help="the node's id (lxcm nodes list)")
    backup.add_argument("vmid", type=int)
    backup.add_argument("--storage", required=True, help="a backup storage, e.g. local")
    backup.add_argument("--mode", choices=MODES, default="snapshot")
    backup.add_argument("--compress", choices=COMPRESSIONS, default="zstd")
    backup.add_argument("--notes", help="the backup's notes")
    backup.add_argument("--protected", action="store_true", help="protect it from pruning")
    backup.add_argument("--wait", action="store_true", help="print progress until it ends")
    json_flag(backup)

    ops = groups.add_parser("operations", help="backups, restores, clones... (jobs)")
    commands = ops.add_subparsers(dest="command", required=True, parser_class=parser_class)
    json_flag(add(commands, "list", cmd_operations_list, "list your operations, newest first"))
    get = add(commands, "get", cmd_operations_get, "show an operation and its steps")
    get.add_argument("id")
    json_flag(get)
    fol = add(commands, "follow", cmd_operations_follow, "print its progress until it ends")
    fol.add_argument("id")
    json_flag(fol)
