"""The API keys page's State. The new key itself never enters state (DESIGN §3.4): the
create handler stashes it, sealed, behind a single-use ticket (`api.reveal`) and returns
a script that fetches it once from the app's own route into the dialog's DOM."""

from __future__ import annotations

import json
from typing import Any

import reflex as rx
from reflex.event import EventSpec

from lxc_manager import routes
from lxc_manager.api import keys, reveal
from lxc_manager.pages.api_keys.rows import KeyForm, KeyRow, endpoint_of, key_row
from lxc_manager.pages.components.form_data import read_form
from lxc_manager.state.assign import assign
from lxc_manager.state.guard import GuardedState, require_session, require_session_on_load

KEY_ELEMENT_ID = "new-api-key"
FORM_PREFIX = "api-key-"
FORM_IDS = tuple(FORM_PREFIX + name for name in ("name", "expires_days"))
NOT_FOUND = "This key no longer exists"
SHOW_FAILED = "The key could not be shown: revoke it and create another one"


def reveal_script(ticket: str) -> str:
    """Fetch the key behind `ticket` once and write it into the dialog (never into state)."""
    url, body = json.dumps(routes.API_KEY_ONCE), json.dumps(json.dumps({"ticket": ticket}))
    return f"""(async () => {{
  let text = {json.dumps(SHOW_FAILED)};
  try {{
    const r = await fetch({url}, {{method: "POST", credentials: "same-origin",
      headers: {{"Content-Type": "application/json"}}, body: {body}}});
    if (r.ok) {{ text = (await r.json()).key; }}
  }} catch (e) {{}}
  for (let i = 0; i < 100; i++) {{
    const el = document.getElementById({json.dumps(KEY_ELEMENT_ID)});
    if (el) {{ el.textContent = text; el.dataset.ready = "1"; return; }}
    await new Promise((done) => setTimeout(done, 50));
  }}
}})()"""


COPY_SCRIPT = (
    f"navigator.clipboard.writeText(document.getElementById({json.dumps(KEY_ELEMENT_ID)})"
    ".textContent)"
)


class ApiKeysState(GuardedState, rx.State):
    rows: list[KeyRow] = []
    loaded: bool = False
    field_errors: dict[str, str] = {}
    form_error: str = ""
    message: str = ""
    shown_name: str = ""  # the name of the key the dialog is showing once
    show_open: bool = False

    async def _reload(self) -> None:
        rows = [key_row(view) for view in await keys.list_keys(self._user_id)]
        assign(self, rows=rows, loaded=True)

    @rx.event
    @require_session_on_load
    async def load(self) -> None:
        assign(self, field_errors={}, form_error="", message="", show_open=False)
        await self._reload()

    @rx.event
    @require_session
    async def create(self, form: dict[str, Any]) -> list[EventSpec] | None:
        data = read_form(KeyForm, form)
        result = await keys.create_key(
            self._user_id, endpoint_of(self._user_id), data.name, data.expires_days
        )
        if not result.ok or result.key is None:
            assign(self, field_errors=result.errors, message="")
            return None
        ticket = await reveal.stash(self._user_id, result.secret)
        assign(self, field_errors={}, form_error="", message="")
        self.shown_name = result.key.name
        self.show_open = True
        await self._reload()
        return [
            rx.call_script(reveal_script(ticket)),
            rx.set_value(FORM_IDS[0], ""),
            rx.set_value(FORM_IDS[1], ""),
        ]

    @rx.event
    def close_shown(self, open_: bool = False) -> None:
        """Close the one-time dialog (the key leaves the page with it). No data is read."""
        if not open_:
            self.show_open = False

    @rx.event
    @require_session
    async def revoke(self, key_id: int) -> None:
        if not await keys.revoke_key(self._user_id, int(key_id)):
            assign(self, form_error=NOT_FOUND, message="")
        else:
            name = next((row.name for row in self.rows if row.id == int(key_id)), "")
            assign(self, form_error="", message=f"Key {name} revoked: it no longer works")
        await self._reload()
