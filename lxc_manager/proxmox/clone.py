"""Clone a container and convert one to a template (pve-container src/PVE/API2/LXC.pm
`clone_vm` and `template`), on top of `ProxmoxClient`.

    upid = await lxc_clone(pve, "pve1", 105, newid=120, hostname="web-2", target="pve2",
                           storage="nas", full=True)
    upid = await lxc_template(pve, "pve1", 105)   # finds the `vztemplate` task's UPID

`POST .../clone` answers the UPID of its `vzclone` worker. `POST .../template` answers null:
its checks run under the config lock and then a `vztemplate` worker is forked whose UPID is
not returned, so `lxc_template` finds it in the node's task list (`GET /nodes/{node}/tasks`
with `vmid` and `typefilter`), the newest one that started at or after the request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

from .client import ProxmoxClient, _ct, _seg
from .errors import ProxmoxError, ProxmoxTimeout

__all__ = ["find_task", "lxc_clone", "lxc_template"]

TEMPLATE_TASK = "vztemplate"
_FIND_TIMEOUT = 30.0


async def lxc_clone(
    client: ProxmoxClient,
    node: str,
    vmid: int,
    *,
    newid: int,
    hostname: str | None = None,
    target: str | None = None,
    storage: str | None = None,
    full: bool | None = None,
    snapname: str | None = None,
    pool: str | None = None,
    description: str | None = None,
) -> str:
    """POST /nodes/{node}/lxc/{vmid}/clone; returns the UPID of the `vzclone` task.
    `full=None` leaves Proxmox's default (a full copy unless the source is a template);
    `storage` is for full clones only, and with `target` it must be shared storage."""
    params: Mapping[str, Any] = {
        "newid": int(newid),
        "hostname": hostname or None,
        "target": target or None,
        "storage": storage or None,
        "full": full,
        "snapname": snapname or None,
        "pool": pool or None,
        "description": description or None,
    }
    return str(await client.post(f"{_ct(node, vmid)}/clone", params))


async def find_task(
    client: ProxmoxClient,
    node: str,
    vmid: int,
    task_type: str,
    since: int,
    *,
    timeout: float = _FIND_TIMEOUT,  # noqa: ASYNC109 (overall deadline)
    poll: float = 0.2,
) -> str:
    """The UPID of the newest `task_type` task about `vmid` on `node` that started at or
    after `since` (epoch seconds); `ProxmoxTimeout` when none shows up within `timeout`."""
    path = f"/nodes/{_seg(node)}/tasks"
    query = {
        "vmid": int(vmid),
        "typefilter": task_type,
        "source": "all",
        "since": int(since),
        "limit": 20,
    }
    deadline = time.monotonic() + timeout
    while True:
        data = await client.get(path, query)
        for entry in data if isinstance(data, list) else []:
            if (
                isinstance(entry, dict)
                and entry.get("type") == task_type
                and str(entry.get("id")) == str(vmid)
                and int(entry.get("starttime") or 0) >= since
                and entry.get("upid")
            ):
                return str(entry["upid"])
        if time.monotonic() >= deadline:
            raise ProxmoxTimeout(f"{task_type}:{vmid}", timeout)
        await asyncio.sleep(poll)


async def lxc_template(client: ProxmoxClient, node: str, vmid: int) -> str:
    """POST /nodes/{node}/lxc/{vmid}/template, then the UPID of its `vztemplate` task (the
    refusals — running, snapshots, already a template, locked — come as `ProxmoxError`
    from the POST itself)."""
    # The task's start time is the server's clock in whole seconds: allow for a clock a
    # little behind ours.
    since = int(time.time()) - 60
    answer = await client.post(f"{_ct(node, vmid)}/template")
    if answer not in (None, ""):
        raise ProxmoxError(f"unexpected answer to {_ct(node, vmid)}/template")
    return await find_task(client, node, vmid, TEMPLATE_TASK, since)
