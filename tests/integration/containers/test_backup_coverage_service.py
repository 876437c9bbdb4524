"""Backup coverage against the simulator: every container's newest backup on every backup
storage, the cluster's backup jobs and which of them covers each container (checked
against what Proxmox itself answers: storage content and `/cluster/backup-info/
not-backed-up`), a fresh backup seen, a hanging cluster and a token without Sys.Audit."""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
from ct_support import SIM_TOKEN_ID, USER_A, add_node, admin_post, ready_input

from lxc_manager.backups.cluster_backups import read_backups
from lxc_manager.backups.selection import FRESH, NEVER, age_class, coverage_of
from tests.support.simulator import HOMELAB_ROLES, SimProcess

LIMITED = "root@pam!lim"


def _api(sim: SimProcess, secret: str, token: str = SIM_TOKEN_ID) -> httpx.Client:
    return httpx.Client(
        base_url=sim.ready["api"] + "/api2/json",
        headers={"Authorization": f"PVEAPIToken={token}={secret}"},
        verify=False,
        timeout=10,
    )


def _oracle(sim: SimProcess, secret: str) -> tuple[dict[int, str], dict[int, int], set[int]]:
    """What Proxmox itself says: containers (VMID -> PVE node), the newest backup of each
    VMID, and the guests no job covers (`not-backed-up`)."""
    newest: dict[int, int] = {}
    with _api(sim, secret) as api:
        resources = api.get("/cluster/resources", params={"type": "vm"}).json()["data"]
        cts = {r["vmid"]: r["node"] for r in resources if r["type"] == "lxc"}
        for node in [n["node"] for n in api.get("/nodes").json()["data"]]:
            for storage in api.get(f"/nodes/{node}/storage", params={"content": "backup"}).json()[
                "data"
            ]:
                path = f"/nodes/{node}/storage/{storage['storage']}/content"
                for v in api.get(path, params={"content": "backup"}).json()["data"]:
                    newest[v["vmid"]] = max(newest.get(v["vmid"], 0), v["ctime"])
        uncovered = {
            g["vmid"]
            for g in api.get("/cluster/backup-info/not-backed-up").json()["data"]
            if g["type"] == "lxc"
        }
    return cts, newest, uncovered


def _start(
    start_sim: Callable[[list[str]], SimProcess], *tokens: str, nodes: int = 2
) -> tuple[SimProcess, str]:
    """A simulator of our own (2 PVE nodes, 8 containers). The cluster key is its name and
    its members' names: other members, another cluster."""
    secret = str(uuid.uuid4())
    args = [
        "--port", "0", "--ssh-port", "0", "--nodes", str(nodes), "--containers", "8", "--vms", "1",
        "--seed", "11", "--auth-failure-delay", "0", "--task-seconds", "0.2",
        "--log-level", "WARNING", "--token", f"{SIM_TOKEN_ID}:{secret}",
    ]  # fmt: skip
    for token in tokens:
        args += ["--token", token]
    return start_sim(args), secret


async def test_newest_backups_and_job_coverage_match_proxmox(
    ct_db: Any, start_sim: Callable[[list[str]], SimProcess]
) -> None:
    sim, secret = await asyncio.to_thread(_start, start_sim)
    node = await add_node(USER_A, ready_input(sim.ready, secret, "bk"))
    cts, newest, uncovered = await asyncio.to_thread(_oracle, sim, secret)

    [cluster] = await read_backups(USER_A, jobs=True)
    assert cluster.problems == ()
    assert (cluster.reached, cluster.backups_read, cluster.jobs_read) == (True, True, True)
    assert (cluster.node_id, cluster.node_name, cluster.node_ids) == (node.id, "bk", (node.id,))
    assert {g.vmid: g.pve_node for g in cluster.guests} == cts
    assert {v: t for v, t in cluster.newest.items() if v in cts} == {
        v: t for v, t in newest.items() if v in cts
    }
    # the seeded jobs: "all but ..." and a VMID list, both enabled
    assert {r.selection for r in cluster.jobs} == {"all", "vmid"}
    assert all(r.enabled and r.schedule and r.storage for r in cluster.jobs)
    coverage = coverage_of(cluster.jobs, cluster.guests)
    assert {c.guest.vmid for c in coverage if not c.covered} == uncovered
    assert uncovered and len(uncovered) < len(cts)  # both kinds are there to tell apart
    covered_by_list = [c for c in coverage if len(c.jobs) == 2]
    assert covered_by_list  # a listed VMID is in both jobs
    now = time.time()
    assert {age_class(cluster.newest.get(v), now) for v in cts} >= {FRESH, NEVER}


async def test_a_backup_taken_now_is_the_newest(
    ct_db: Any, start_sim: Callable[[list[str]], SimProcess]
) -> None:
    sim, secret = await asyncio.to_thread(_start, start_sim)
    await add_node(USER_A, ready_input(sim.ready, secret, "bk"))
    [before] = await read_backups(USER_A)
    never = next(g for g in before.guests if g.vmid not in before.newest)

    def back_up() -> None:
        with _api(sim, secret) as api:
            upid = api.post(
                f"/nodes/{never.pve_node}/vzdump",
                data={"vmid": never.vmid, "storage": "local", "compress": "zstd"},
            ).json()["data"]
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                status = api.get(f"/nodes/{never.pve_node}/tasks/{upid}/status").json()["data"]
                if status["status"] == "stopped":
                    assert status["exitstatus"] == "OK", status
                    return
                time.sleep(0.1)
            raise AssertionError("vzdump did not finish")

    started = time.time()
    await asyncio.to_thread(back_up)
    [after] = await read_backups(USER_A)
    assert started - 2 <= after.newest[never.vmid] <= time.time() + 1
    assert age_class(after.newest[never.vmid], time.time()) == FRESH
    # the other containers' backups did not change
    assert {v: t for v, t in after.newest.items() if v != never.vmid} == dict(before.newest)


async def test_a_hanging_cluster_costs_only_its_timeout(
    ct_db: Any, start_sim: Callable[[list[str]], SimProcess]
) -> None:
    good, good_secret = await asyncio.to_thread(_start, start_sim)
    slow, slow_secret = await asyncio.to_thread(_start, start_sim, nodes=1)
    await add_node(USER_A, ready_input(good.ready, good_secret, "good"))
    await add_node(USER_A, ready_input(slow.ready, slow_secret, "slow"))
    admin_post(slow.ready, {"mode": "hang"})
    timeout = 1.5
    started = time.monotonic()
    clusters = await read_backups(USER_A, jobs=True, timeout=timeout)
    elapsed = time.monotonic() - started
    assert timeout - 0.1 <= elapsed < timeout + 2
    by_name = {c.node_name: c for c in clusters}
    assert by_name["good"].reached and by_name["good"].backups_read and by_name["good"].jobs
    assert not by_name["slow"].reached and not by_name["slow"].backups_read
    assert by_name["slow"].problems == ("slow did not answer within 1.5 s — retrying",)


async def test_a_token_without_sys_audit_reads_backups_but_not_jobs(
    ct_db: Any, start_sim: Callable[[list[str]], SimProcess]
) -> None:
    limited = str(uuid.uuid4())
    sim, secret = await asyncio.to_thread(
        _start, start_sim, f"{LIMITED}:{limited}:privsep={HOMELAB_ROLES}"
    )
    await add_node(
        USER_A, dataclasses.replace(ready_input(sim.ready, limited, "lim"), token_id=LIMITED)
    )
    with _api(sim, secret) as api:  # Proxmox side: the token loses PVEAuditor on /
        revoked = api.put(
            "/access/acl", data={"path": "/", "roles": "PVEAuditor", "tokens": LIMITED, "delete": 1}
        )
        assert revoked.status_code == 200, revoked.text
        assert api.get("/cluster/backup").status_code == 200
    with _api(sim, limited, LIMITED) as api:
        assert api.get("/cluster/backup").status_code == 403

    [cluster] = await read_backups(USER_A, jobs=True)
    assert cluster.reached and cluster.backups_read and cluster.newest
    assert not cluster.jobs_read and cluster.jobs == ()
    assert cluster.problems == ("lim: the API token may not read backup jobs (Sys.Audit on /)",)
