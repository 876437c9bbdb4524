"""Settings → API keys in a real browser: create a key, see it once, use it against /api/v1,
revoke it, and it stops working. The key never travels in the page's event socket."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, WebSocket, expect

from tests.e2e.conftest import Peer, screenshot, sign_in
from tests.support.app import ServeProcess, app_db_rows

pytestmark = pytest.mark.e2e

KEY = re.compile(r"lxcm_[0-9a-f]{12}_[A-Za-z0-9_-]{43}")


def _api(app: ServeProcess, key: str, path: str) -> httpx.Response:
    return httpx.get(app.base_url + path, headers={"Authorization": f"Bearer {key}"}, timeout=20)


def test_create_see_once_use_and_revoke_a_key(page: Page, sim: Peer, app: ServeProcess) -> None:
    frames: list[str] = []

    def watch(socket: WebSocket) -> None:
        socket.on("framereceived", lambda payload: frames.append(str(payload)))
        socket.on("framesent", lambda payload: frames.append(str(payload)))

    page.on("websocket", watch)
    sign_in(page, sim, next_path="/")
    page.get_by_role("link", name="API keys").first.click()
    expect(page).to_have_url(re.compile(r"/settings/api-keys$"))

    # Bad input: a clear message next to the field, nothing created.
    page.locator("#api-key-expires_days").fill("0")
    page.locator("#create-api-key").click()
    expect(page.locator("#api-key-name-error")).to_have_text("Give the key a name")
    expect(page.locator("#api-key-expires_days-error")).to_contain_text("from 1 to 3650")
    assert app_db_rows(app, "SELECT count(*) FROM api_key WHERE name = 'e2e ci'") == [(0,)]

    page.locator("#api-key-name").fill("e2e ci")
    page.locator("#api-key-expires_days").fill("30")
    page.locator("#create-api-key").click()
    shown = page.locator('#new-api-key[data-ready="1"]')
    expect(shown).to_have_text(KEY)
    key = shown.inner_text().strip()
    screenshot(page, "api-key-shown-once")
    page.locator("#close-api-key").click()
    expect(page.locator("#new-api-key")).to_have_count(0)
    expect(page.locator("#api-key-name")).to_have_value("")  # the form is ready for another
    row = page.locator('[data-key-row="e2e ci"]')
    expect(row).to_contain_text(key[: len("lxcm_") + 12])
    expect(row).to_contain_text("active")
    assert key not in page.content()
    page.reload()
    expect(row).to_be_visible()
    assert key not in page.content()  # shown once: a reload does not bring it back

    # The key works against the API of the same app, as the user who created it.
    me = _api(app, key, "/api/v1/me")
    assert me.status_code == 200, me.text
    assert me.json()["username"] == "root@pam" and me.json()["admin"] is False
    nodes = _api(app, key, "/api/v1/nodes")
    assert nodes.status_code == 200, nodes.text
    [(count,)] = app_db_rows(
        app, "SELECT count(*) FROM proxmox_node WHERE user_id LIKE 'root@pam@%'"
    )
    assert len(nodes.json()["nodes"]) == count
    page.reload()
    expect(row).not_to_contain_text("never", timeout=15_000)  # last used is shown

    # Revoke (confirmed): the key stops working at once.
    row.get_by_role("button", name="Revoke").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Revoke").click()
    expect(page.locator("#api-key-message")).to_contain_text("e2e ci revoked")
    expect(row).to_contain_text("revoked")
    refused = _api(app, key, "/api/v1/me")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthenticated"

    assert frames, "the page's event socket was watched"
    assert not any(key in frame for frame in frames), "the key travelled in the event socket"
    [(stored,)] = app_db_rows(app, "SELECT key_hash FROM api_key WHERE name = 'e2e ci'")
    assert key not in str(stored) and len(str(stored)) == 64
