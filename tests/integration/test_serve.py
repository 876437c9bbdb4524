"""`lxc-manager serve` as a user runs it: start, ready, restart a crashed worker, stop, no orphans."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from pathlib import Path

import httpx
import pytest

from tests.support.app import ServeProcess, start_app
from tests.support.procs import alive, cmdline, descendants, processes_mentioning, wait_until_dead


def children_named(serve: ServeProcess, needle: str) -> list[int]:
    return [pid for pid in serve.tree() if needle in cmdline(pid)]


@pytest.fixture
def serve(tmp_path: Path):
    app = start_app(tmp_path / "data", "serve-" + tmp_path.name)
    yield app
    app.stop(signal.SIGKILL)


def test_ready_and_clean_stop_on_sigterm(serve: ServeProcess, tmp_path: Path) -> None:
    assert httpx.get(serve.base_url + "/healthz").json() == {"status": "ok"}
    ready = httpx.get(serve.base_url + "/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "redis": "ok"}
    page = httpx.get(serve.base_url + "/")
    assert page.status_code == 200 and "<html" in page.text.lower()

    tree = serve.tree()
    names = " ".join(cmdline(pid) for pid in tree)
    assert (
        "redis-server" in names
        and names.count("lxc_manager.cli worker") == 2
        and "granian" in names
    )
    assert not [pid for pid in tree if Path(cmdline(pid).split(" ")[0]).name == "node"], (
        "no Node.js at run time"
    )

    started = time.monotonic()
    assert serve.stop(signal.SIGTERM) == 0
    assert time.monotonic() - started < 10
    assert wait_until_dead(tree, timeout=1) == set()
    assert processes_mentioning(str(tmp_path)) == set()
    assert "stopped in" in serve.log()


def test_sigint_stops_everything(serve: ServeProcess) -> None:
    tree = serve.tree()
    started = time.monotonic()
    assert serve.stop(signal.SIGINT) == 0
    assert time.monotonic() - started < 10
    assert wait_until_dead(tree, timeout=1) == set()


def test_kill_9_leaves_no_orphans(serve: ServeProcess, tmp_path: Path) -> None:
    tree = serve.tree()
    assert len(tree) >= 4
    serve.popen.kill()
    serve.popen.wait()
    assert wait_until_dead(tree, timeout=10) == set(), [cmdline(p) for p in tree if alive(p)]
    assert processes_mentioning(str(tmp_path)) == set()


def test_crashed_worker_is_restarted(serve: ServeProcess) -> None:
    workers = children_named(serve, "lxc_manager.cli worker")
    os.kill(workers[0], signal.SIGKILL)
    deadline = time.monotonic() + 15
    replacement: list[int] = []
    while time.monotonic() < deadline:
        replacement = [
            pid for pid in children_named(serve, "lxc_manager.cli worker") if pid not in workers
        ]
        if replacement:
            break
        time.sleep(0.2)
    assert replacement, serve.log()[-3000:]
    assert "worker-1 exited" in serve.log() or "worker-2 exited" in serve.log()
    assert httpx.get(serve.base_url + "/readyz").status_code == 200


def test_second_start_reuses_the_build(tmp_path: Path) -> None:
    first = start_app(tmp_path / "data", "serve-restart")
    first.stop(signal.SIGTERM)
    second = start_app(tmp_path / "data", "serve-restart", build=True)
    try:
        assert "is up to date" in second.log()
        assert "building the frontend" not in second.log()
        assert not [pid for pid in second.tree() if Path(cmdline(pid).split(" ")[0]).name == "node"]
        for pid in descendants(second.pid):
            assert "npm" not in cmdline(pid)
    finally:
        second.stop(signal.SIGTERM)


def test_demo_prints_the_sign_in_and_stops_cleanly(tmp_path: Path) -> None:
    from tests.support.app import app_env, ensure_frontend_built

    data = tmp_path / "data"
    ensure_frontend_built(str(data))
    env = app_env(data, LXCM_DEMO_CONTAINERS="simulated")
    demo = ServeProcess(data, env, tmp_path / "demo.log", build=True, command=("demo",))
    demo.start()
    try:
        demo.wait_ready()
        deadline = time.monotonic() + 10
        while "Press Ctrl-C to stop." not in demo.log() and time.monotonic() < deadline:
            time.sleep(0.1)
        log = demo.log()
        host, port, password = None, None, None
        for line in log.splitlines():
            if line.strip().startswith("Proxmox Host"):
                host = line.split()[-1]
            elif line.strip().startswith("Port"):
                port = int(line.split()[-1])
            elif line.strip().startswith("Password"):
                password = line.split()[-1]
        assert host and port and password, log[-3000:]
        assert "Containers: simulated (LXCM_DEMO_CONTAINERS=simulated)" in log
        # The printed sign-in really works against the simulator the demo started.
        answer = httpx.post(
            f"https://{host}:{port}/api2/json/access/ticket",
            data={"username": "root@pam", "password": password},
            verify=False,
            timeout=10,
        )
        assert answer.status_code == 200 and answer.json()["data"]["ticket"].startswith(
            "PVE:root@pam:"
        )
        database = data / "demo" / "lxc-manager.db"  # the demo keeps its own data
        with sqlite3.connect(database) as db:
            nodes = db.execute(
                "SELECT name, user_id, is_default, token_secret FROM proxmox_node"
            ).fetchall()
        assert [(n[0], n[1].startswith("root@pam@"), n[2]) for n in nodes] == [
            ("demo-cluster", True, 1)
        ]
        assert nodes[0][3].startswith("v1:")  # stored encrypted
        with sqlite3.connect(database) as db:
            templates = {row[0] for row in db.execute("SELECT name FROM template")}
        # The demo syncs the catalog: the shipped templates and the simulator-ready one.
        assert {"Docker host", "Simulator web"} <= templates
        tree = demo.tree()
        assert any("lxc_manager_simulator" in cmdline(pid) for pid in tree)
        assert demo.stop(signal.SIGINT) == 0
        assert wait_until_dead(tree, timeout=2) == set()
    finally:
        demo.stop(signal.SIGKILL)


def test_serve_passes_console_websocket_upgrades(serve: ServeProcess) -> None:
    """The console's WebSocket route is reached through `serve`'s own port: the upgrade is
    accepted by our route (not Reflex's 404 page), which closes it without a session."""
    import asyncio

    from tests.support.ws_client import WsClient

    async def attempt() -> tuple[int | None, int | None, str]:
        ws = await WsClient.connect(
            int(serve.base_url.rpartition(":")[2]),
            "/console/ws/1/100?cols=80&rows=24",
            {"Origin": serve.base_url},
        )
        got = await ws.wait_closed(timeout=10)
        return ws.rejected, got.close_code, got.last_message

    rejected, code, message = asyncio.run(attempt())
    assert (rejected, code, message) == (None, 4401, "Closed: session ended")
