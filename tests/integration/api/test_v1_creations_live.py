"""A real server (granian, as `serve` runs it) with a real RQ worker: the progress of a
creation streamed live as Server-Sent Events while the worker runs it, and the `lxcm` CLI
(run as a user runs it, a subprocess) creating a container from a template and waiting for
it, listing and stopping containers, with the exit codes a script relies on."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from api_support import USER_A
from creations_support import (
    REPO,
    add_node,
    burst_worker,
    make_template,
    new_vmid,
    run_worker,
)
from rq import Queue

from lxc_manager import redis_client
from lxc_manager.db.migrate import upgrade_head
from lxc_manager.embedded_redis import EmbeddedRedis, free_port
from lxc_manager.nodes import NodeView
from lxc_manager.provisioning import vmids
from lxc_manager.provisioning.jobs import QUEUE
from lxc_manager.redis_client import RedisDb
from lxc_manager.templates.spec import ScriptSpec
from tests.conftest import CONFIG_PREFIXES, reset_app_caches
from tests.support.api import bearer, make_key
from tests.support.backend import Backend, running_backend
from tests.support.node_checks import forget_node_checks
from tests.support.simulator import SimulatorInfo

__all__ = ["new_vmid"]  # fixtures


@dataclass(frozen=True)
class Live:
    backend: Backend
    node: NodeView
    key: str  # USER_A's
    template_id: int  # USER_A's "Web for CLI"


def _forget(pattern: str) -> None:
    client = redis_client.sync_client()
    names = list(client.scan_iter(match=pattern, count=500))
    if names:
        client.delete(*names)


@pytest.fixture(scope="module")
def live(
    tmp_path_factory: pytest.TempPathFactory,
    redis_server: EmbeddedRedis,
    simulator: SimulatorInfo,
) -> Iterator[Live]:
    """One server for the module (starting one takes seconds) on a database of its own:
    USER_A's node with SSH, a key and a template."""
    tmp = tmp_path_factory.mktemp("api-live")
    with pytest.MonkeyPatch.context() as env:
        for name in list(os.environ):
            if name.startswith(CONFIG_PREFIXES):
                env.delenv(name)
        env.setenv("LXCM_DATA_DIR", str(tmp / "data"))
        env.setenv("REDIS_URL", redis_server.url)
        reset_app_caches()
        upgrade_head()
        forget_node_checks()
        vmids.forget_nodes()
        _forget("api-rate:*")
        queue = Queue(QUEUE, connection=redis_client.sync_client(RedisDb.RQ))
        queue.empty()
        node = asyncio.run(add_node(USER_A, simulator, "lab"))
        template_id = asyncio.run(make_template(name="Web for CLI"))
        key = make_key(USER_A, "live")
        reset_app_caches()  # clients made on those loops must not be reused
        try:
            with running_backend(tmp, redis_server.url) as backend:
                yield Live(backend, node, key, template_id)
        finally:
            queue.empty()
            reset_app_caches()


@pytest.fixture(autouse=True)
def _fresh_clients(live: Live) -> Iterator[None]:
    reset_app_caches()  # every test has its own event loop
    yield
    reset_app_caches()


async def test_progress_streams_live_until_the_job_ends(
    live: Live, new_vmid: Callable[[], int]
) -> None:
    backend, key_a, template_id = live.backend, live.key, live.template_id
    # Made in a thread: loading the TLS defaults would hold the test's loop.
    client = await asyncio.to_thread(httpx.AsyncClient, base_url=backend.base_url, timeout=60)
    async with client as http:
        created = await http.post(
            "/api/v1/creations",
            json={"template_id": template_id, "hostname": "live-1", "vmid": new_vmid()},
            headers=bearer(key_a),
        )
        assert created.status_code == 201, created.text
        job_id = created.json()["job"]["id"]
        seen: list[tuple[str, dict[str, Any], float]] = []
        first = asyncio.Event()

        async def read() -> None:
            event = ""
            async with http.stream(
                "GET", f"/api/v1/creations/{job_id}/events", headers=bearer(key_a)
            ) as stream:
                assert stream.status_code == 200
                assert stream.headers["content-type"].startswith("text/event-stream")
                async for line in stream.aiter_lines():
                    if line.startswith("event: "):
                        event = line[7:]
                    elif line.startswith("data: "):
                        seen.append((event, json.loads(line[6:]), time.monotonic()))
                        first.set()

        reader = asyncio.create_task(read())
        await asyncio.wait_for(first.wait(), 10)  # the replay: the queued status
        assert seen[0][0] == "status" and seen[0][1]["status"] == "queued"
        await asyncio.sleep(0.5)
        assert not reader.done()  # nothing ends it while the job waits for a worker
        started = time.monotonic()
        await run_worker()
        await asyncio.wait_for(reader, 30)  # the server closes the stream after `end`
    kinds = [kind for kind, _data, _at in seen]
    assert kinds[-1] == "end" and seen[-1][1]["job"]["status"] == "succeeded"
    assert "step" in kinds and "line" in kinds and "result" in kinds
    live = [at for kind, _data, at in seen if kind == "step"]
    assert live and min(live) >= started  # the steps arrived while the worker ran them


def lxcm(
    backend: Backend, *args: str, key: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lxc_manager.cli_api", *args],
        env=_env(backend, key, env),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _env(backend: Backend, key: str | None, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LXCM_")}
    env["LXCM_URL"] = backend.base_url
    if key is not None:
        env["LXCM_API_KEY"] = key
    return {**env, **extra}


def test_cli_creates_from_a_template_waits_and_operates(
    simulator: SimulatorInfo, live: Live, new_vmid: Callable[[], int]
) -> None:
    backend, key_a, sshlab = live.backend, live.key, live.node
    listed = lxcm(backend, "templates", "list", key=key_a)
    assert listed.returncode == 0 and "Web for CLI" in listed.stdout, listed.stderr

    vmid = new_vmid()
    out, err, code = _create_and_run(
        backend, key_a, "--template", "Web for CLI", "--hostname", "cli-made",
        "--vmid", str(vmid), "--wait",
    )  # fmt: skip
    assert code == 0, (out, err)
    assert "[step 1] Create" in out and "hello from the template" in out, out
    assert f"result: succeeded, CT {vmid}" in out, out

    job_id = _jobs(backend, key_a)[0]["id"]  # newest first
    got = lxcm(backend, "jobs", "get", job_id, key=key_a)
    assert got.returncode == 0 and "status: succeeded" in got.stdout

    containers = lxcm(backend, "containers", "list", "--json", key=key_a)
    assert containers.returncode == 0, containers.stderr
    mine = [c for c in json.loads(containers.stdout)["containers"] if c["vmid"] == vmid]
    assert [(c["name"], c["status"]) for c in mine] == [("cli-made", "running")]
    stopped = lxcm(backend, "containers", "stop", str(sshlab.id), str(vmid), key=key_a)
    assert stopped.returncode == 0, stopped.stderr
    with simulator.client() as api:
        status = api.get(f"/nodes/pve1/lxc/{vmid}/status/current").json()["data"]["status"]
    assert status == "stopped"

    # A creation that fails: exit code 1, the finished job as JSON; then destroyed.
    failing = asyncio.run(
        make_template(name="Fails for CLI", scripts=(ScriptSpec("boom", "echo boom; exit 3"),))
    )
    reset_app_caches()
    vmid_failing = new_vmid()
    out, err, code = _create_and_run(
        backend, key_a, "--template", str(failing), "--hostname", "cli-fails",
        "--vmid", str(vmid_failing), "--wait", "--json",
    )  # fmt: skip
    assert code == 1, (out, err)
    final = json.loads(out)
    assert final["status"] == "failed" and "boom" in final["error"]
    assert "[step 6] Run scripts" in err and "result: failed" in err  # progress on stderr
    destroyed = lxcm(backend, "jobs", "destroy", final["id"], key=key_a)
    assert destroyed.returncode == 0 and "status destroyed" in destroyed.stdout

    # Exit codes a script relies on (run side by side: each is a fresh interpreter).
    unknown_key = "lxcm_000000000000_" + "A" * 43
    away = f"http://127.0.0.1:{free_port()}"
    cases: list[tuple[int, tuple[str, ...], str | None, dict[str, str], str]] = [
        (4, ("jobs", "get", "0123456789abcdef"), key_a, {}, ""),
        (4, ("containers", "start", str(sshlab.id), "999999"), key_a, {}, ""),
        (2, ("create", "--hostname", "bad_name!", "--vmid", str(vmid)), key_a, {}, "hostname:"),
        (3, ("containers", "list"), unknown_key, {}, ""),
        (3, ("containers", "list"), None, {}, "LXCM_API_KEY"),
        (2, ("containers", "frobnicate"), key_a, {}, ""),
        (5, ("containers", "list"), key_a, {"LXCM_URL": away}, "cannot reach"),
        (0, ("--help",), None, {}, ""),
    ]
    with ThreadPoolExecutor(len(cases)) as pool:
        runs = list(pool.map(lambda c: lxcm(backend, *c[1], key=c[2], **c[3]), cases))
    for (code, argv, _key, _extra, text), run in zip(cases, runs, strict=True):
        assert run.returncode == code, (argv, run.stdout, run.stderr)
        assert text in run.stderr, (argv, run.stderr)
    assert "exit codes" in runs[-1].stdout and "LXCM_API_KEY" in runs[-1].stdout


def _create_and_run(backend: Backend, key: str, *args: str) -> tuple[str, str, int]:
    """`lxcm create ...` in the background; once it has submitted, a worker runs the job."""
    before = {job["id"] for job in _jobs(backend, key)}
    create = subprocess.Popen(
        [sys.executable, "-m", "lxc_manager.cli_api", "create", *args],
        env=_env(backend, key, {}),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not {job["id"] for job in _jobs(backend, key)} - before:
            assert create.poll() is None and time.monotonic() < deadline, create.communicate()
            time.sleep(0.2)
        burst_worker()
        out, err = create.communicate(timeout=60)
    finally:
        if create.poll() is None:
            create.kill()
    return out, err, create.returncode


def _jobs(backend: Backend, key: str) -> list[dict[str, Any]]:
    response = httpx.get(backend.base_url + "/api/v1/creations", headers=bearer(key), timeout=10)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["jobs"]
    return found


def _operations(backend: Backend, key: str) -> list[dict[str, Any]]:
    response = httpx.get(backend.base_url + "/api/v1/operations", headers=bearer(key), timeout=10)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["operations"]
    return found


def test_cli_backs_up_a_container_and_waits(live: Live, own_ct: Callable[..., int]) -> None:
    backend, key_a, node = live.backend, live.key, live.node
    vmid = own_ct()
    before = {op["id"] for op in _operations(backend, key_a)}
    backup = subprocess.Popen(
        [sys.executable, "-m", "lxc_manager.cli_api", "backup", str(node.id), str(vmid),
         "--storage", "local", "--mode", "stop", "--notes", "from the CLI", "--wait"],
        env=_env(backend, key_a, {}),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not {op["id"] for op in _operations(backend, key_a)} - before:
            assert backup.poll() is None and time.monotonic() < deadline, backup.communicate()
            time.sleep(0.2)
        burst_worker()
        out, err = backup.communicate(timeout=60)
    finally:
        if backup.poll() is None:
            backup.kill()
    assert backup.returncode == 0, (out, err)
    assert "[step 1] Back up" in out and "creating vzdump archive" in out, out
    assert f"result: succeeded, CT {vmid}" in out, out
    [operation] = [op for op in _operations(backend, key_a) if op["id"] not in before]
    assert operation["status"] == "succeeded" and operation["kind"] == "backup"

    listed = lxcm(backend, "backups", "list", str(node.id), str(vmid), "--json", key=key_a)
    assert listed.returncode == 0, listed.stderr
    [entry] = json.loads(listed.stdout)["backups"]
    assert entry["notes"] == "from the CLI" and entry["storage"] == "local"
    table = lxcm(backend, "backups", "list", str(node.id), str(vmid), key=key_a)
    assert table.returncode == 0 and entry["volid"] in table.stdout, table.stderr
    got = lxcm(backend, "operations", "get", operation["id"], key=key_a)
    assert got.returncode == 0 and "status: succeeded" in got.stdout, got.stderr

    # Exit codes: a bad storage is a usage error naming the field (2); no such container or
    # operation is not found (4).
    bad = lxcm(backend, "backup", str(node.id), str(vmid), "--storage", "nope", key=key_a)
    assert bad.returncode == 2 and "storage" in bad.stderr, bad.stderr
    missing = lxcm(backend, "backups", "list", str(node.id), "99999", key=key_a)
    assert missing.returncode == 4, missing.stderr
    gone = lxcm(backend, "operations", "get", "nosuchoperation", key=key_a)
    assert gone.returncode == 4, gone.stderr
