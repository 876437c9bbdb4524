"""Issue 18: LXC Manager scaled out as a team runs it, every part real: PostgreSQL, one
`redis-server` with append-only persistence, two web replicas (`serve --role web`, two
granian workers each) on two ports, one worker host (`serve --role worker`), and the
Proxmox VE simulator over HTTPS and SSH. The browser is played by `ReflexTab`, which
speaks Reflex's event socket as the compiled page does.

One tab signs in on replica A and keeps its session on replica B; a creation submitted
on A is run by the worker and streamed on B; the worker is killed with SIGKILL mid-job,
`serve` starts another, the job is failed at once and retried to success; Redis is
killed and restarted from its append-only file: the session and a queued job survive.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

from lxc_manager.pages.dashboard.state import DashboardState
from lxc_manager.pages.job_progress.state import JobState
from lxc_manager.pages.new_container.state import WizardState
from lxc_manager.provisioning.form import STEPS
from lxc_manager.security.sessions import COOKIE_NAME
from tests.support.cluster import PUBLIC_URL, Member, add_node, running_cluster, sign_in
from tests.support.reflex_socket import ReflexTab
from tests.support.simulator import SimulatorInfo

VMIDS = (99871, 99872)  # ours: destroyed before the test (see _forget_containers)


def _forget_containers(simulator: SimulatorInfo) -> None:
    state = simulator.admin_call("GET", "/_sim/state")
    with simulator.client() as api:
        for found in state["containers"]:
            if found["vmid"] not in VMIDS:
                continue
            node, vmid = found["node"], found["vmid"]
            if found["status"] == "running":
                answer = api.post(f"/nodes/{node}/lxc/{vmid}/status/stop")
                simulator.wait_task(api, answer.json()["data"])
            answer = api.delete(f"/nodes/{node}/lxc/{vmid}")
            simulator.wait_task(api, answer.json()["data"])


async def submit_creation(tab: ReflexTab, vmid: int) -> str:
    """The wizard on the tab's replica: configure, review, submit; the new job's id."""
    await tab.navigate("/containers/new")
    await tab.until(
        lambda: tab.var(WizardState, "loaded") and tab.var(WizardState, "os_templates"),
        what="the wizard's node options",
    )
    await tab.fire(WizardState.set_field, name="hostname", value=f"scale-{vmid}")
    await tab.fire(WizardState.set_vmid, value=str(vmid))
    await tab.until(lambda: tab.var(WizardState, "vmid_status") == "free", what="a free VMID")
    await tab.fire(WizardState.go, step=len(STEPS) - 1)
    await tab.until(lambda: tab.var(WizardState, "review_digest"), what="the review")
    before = len(tab.redirects())
    await tab.fire(WizardState.submit)
    path = await tab.until(
        lambda: len(tab.redirects()) > before and tab.redirects()[-1], what="the job page"
    )
    assert path.startswith("/containers/jobs/"), (path, tab.var(WizardState, "errors"))
    return path.rsplit("/", 1)[1]


async def follow_job(tab: ReflexTab, until: set[str], timeout: float = 60) -> str:
    """Keep the job page alive (its heartbeat, as the page's timer does) until the job's
    status is one of `until`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = tab.var(JobState, "status")
        if status in until:
            return str(status)
        await tab.fire(JobState.heartbeat, _now="")
        await asyncio.sleep(0.5)
    raise AssertionError(
        f"job status {tab.var(JobState, 'status')!r}, expected {until}: {tab._summary()}"
    )


async def on_a_submit(web_a: Member, cookie: str, simulator: SimulatorInfo) -> tuple[str, str]:
    """The tab on A: its dashboard loads with the session made on A; a creation is submitted
    while Proxmox is slow (so the job still runs when its worker is killed). The tab's
    token and the job id."""
    tab = await ReflexTab.open(web_a.port, "/", cookie=cookie, origin=PUBLIC_URL)
    try:
        await tab.until(lambda: tab.var(DashboardState, "loaded"), what="the dashboard on A")
        assert not tab.redirects()
        simulator.admin_call("POST", "/_sim/faults", {"latency_ms": 700})
        return tab.token, await submit_creation(tab, VMIDS[0])
    finally:
        await tab.close()


async def on_b_stream_kill_retry(
    web_b: Member,
    workers: Member,
    cookie: str,
    token: str,
    job_id: str,
    simulator: SimulatorInfo,
) -> None:
    """The same tab (its token and cookie) reconnects on B, on the job page A sent it to:
    the page streams the job the worker runs; the worker is killed with SIGKILL, `serve`
    starts another, the job fails at once and its retry succeeds."""
    tab = await ReflexTab.open(
        web_b.port, f"/containers/jobs/{job_id}", cookie=cookie, origin=PUBLIC_URL, token=token
    )
    try:
        assert await follow_job(tab, {"running"}) == "running"
        await tab.until(lambda: tab.var(JobState, "log") or tab.var(JobState, "step") >= 1)
        assert tab.var(JobState, "job_id") == job_id and not tab.redirects()

        # The RQ worker (its work-horse, forked from it, has the same command line).
        worker_pid, _horse = workers.pids("lxc_manager.cli worker")
        os.kill(worker_pid, signal.SIGKILL)
        killed = time.monotonic()
        assert await follow_job(tab, {"failed", "succeeded"}, timeout=30) == "failed"
        # Not after the 60 s heartbeat timeout: the new worker saw its predecessor dead.
        assert time.monotonic() - killed < 20
        assert "worker stopped" in str(tab.var(JobState, "error"))
        simulator.admin_call("POST", "/_sim/faults", {"latency_ms": 0})
        await tab.fire(JobState.retry)
        assert await follow_job(tab, {"succeeded"}, timeout=90) == "succeeded"
        assert tab.var(JobState, "attempts") == 2
    finally:
        await tab.close()


async def on_b_submit(web_b: Member, cookie: str) -> str:
    tab = await ReflexTab.open(web_b.port, "/", cookie=cookie, origin=PUBLIC_URL)
    try:
        await tab.until(lambda: tab.var(DashboardState, "loaded"), what="the dashboard on B")
        return await submit_creation(tab, VMIDS[1])
    finally:
        await tab.close()


async def on_a_after_redis_restart(
    web_a: Member, workers: Member, cookie: str, job_id: str
) -> None:
    """After Redis came back from its append-only file: the session still signs the tab
    in, the job is still queued, and a worker host started now runs it."""
    tab = await ReflexTab.open(
        web_a.port, f"/containers/jobs/{job_id}", cookie=cookie, origin=PUBLIC_URL
    )
    try:
        assert await follow_job(tab, {"queued"}) == "queued"
        await asyncio.to_thread(workers.start)
        assert await follow_job(tab, {"succeeded"}, timeout=90) == "succeeded"
        assert not tab.redirects()
    finally:
        await tab.close()


def test_two_replicas_one_worker_postgres_and_redis(
    tmp_path: Path, reset_faults: SimulatorInfo
) -> None:
    """Synchronous: the processes are started and stopped with blocking calls; each tab's
    part runs in an event loop of its own (`asyncio.run`)."""
    simulator = reset_faults
    _forget_containers(simulator)
    try:
        run_the_scenario(tmp_path, simulator)
    finally:
        _forget_containers(simulator)


def run_the_scenario(tmp_path: Path, simulator: SimulatorInfo) -> None:
    with running_cluster(tmp_path) as cluster:
        # Started together: both migrate the empty database (serialised by the lock).
        web_a = cluster.add("web-a", "web", LXCM_WEB_WORKERS="2")
        web_b = cluster.add("web-b", "web", LXCM_WEB_WORKERS="2")
        workers = cluster.add("workers", "worker", LXCM_WORKERS="1")
        for member in (web_a, web_b, workers):
            member.wait_ready()
        assert len(web_a.pids("granian")) >= 2 and not web_a.pids("lxc_manager.cli worker")
        assert not workers.pids("granian")

        session_id = asyncio.run(sign_in(web_a, simulator))
        add_node(cluster, simulator, session_id)
        cookie = f"{COOKIE_NAME}={session_id}"
        token, job_id = asyncio.run(on_a_submit(web_a, cookie, simulator))
        asyncio.run(on_b_stream_kill_retry(web_b, workers, cookie, token, job_id, simulator))

        # Queued while no worker runs; then Redis is killed and started from its AOF.
        workers.stop()
        queued_id = asyncio.run(on_b_submit(web_b, cookie))
        cluster.redis.restart()
        asyncio.run(on_a_after_redis_restart(web_a, workers, cookie, queued_id))
    assert "UniqueViolation" not in web_a.log() + web_b.log()
