"""The console route served by the real backend (granian, the Reflex app and our routes
on one port) against a simulator over real HTTPS and SSH, the session's Redis and a real
SQLite database."""

from __future__ import annotations

import asyncio
import sqlite3

import httpx
from console_support import MAX_PER_USER, USER_A, USER_B, Lab

from lxc_manager.security.sessions import COOKIE_NAME, delete_session
from tests.support.ws_client import Received


def audit_rows(lab: Lab, action: str) -> list[tuple[str, str, str, str]]:
    with sqlite3.connect(lab.data_dir / "lxc-manager.db") as db:
        rows = db.execute(
            "SELECT user_id, target, outcome, detail FROM audit_event WHERE action = ? ORDER BY id",
            (action,),
        ).fetchall()
    return [tuple(r) for r in rows]


def connected(got: Received) -> bool:
    return any(s["state"] == "connected" for s in got.statuses)


async def test_types_into_the_container_and_exit_closes(lab: Lab) -> None:
    session = await lab.session()
    ws = await lab.open(lab.full, lab.running, session)
    assert await ws.until(connected), ws.got.statuses
    status = next(s for s in ws.got.statuses if s["state"] == "connected")
    assert (status["path"], status["message"]) == (
        "termproxy",
        "Connected through Proxmox's console",
    )
    await ws.type("echo hello-$((6*7))\r")
    assert await ws.until(lambda g: "hello-42" in g.text), ws.got.text
    await ws.send({"t": "r", "c": 123, "r": 41})
    await ws.type("echo size:$COLUMNS:$LINES\r")
    assert await ws.until(lambda g: "size:123:41" in g.text), ws.got.text[-300:]
    await ws.type("exit\r")
    got = await ws.wait_closed()
    assert got.close_code == 1000
    assert got.last_message == "Closed: the shell exited"


async def test_refuses_without_a_session_cookie(lab: Lab) -> None:
    got = await (await lab.open(lab.full, lab.running, None)).wait_closed()
    assert got.close_code == 4401
    assert got.last_message == "Closed: session ended"
    assert bytes(got.output) == b""


async def test_refuses_a_foreign_origin(lab: Lab) -> None:
    """A page of another origin (a sibling host of the same site sends the cookie too)."""
    session = await lab.session()
    ws = await lab.open(lab.full, lab.running, session, origin="http://evil.example.test")
    got = await ws.wait_closed()
    assert got.close_code == 4403
    assert got.statuses == [] and bytes(got.output) == b""


async def test_refuses_another_users_container_and_an_unknown_one(lab: Lab) -> None:
    session = await lab.session(USER_A)
    foreign = await (await lab.open(lab.other, lab.running, session)).wait_closed()
    unknown = await (await lab.open(lab.full, 999_999_990, session)).wait_closed()
    for got in (foreign, unknown):
        assert got.close_code == 4404
        assert got.last_message == "Closed: no such container on your nodes"
        assert bytes(got.output) == b""


async def test_a_session_that_ends_closes_the_console(lab: Lab) -> None:
    from lxc_manager.redis_client import RedisDb, async_client

    session = await lab.session()
    ws = await lab.open(lab.full, lab.running, session)
    assert await ws.until(connected)
    await delete_session(async_client(RedisDb.APP), session)  # logout in another tab
    got = await ws.wait_closed(timeout=10)
    assert got.close_code == 4401
    assert got.last_message == "Closed: session ended"


async def test_idle_console_closes(lab: Lab) -> None:
    session = await lab.session()
    ws = await lab.open(lab.full, lab.running, session)
    assert await ws.until(connected)
    started = asyncio.get_running_loop().time()
    await ws.send({"t": "p"})  # a keepalive is not input
    got = await ws.wait_closed(timeout=30)
    waited = asyncio.get_running_loop().time() - started
    assert got.close_code == 4408
    assert got.last_message == "Closed: idle for 0.15 minutes"
    assert 7 <= waited <= 15


async def test_at_most_n_consoles_per_user(lab: Lab) -> None:
    session = await lab.session()
    other_tab = await lab.session()  # the limit is per user, not per session
    opened = [await lab.open(lab.full, lab.running, session) for _ in range(MAX_PER_USER)]
    for ws in opened:
        assert await ws.until(connected)
    refused = await (await lab.open(lab.full, lab.running, other_tab)).wait_closed()
    assert refused.close_code == 4429
    assert "LXCM_CONSOLE_MAX_PER_USER" in refused.last_message
    someone_else = await lab.open(lab.other, lab.running, await lab.session(USER_B))
    assert await someone_else.until(connected)  # another user is not counted
    await opened[0].close()
    await someone_else.close()
    await asyncio.sleep(1)  # the backend sees the browser leave and frees the slot
    again = await lab.open(lab.full, lab.running, other_tab)
    assert await again.until(connected), again.got.statuses
    for ws in (*opened[1:], again):
        await ws.close()
    await asyncio.sleep(1)


async def test_ssh_fallback_when_the_token_lacks_vm_console(lab: Lab) -> None:
    session = await lab.session()
    ws = await lab.open(lab.no_console, lab.running, session)
    assert await ws.until(connected), ws.got.statuses
    status = next(s for s in ws.got.statuses if s["state"] == "connected")
    assert status["path"] == "ssh"
    assert status["message"] == (
        "Proxmox refused the console (the token lacks VM.Console): "
        "connected through SSH (pct enter)"
    )
    await ws.send({"t": "r", "c": 97, "r": 33})
    await ws.type("echo size:$COLUMNS:$LINES\r")
    assert await ws.until(lambda g: "size:97:33" in g.text), ws.got.text[-300:]
    await ws.type("exit\r")
    assert (await ws.wait_closed()).close_code == 1000


async def _recordings(lab: Lab, session: str, path: str = "") -> httpx.Response:
    async with httpx.AsyncClient(base_url=lab.backend.base_url, timeout=10) as http:
        return await http.get(
            "/console/recordings" + path, headers={"Cookie": f"{COOKIE_NAME}={session}"}
        )


async def test_audit_and_a_recording_that_replays_byte_for_byte(lab: Lab) -> None:
    session = await lab.session()
    ws = await lab.open(lab.full, lab.running, session)
    assert await ws.until(connected)
    # multi-byte characters both ways (bytes that are not UTF-8: tests/unit/console)
    await ws.type("echo 'café — ✓' done\r")
    assert await ws.until(lambda g: b"done\r\n" in g.output)
    await ws.type("exit\r")
    got = await ws.wait_closed()
    assert got.close_code == 1000
    received = bytes(got.output)
    assert "café — ✓".encode() in received

    opened = [r for r in audit_rows(lab, "console.open") if r[0] == "root@pam@e1"]
    closed = [r for r in audit_rows(lab, "console.close") if r[0] == "root@pam@e1"]
    assert opened and closed
    _user, target, outcome, detail = closed[-1]
    assert target == f"ct:pve1/{lab.running}@node:{lab.full.id}" and outcome == "ok"
    assert "path=ssh" in detail or "path=termproxy" in detail
    assert f"bytes_out={len(received)}" in detail
    assert "bytes_in=" in detail and "duration=" in detail
    recording_id = opened[-1][3].split("recording=")[1]
    assert lab.secrets["ci"] not in " ".join(" ".join(r) for r in opened + closed)

    listed = await _recordings(lab, session, f"?node_id={lab.full.id}&vmid={lab.running}")
    assert recording_id in [r["id"] for r in listed.json()["recordings"]]
    replay = (await _recordings(lab, session, f"/{recording_id}")).json()
    assert (replay["node_id"], replay["vmid"]) == (lab.full.id, lab.running)
    output = "".join(text for _, kind, text in replay["events"] if kind == "o")
    typed = "".join(text for _, kind, text in replay["events"] if kind == "i")
    assert output.encode("utf-8", "surrogateescape") == received
    assert typed == "echo 'café — ✓' done\rexit\r"
    times = [t for t, _, _ in replay["events"]]
    assert times == sorted(times) and replay["duration"] >= times[-1]

    # another user gets 404 (not 403); an administrator gets it; the database holds no
    # terminal text in the clear
    other = await _recordings(lab, await lab.session(USER_B), f"/{recording_id}")
    assert other.status_code == 404
    other_list = await _recordings(lab, await lab.session(USER_B))
    assert recording_id not in [r["id"] for r in other_list.json()["recordings"]]
    admin = await _recordings(lab, await lab.session(USER_B, admin=True), f"/{recording_id}")
    assert admin.status_code == 200 and admin.json()["events"] == replay["events"]
    with sqlite3.connect(lab.data_dir / "lxc-manager.db") as db:
        sealed = db.execute(
            "SELECT sealed FROM console_recording_chunk WHERE recording_id = ?", (recording_id,)
        ).fetchall()
    assert sealed and all(s[0].startswith("v1:") and "echo" not in s[0] for s in sealed)
    assert (await _recordings(lab, session, "/" + "0" * 32)).status_code == 404


def backend_rss(lab: Lab) -> int:
    import psutil

    return int(psutil.Process(lab.backend.process.pid).memory_info().rss)


async def test_a_fast_producer_does_not_grow_memory(lab: Lab) -> None:
    """Output flow control: while the browser does not read, the backend stops reading the
    container's output; what it holds stays bounded (HIGH_WATER plus one read)."""
    from lxc_manager.console.session import HIGH_WATER, MAX_FRAME

    session = await lab.session()
    ws = await lab.open(lab.full, lab.running, session)
    assert await ws.until(connected)
    line = "x" * 200
    await ws.type(f"while true; do echo {line}; done\r")
    assert await ws.until(lambda g: len(g.output) > 200_000, timeout=30)
    before = backend_rss(lab)
    await asyncio.sleep(6)  # a browser that is behind: nothing is read
    during = backend_rss(lab)
    assert await ws.until(lambda g: len(g.output) > 600_000, timeout=30)  # it still flows
    await ws.type("\x03")
    await ws.type("exit\r")
    await ws.close()
    await asyncio.sleep(1.5)
    closed = [r for r in audit_rows(lab, "console.close") if r[0] == "root@pam@e1"]
    detail = closed[-1][3]
    peak = int(detail.split("peak_buffered=")[1].split()[0])
    assert 0 < peak <= HIGH_WATER + MAX_FRAME, detail
    assert during - before < 32 * 1024 * 1024, (before, during)
