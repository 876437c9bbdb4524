"""The browser console's routes, served next to the Reflex app on the same port.

- `WS /console/ws/{node_id}/{vmid}?cols=C&rows=R`: a terminal in container `vmid` of the
  signed-in user's node `node_id` (protocol: docs/console.md). Accepted only with a live
  session cookie, from the app's own origin (`security.origins`), for a container of one
  of the user's own nodes, within LXCM_CONSOLE_MAX_PER_USER. The session is checked again
  every few seconds; the console closes with "session ended" when it is gone.
- `GET /console/recordings?node_id=&vmid=`: the user's recordings (an administrator's:
  everyone's), newest first.
- `GET /console/recordings/{id}`: one recording with its events, for its user and
  administrators; 404 for anyone else.

The browser never receives a ticket, a token or an SSH secret: the backend opens the
Proxmox side itself (`lxc_manager.console`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from lxc_manager.console import limits, recording
from lxc_manager.console.connect import ContainerNotFound, NoWayIn, open_upstream
from lxc_manager.console.session import (
    CLOSE_FORBIDDEN,
    CLOSE_NO_SESSION,
    CLOSE_NO_WAY_IN,
    CLOSE_NOT_FOUND,
    CLOSE_TOO_MANY,
    MAX_INPUT,
    CloseReason,
    ConsoleSession,
)
from lxc_manager.redis_client import RedisDb, async_client
from lxc_manager.security import audit
from lxc_manager.security.origins import allowed_origins
from lxc_manager.security.sessions import Session, get_session, session_id_from_cookie_header
from lxc_manager.settings import get_settings

log = logging.getLogger(__name__)

NO_STORE = {"Cache-Control": "no-store"}
MAX_MESSAGE = MAX_INPUT * 8  # a JSON input message (escapes included) larger than this is dropped


class _Browser:
    """The route's WebSocket as the console session sees it."""

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket

    async def send_output(self, data: bytes) -> None:
        await self.websocket.send_bytes(data)

    async def send_status(self, state: str, path: str, message: str) -> None:
        await self.websocket.send_text(
            json.dumps({"t": "s", "state": state, "path": path, "message": message})
        )

    async def receive(self) -> dict[str, object] | None:
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return None
            text = message.get("text")
            if not isinstance(text, str) or len(text) > MAX_MESSAGE:
                continue
            try:
                value = json.loads(text)
            except ValueError:
                continue
            if isinstance(value, dict):
                return value


async def _refuse(websocket: WebSocket, code: int, message: str | None) -> None:
    """Accept, say why (not to a foreign origin: it learns nothing), close with `code`."""
    await websocket.accept()
    if message is not None:
        with contextlib.suppress(Exception):
            await _Browser(websocket).send_status("closed", "", message)
    with contextlib.suppress(Exception):
        await websocket.close(code)


def _int(value: str | None, default: int) -> int:
    try:
        return max(1, min(int(value or default), 1000))
    except ValueError:
        return default


_audit = audit.record_done


async def console_socket(websocket: WebSocket) -> None:
    settings = get_settings()
    if websocket.headers.get("origin") not in allowed_origins(settings):
        log.info("console refused: foreign origin %r", websocket.headers.get("origin", "")[:80])
        await _refuse(websocket, CLOSE_FORBIDDEN, None)
        return
    redis = async_client(RedisDb.APP)
    session_id = session_id_from_cookie_header(websocket.headers.get("cookie"))
    session = await get_session(redis, settings, session_id)
    if session is None:
        await _refuse(websocket, CLOSE_NO_SESSION, "Closed: session ended")
        return
    node_id = websocket.path_params["node_id"]
    vmid = websocket.path_params["vmid"]
    cols = _int(websocket.query_params.get("cols"), 80)
    rows = _int(websocket.query_params.get("rows"), 24)
    console_id = await limits.acquire(redis, session.user_id, settings.console_max_per_user)
    if console_id is None:
        limit = settings.console_max_per_user
        await _refuse(
            websocket,
            CLOSE_TOO_MANY,
            f"Closed: you have {limit} consoles open, the most allowed (LXCM_CONSOLE_MAX_PER_USER)",
        )
        return
    try:
        await _serve(websocket, session, session_id, console_id, node_id, vmid, cols, rows)
    finally:
        await limits.release(redis, session.user_id, console_id)


async def _serve(
    websocket: WebSocket,
    session: Session,
    session_id: str | None,
    console_id: str,
    node_id: int,
    vmid: int,
    cols: int,
    rows: int,
) -> None:
    settings = get_settings()
    redis = async_client(RedisDb.APP)
    user_id = session.user_id
    await websocket.accept()
    browser = _Browser(websocket)
    await browser.send_status("connecting", "", "Connecting…")
    target = f"ct:{node_id}/{vmid}"
    try:
        opened = await open_upstream(user_id, node_id, vmid, cols, rows)
    except ContainerNotFound:
        await browser.send_status("closed", "", "Closed: no such container on your nodes")
        await websocket.close(CLOSE_NOT_FOUND)
        return
    except NoWayIn as exc:
        await _audit("console.open", user_id, target, False, str(exc))
        await browser.send_status("closed", "", f"Closed: {exc}")
        await websocket.close(CLOSE_NO_WAY_IN)
        return
    upstream = opened.upstream
    target = f"ct:{opened.pve_node}/{vmid}@node:{node_id}"
    recorder = None
    if settings.console_recording:
        recorder = recording.SessionRecorder(user_id, node_id, vmid, upstream.path)
        await recorder.start()
        await recording.maybe_purge(redis)
    await _audit(
        "console.open",
        user_id,
        target,
        True,
        f"path={upstream.path}" + (f" recording={recorder.id}" if recorder else ""),
    )

    async def still_allowed(typed: bool) -> bool:
        alive = await get_session(redis, settings, session_id, touch=typed)
        return alive is not None and await limits.renew(redis, user_id, console_id)

    console = ConsoleSession(
        upstream,
        browser,
        session_check=still_allowed,
        idle_seconds=settings.console_idle_minutes * 60,
        recorder=recorder,
    )
    reason = CloseReason(1000, "Closed")
    try:
        await browser.send_status("connected", upstream.path, opened.message)
        reason = await console.run()
    except (WebSocketDisconnect, RuntimeError, OSError) as exc:
        reason = CloseReason(1000, "Closed: the browser left")
        log.debug("console %s: %r", console_id, exc)
    finally:
        await upstream.close()
        if recorder is not None:
            await recorder.finish()
        counters = console.counters
        await _audit(
            "console.close",
            user_id,
            target,
            True,
            f"path={upstream.path} duration={counters.duration:.1f}s "
            f"bytes_in={counters.bytes_in} bytes_out={counters.bytes_out} "
            f"peak_buffered={counters.peak_buffered} reason={reason.message}",
        )
        if websocket.client_state is WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await browser.send_status("closed", upstream.path, reason.message)
                await websocket.close(reason.code)


# -- recordings ----------------------------------------------------------------------------


def _json(body: Any, status: int = 200) -> Response:
    # ASCII JSON: replayed text may hold U+DC80..U+DCFF for bytes that are not UTF-8.
    return Response(
        json.dumps(body, ensure_ascii=True, separators=(",", ":")),
        status_code=status,
        media_type="application/json",
        headers=NO_STORE,
    )


async def _viewer(request: Request) -> Session | None:
    session_id = session_id_from_cookie_header(request.headers.get("cookie"))
    return await get_session(async_client(RedisDb.APP), get_settings(), session_id)


def _optional_int(text: str | None) -> int | None:
    if text is None or text == "":
        return None
    return int(text)


async def list_recordings(request: Request) -> Response:
    session = await _viewer(request)
    if session is None:
        return _json({"error": "not signed in"}, 401)
    try:
        node_id = _optional_int(request.query_params.get("node_id"))
        vmid = _optional_int(request.query_params.get("vmid"))
    except ValueError:
        return _json({"error": "node_id and vmid are integers"}, 400)
    await recording.maybe_purge(async_client(RedisDb.APP))
    found = await asyncio.to_thread(
        recording.list_recordings, session.user_id, session.is_admin, node_id, vmid
    )
    return _json({"recordings": [item.as_json() for item in found]})


async def get_recording(request: Request) -> Response:
    session = await _viewer(request)
    if session is None:
        return _json({"error": "not signed in"}, 401)
    recording_id = request.path_params["recording_id"]
    if not (len(recording_id) == 32 and all(c in "0123456789abcdef" for c in recording_id)):
        return _json({"error": "not found"}, 404)
    body = await asyncio.to_thread(
        recording.replay, recording_id, session.user_id, session.is_admin
    )
    if body is None:
        return _json({"error": "not found"}, 404)
    return _json(body)


ROUTES = [
    WebSocketRoute("/console/ws/{node_id:int}/{vmid:int}", console_socket),
    Route("/console/recordings", list_recordings, methods=["GET"]),
    Route("/console/recordings/{recording_id}", get_recording, methods=["GET"]),
]
