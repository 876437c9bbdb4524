"""`ConsoleState`: the Console tab of the container page — the terminal's address and
this container's console recordings. A sibling of `ContainerDetailState` on the flat tree
(its events load only this small state).

The terminal itself talks to the app's console WebSocket (`lxc_manager/console_routes.py`),
which checks the session, the origin and the container's owner on its own; this state
holds no ticket, token or secret, only the address of that WebSocket.
"""

from __future__ import annotations

import reflex as rx
from pydantic import BaseModel

from lxc_manager import routes
from lxc_manager.aio import in_thread
from lxc_manager.console.recording import RecordingView, list_recordings
from lxc_manager.settings import get_settings
from lxc_manager.state.guard import GuardedState, require_session

SPEEDS = ("1", "2", "8", "0")  # 0 = at once
_list_recordings = in_thread(list_recordings)


class RecordingRow(BaseModel):
    id: str
    started: str
    duration: str
    path: str
    user: str
    size: str


def recording_row(view: RecordingView) -> RecordingRow:
    minutes, seconds = divmod(int(view.duration), 60)
    return RecordingRow(
        id=view.id,
        started=view.started.replace("T", " ")[:19],
        duration=f"{minutes}m {seconds:02d}s" if minutes else f"{seconds}s",
        path="Proxmox console" if view.path == "termproxy" else "SSH (pct enter)",
        user=view.user_id.rsplit("@", 1)[0] if view.user_id.count("@") >= 2 else view.user_id,
        size=f"{view.bytes_out:,} bytes out",
    )


def _number(text: str) -> int | None:
    return int(text) if text.isdigit() else None


class ConsoleState(GuardedState, rx.State):
    url: str = ""
    recording_on: bool = False
    recordings: list[RecordingRow] = []
    replay_id: str = ""
    replay_speed: str = "1"

    @rx.var
    def replay_url(self) -> str:
        return str(routes.console_recording(self.replay_id)) if self.replay_id else ""

    @rx.var
    def speed(self) -> float:
        return float(self.replay_speed)

    @rx.event
    @require_session
    async def open(self) -> None:
        """The tab opened: the terminal's address and the recordings of this container
        (the user's own; an administrator's: everyone's)."""
        node_id = _number(routes.route_arg(self, routes.CT_NODE))
        vmid = _number(routes.route_arg(self, routes.CT_VMID))
        if node_id is None or vmid is None:
            self.url, self.recordings = "", []
            return
        url = str(routes.console_ws(node_id, vmid))
        if self.url != url:
            self.url = url
        self.recording_on = get_settings().console_recording
        views = await _list_recordings(self._user_id, self.is_admin, node_id, vmid)
        # Only the consoles that ended (an open one has no duration yet).
        self.recordings = [recording_row(v) for v in views if v.duration > 0]

    @rx.event
    @require_session
    def replay(self, recording_id: str) -> None:
        """Replay one of the listed recordings in the terminal below the list (the route
        checks again that it is the user's, or that the user is an administrator)."""
        if any(row.id == recording_id for row in self.recordings):
            self.replay_id = recording_id

    @rx.event
    def stop_replay(self) -> None:
        self.replay_id = ""

    @rx.event
    def set_replay_speed(self, value: str | list[str]) -> None:
        if isinstance(value, str) and value in SPEEDS:
            self.replay_speed = value
