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
import json
import os
import re
import signal
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from lxc_manager.pages.dashboard.state import DashboardState
from lxc_manager.pages.job_progress.state import JobState
from lxc_manager.pages.login.state import LoginState
from lxc_manager.pages.new_container.state import WizardState
from lxc_manager.provisioning.form import STEPS
from lxc_manager.security.sessions import COOKIE_NAME, GRANT_NONCE_COOKIE
from tests.support.cluster import PUBLIC_URL, Cluster, Member, running_cluster
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


async def sign_in(replica: Member, simulator: SimulatorInfo) -> str:
    """The login page on `replica`, first use of the endpoint (confirm its fingerprint),
    then the page load of /auth/complete that sets the HttpOnly cookie: its session id."""
    host, port = urlsplit(simulator.api).hostname, urlsplit(simulator.api).port
    tab = await ReflexTab.open(replica.port, "/login", origin=PUBLIC_URL)
    try:
        await tab.until(lambda: tab.var(LoginState, "ready"), what="the login page")
        form = {
            "host": host, "port": str(port), "username": "root", "realm": "pam",
            "password": simulator.root_password,
        }  # fmt: skip
        await tab.fire(LoginState.submit_credentials, form=form)
        fingerprint = await tab.until(
            lambda: tab.var(LoginState, "step") == "confirm" and tab.var(LoginState, "fingerprint"),
            what="the fingerprint to confirm",
        )
        await tab.fire(
            LoginState.submit_credentials, form={**form, "confirmed_fingerprint": fingerprint}
        )
        script = await tab.until(lambda: tab.scripts() and tab.scripts()[-1], what="the grant")
    finally:
        await tab.close()
    nonce = re.search(rf"{GRANT_NONCE_COOKIE}=([^;]+);", script)
    target = re.search(r"window\.location\.assign\((\".*?\")\)", script)
    assert nonce and target, script
    answer = httpx.get(
        replica.base_url + json.loads(target.group(1)),
        headers={
            "cookie": f"{GRANT_NONCE_COOKIE}={nonce.group(1)}",
            "sec-fetch-site": "same-origin",
        },
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/", answer.text
    session_id = answer.cookies.get(COOKIE_NAME)
    assert session_id
    return session_id


def add_node(cluster: Cluster, simulator: SimulatorInfo, session_id: str) -> None:
    """The signed-in user's node on the simulator (setup, through the node service)."""
    parts = urlsplit(simulator.api)
    cluster.python(
        f"""
import asyncio
from lxc_manager.nodes import NodeInput, NodeView, create_node
from lxc_manager.redis_client import async_client
from lxc_manager.security.sessions import get_session
from lxc_manager.settings import get_settings

async def main():
    session = await get_session(async_client(), get_settings(), {session_id!r}, touch=False)
    data = NodeInput(
        name="lab", host={parts.hostname!r}, port={parts.port!r},
        token_id={simulator.token_id!r}, token_secret={simulator.token_secret!r},
        tls_fingerprint={simulator.tls_sha256!r}, ssh_port={simulator.ssh_port!r},
        ssh_secret={simulator.root_password!r}, ssh_host_key={simulator.ssh_host_key!r},
    )
    assert isinstance(await create_node(session.user_id, data), NodeView)

asyncio.run(main())
"""
    )


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
    raise AssertionError(f"job status {tab.var(JobState, 'status')!r}, expected {until}: {tab._summary()}")


@pytest.mark.timeout(300)
async def test_two_replicas_one_worker_postgres_and_redis(
    tmp_path: Path, reset_faults: SimulatorInfo
) -> None:
    simulator = reset_faults
    _forget_containers(simulator)
    with running_cluster(tmp_path) as cluster:
        # Started together: both migrate the empty database (serialised by the lock).
        web_a = cluster.add("web-a", "web", LXCM_WEB_WORKERS="2")
        web_b = cluster.add("web-b", "web", LXCM_WEB_WORKERS="2")
        workers = cluster.add("workers", "worker", LXCM_WORKERS="1")
        for member in (web_a, web_b, workers):
            member.wait_ready()
        assert len(web_a.pids("granian")) >= 2 and not web_a.pids("lxc_manager.cli worker")

        session_id = await sign_in(web_a, simulator)
        add_node(cluster, simulator, session_id)
        cookie = f"{COOKIE_NAME}={session_id}"

        # The tab on A: its dashboard loads with the session made on A.
        tab = await ReflexTab.open(web_a.port, "/", cookie=cookie, origin=PUBLIC_URL)
        await tab.until(lambda: tab.var(DashboardState, "loaded"), what="the dashboard on A")
        assert not tab.redirects()

        # A slow Proxmox, so the job is still running when its worker is killed.
        simulator.admin_call("POST", "/_sim/faults", {"latency_ms": 700})
        job_id = await submit_creation(tab, VMIDS[0])
        await tab.close()

        # The tab's session (its cookie) on B: the job page loads and streams there.
        tab = await ReflexTab.open(
            web_b.port, f"/containers/jobs/{job_id}", cookie=cookie, origin=PUBLIC_URL
        )
        assert await follow_job(tab, {"running"}) == "running"
        await tab.until(lambda: tab.var(JobState, "log") or tab.var(JobState, "step") >= 1)
        assert not any("login" in path for path in tab.redirects())

        # kill -9 the worker mid-job; serve starts another, which fails the job at once.
        # The RQ worker (its work-horse, forked from it, has the same command line).
        worker_pid, horse_pid = workers.pids("lxc_manager.cli worker")
        os.kill(worker_pid, signal.SIGKILL)
        killed = time.monotonic()
        assert await follow_job(tab, {"failed", "succeeded"}, timeout=30) == "failed"
        assert time.monotonic() - killed < 20
        assert "worker stopped" in str(tab.var(JobState, "error"))
        simulator.admin_call("POST", "/_sim/faults", {"latency_ms": 0})
        await tab.fire(JobState.retry)
        assert await follow_job(tab, {"succeeded"}, timeout=90) == "succeeded"
        await tab.close()

        # Queued while no worker runs; then Redis is killed and started from its AOF.
        workers.stop()
        tab = await ReflexTab.open(web_b.port, "/", cookie=cookie, origin=PUBLIC_URL)
        await tab.until(lambda: tab.var(DashboardState, "loaded"), what="the dashboard on B")
        queued_id = await submit_creation(tab, VMIDS[1])
        await tab.close()
        cluster.redis.restart()

        # The session survived: a new tab on A is signed in, and the job page answers.
        tab = await ReflexTab.open(
            web_a.port, f"/containers/jobs/{queued_id}", cookie=cookie, origin=PUBLIC_URL
        )
        assert await follow_job(tab, {"queued"}) == "queued"
        workers.start()
        assert await follow_job(tab, {"succeeded"}, timeout=90) == "succeeded"
        assert not any("login" in path for path in tab.redirects())
        await tab.close()
