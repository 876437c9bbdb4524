"""`--state-file PATH`: the model as JSON, written on shutdown and read at start-up.

Kept: per endpoint the certificate, SSH host keys (one per node) and ticket key (so pinned fingerprints
and issued tickets survive a restart), node online flags, containers (config, status,
snapshots), VMs and finished tasks. Users, tokens and faults come from the command line.
Container worlds are re-seeded from the container (same seed, same hostname/template).
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import orjson

from .model import Cluster, Container, Simulation, Snapshot, Task, Vm

log = logging.getLogger("lxc_manager_simulator.state")
VERSION = 1


def save_state(path: Path, simulation: Simulation, secrets: list[dict[str, Any]]) -> None:
    data = {
        "version": VERSION,
        "endpoints": [
            _cluster_state(c, s) for c, s in zip(simulation.clusters, secrets, strict=True)
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".sim-state-")
    with os.fdopen(fd, "wb") as f:
        f.write(orjson.dumps(data, option=orjson.OPT_INDENT_2))
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def load_state(path: Path) -> list[dict[str, Any]] | None:
    if not path.exists():
        return None
    data = orjson.loads(path.read_bytes())
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise ValueError(f"{path}: not a simulator state file (version {VERSION})")
    endpoints = data.get("endpoints")
    return endpoints if isinstance(endpoints, list) else None


def _cluster_state(cluster: Cluster, secrets: dict[str, Any]) -> dict[str, Any]:
    return {
        **secrets,
        "ticket_key": cluster.secret.hex(),
        "nodes": {n.name: {"online": n.online} for n in cluster.nodes.values()},
        "containers": [_container_state(ct) for ct in cluster.containers.values()],
        "vms": [vm.__dict__ for vm in cluster.vms.values()],
        "tasks": [_task_state(t) for t in cluster.tasks.values() if t.status == "stopped"],
        "backups": [dict(b.__dict__) for b in cluster.backups],
    }


def _container_state(ct: Container) -> dict[str, Any]:
    return {
        "vmid": ct.vmid,
        "node": ct.node,
        "status": ct.status,
        "config": ct.config,
        "ostemplate": ct.ostemplate,
        "started_at": ct.started_at,
        "snapshots": [s.__dict__ for s in ct.snapshots],
    }


def _task_state(task: Task) -> dict[str, Any]:
    fields = (
        "upid",
        "node",
        "pid",
        "pstart",
        "starttime",
        "type",
        "id",
        "user",
        "due",
        "log",
        "status",
        "exitstatus",
        "endtime",
    )
    return {name: getattr(task, name) for name in fields}


def restore_cluster(cluster: Cluster, state: dict[str, Any]) -> None:
    """Replace the seeded guests and tasks of `cluster` by the saved ones."""
    cluster.secret = bytes.fromhex(state["ticket_key"])
    for name, node_state in state.get("nodes", {}).items():
        if name in cluster.nodes:
            cluster.nodes[name].online = bool(node_state.get("online", True))
    for ct in list(cluster.containers.values()):
        cluster.remove_container(ct)
    cluster.vms = {
        v["vmid"]: Vm(**v) for v in state.get("vms", []) if v.get("node") in cluster.nodes
    }
    for saved in state.get("containers", []):
        if saved["node"] in cluster.nodes:
            _restore_container(cluster, saved)
    if "backups" in state:  # files older than the backups keep the seeded archives
        from .backups import BackupVolume

        cluster.backups = [BackupVolume(**b) for b in state["backups"]]
    cluster.replace_tasks(
        {
            t["upid"]: Task(action=None, failure=None, **t)
            for t in state.get("tasks", [])
            if t.get("node") in cluster.nodes
        }
    )
    cluster.changed()


def _restore_container(cluster: Cluster, saved: dict[str, Any]) -> None:
    config = dict(saved["config"])
    digest = config.get("digest")
    ct = cluster.add_container(
        vmid=saved["vmid"],
        node=saved["node"],
        config=config,
        ostemplate=saved["ostemplate"],
        status=saved["status"],
    )
    if digest:
        ct.config["digest"] = digest
    ct.started_at = float(saved.get("started_at") or 0.0)
    ct.snapshots = [Snapshot(**s) for s in saved.get("snapshots", [])]
