"""The browser terminal: xterm.js as a Reflex component (issue 16).

`xterm_console.jsx` beside this module is a small React component: it sizes xterm.js to
its box (fit addon, refitted on resize), makes links clickable (web-links addon), follows
the app's colours in light and dark mode, copies and pastes with Ctrl+Shift+C/V, shows a
status line and a reconnect button, and either connects to the app's console WebSocket
(`url`) or replays a recording (`replay_url`). It never sees a Proxmox ticket or token:
the app's backend opens the console and relays it.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

_SOURCE = rx.asset("xterm_console.jsx", shared=True)

XTERM_PACKAGES = ["@xterm/xterm@6.0.0", "@xterm/addon-fit@0.11.0", "@xterm/addon-web-links@0.12.0"]


def _status_args(state: rx.Var[str], path: rx.Var[str], message: rx.Var[str]) -> list[rx.Var[str]]:
    return [state, path, message]


class XtermConsole(rx.NoSSRComponent):
    """A terminal bound to `url` (a console WebSocket path of this app) or replaying the
    recording at `replay_url` at `replay_speed` (1 = real speed, 0 = at once)."""

    library = _SOURCE.importable_path
    tag = "XtermConsole"
    lib_dependencies: list[str] = XTERM_PACKAGES

    url: rx.Var[str]
    replay_url: rx.Var[str]
    replay_speed: rx.Var[float]
    height: rx.Var[str]

    on_status: rx.EventHandler[_status_args]


def xterm_console(**props: Any) -> rx.Component:
    return XtermConsole.create(**props)
